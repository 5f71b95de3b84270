"""s.yaml: fc3 props validate against the real fc3 schema, and carry the settings we rely on."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from deploy.syaml import fc3_resources, resolve

REPO_ROOT = Path(__file__).resolve().parents[2]


def resolved_props(document: dict[str, Any]) -> dict[str, Any]:
    resources = fc3_resources(document)
    assert list(resources) == ["signer"], "exactly one fc3 resource is expected"
    return resolve(resources["signer"]["props"], document.get("vars", {}))  # type: ignore[no-any-return]


def schema_errors(schema: dict[str, Any], props: dict[str, Any]) -> list[str]:
    validator = Draft7Validator(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(props)
    ]


def test_syaml_header_is_edition_3_with_one_fc3_resource(s_yaml: dict[str, Any]) -> None:
    assert s_yaml["edition"] == "3.0.0"
    assert list(fc3_resources(s_yaml)) == ["signer"]


def test_signer_props_validate_against_the_fc3_schema(
    s_yaml: dict[str, Any], fc3_schema: dict[str, Any]
) -> None:
    assert schema_errors(fc3_schema, resolved_props(s_yaml)) == []


@pytest.mark.parametrize(
    ("change", "expected_path"),
    [
        (lambda p: p.update(memorySize=100), "memorySize"),
        (lambda p: p.update(runtime="python3.11"), "runtime"),
        (lambda p: p.pop("handler"), ""),
        (lambda p: p["environmentVariables"].update(UPLOAD_MAX_BYTES=1024), "environmentVariables"),
        (lambda p: p["triggers"][0].update(triggerType="websocket"), "triggers"),
        (lambda p: p.update(instanceConcurrency=0), "instanceConcurrency"),
    ],
    ids=["memory-not-multiple-of-64", "unsupported-runtime", "no-handler", "int-env-value",
         "unknown-trigger-type", "zero-concurrency"],
)
def test_schema_check_rejects_broken_props(
    s_yaml: dict[str, Any], fc3_schema: dict[str, Any], change: Any, expected_path: str
) -> None:
    props = copy.deepcopy(resolved_props(s_yaml))
    change(props)
    errors = schema_errors(fc3_schema, props)
    assert errors, "the schema check must catch this"
    assert any(error.startswith(expected_path) for error in errors), errors


def test_signer_runs_the_packaged_handler_with_logs_and_an_anonymous_trigger(
    s_yaml: dict[str, Any],
) -> None:
    props = resolved_props(s_yaml)
    assert props["runtime"] == "python3.10"
    assert props["code"] == "./functions/sign"
    assert props["handler"] == "index.handler"
    assert props["role"] == s_yaml["vars"]["executionRoleName"]
    assert props["instanceConcurrency"] > 1
    assert props["logConfig"] == "auto"
    assert props["environmentVariables"]["PYTHONPATH"] == "/code/vendor"
    [trigger] = props["triggers"]
    assert trigger["triggerType"] == "http"
    assert trigger["triggerConfig"]["authType"] == "anonymous"
    assert sorted(trigger["triggerConfig"]["methods"]) == ["GET", "OPTIONS", "POST"]


def test_every_environment_value_comes_from_vars_or_is_derived(s_yaml: dict[str, Any]) -> None:
    raw_env = fc3_resources(s_yaml)["signer"]["props"]["environmentVariables"]
    literal = {k: v for k, v in raw_env.items() if "${" not in str(v)}
    assert literal == {"PYTHONPATH": "/code/vendor"}


def test_hooks_vendor_before_and_upload_the_page_after_deploy(s_yaml: dict[str, Any]) -> None:
    actions = fc3_resources(s_yaml)["signer"]["actions"]
    [pre] = actions["pre-deploy"]
    [post] = actions["post-deploy"]
    assert "-m deploy.vendor" in pre["run"]
    assert "scripts/upload_web.py" in post["run"] and "--function-url" in post["run"]
    assert "ossutil" not in post["run"]


@pytest.mark.parametrize("name", ["s.yaml", "template.yml"])
def test_no_access_key_is_written_in_deploy_files(name: str) -> None:
    text = (REPO_ROOT / name).read_text(encoding="utf-8")
    assert not re.search(r"LTAI[0-9A-Za-z]{8,}", text)
    assert not re.search(r"(?i)access_?key_?(id|secret)\s*:", text)
