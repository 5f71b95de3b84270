"""Fixtures for the deploy checks: repository paths and the parsed deploy files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from uploadsign.routes import ROUTES

REPO_ROOT = Path(__file__).resolve().parents[2]
# CI places shared/ beside the clone; the real fc3 schema lives there, not in the repo.
SHARED_DIR = REPO_ROOT.parent / "shared"
FC3_SCHEMA_PATH = SHARED_DIR / "schemas" / "fc3-props.schema.json"
ROS_SCHEMA_PATH = REPO_ROOT / "deploy" / "ros-resource-types.schema.json"
RAM_DIR = REPO_ROOT / "deploy" / "ram"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def s_yaml() -> dict[str, Any]:
    return load_yaml(REPO_ROOT / "s.yaml")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def ros_template() -> dict[str, Any]:
    return load_yaml(REPO_ROOT / "template.yml")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def ros_schema() -> dict[str, Any]:
    return json.loads(ROS_SCHEMA_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def fc3_schema() -> dict[str, Any]:
    if not FC3_SCHEMA_PATH.is_file():
        pytest.fail(f"fc3 schema not found at {FC3_SCHEMA_PATH} (shared/ must sit beside the repo)")
    return json.loads(FC3_SCHEMA_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def ram_documents() -> dict[str, dict[str, Any]]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(RAM_DIR.glob("*.json"))
    }


@pytest.fixture(scope="session")
def function_methods() -> list[str]:
    """Every HTTP method some route of the function answers, sorted (routes.ROUTES)."""
    return sorted({method for methods in ROUTES.values() for method in methods})
