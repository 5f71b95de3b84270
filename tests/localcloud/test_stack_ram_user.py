"""The stack's RAM user: a long-term AccessKey kept per state dir, trusted by the upload role.

Wiring checks without the function (``start_function=False``); the flows that use the key
(Python SDKs and ali-oss) are in tests/e2e/test_ram_user_flow.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from localcloud.devidentity import RAM_USER_ARN, Credentials, load_or_make_ram_user
from localcloud.stack import ENDPOINTS_FILE, LocalCloud


def start(state_dir: Path) -> LocalCloud:
    return LocalCloud.start(state_dir, start_function=False, publish_web=False)


def test_ram_user_key_is_kept_per_state_dir_and_differs_between_state_dirs(
    tmp_path: Path,
) -> None:
    with start(tmp_path / "state") as first:
        user = first.ram_user_credentials
        assert user.security_token is None
        assert user.access_key_secret not in repr(first)
    with start(tmp_path / "state") as again:
        assert again.ram_user_credentials == user
        principal = again.identities.lookup(user.access_key_id)
        assert principal is not None and principal.arn == RAM_USER_ARN
    with start(tmp_path / "elsewhere") as other:
        assert other.ram_user_credentials.access_key_id != user.access_key_id


def test_ram_user_key_differs_from_the_other_identities(tmp_path: Path) -> None:
    with start(tmp_path / "state") as stack:
        keys = {stack.execution_credentials.access_key_id, stack.admin_credentials.access_key_id,
                stack.ram_user_credentials.access_key_id}
        assert len(keys) == 3


def _saved_with(tmp_path: Path, entry: Any) -> Path:
    path = tmp_path / ENDPOINTS_FILE
    path.write_text(json.dumps({"ram_user_identity": entry}), encoding="utf-8")
    return path


def test_saved_long_term_key_is_reused(tmp_path: Path) -> None:
    path = _saved_with(tmp_path, {"access_key_id": "LOCAL-RAM-SAVED",
                                  "access_key_secret": "saved-secret", "security_token": None})

    assert load_or_make_ram_user(path) == Credentials("LOCAL-RAM-SAVED", "saved-secret")


@pytest.mark.parametrize("entry", [
    {"access_key_id": "LOCAL-RAM-SAVED", "access_key_secret": "s", "security_token": "a-token"},
    {"access_key_id": "LOCAL-RAM-SAVED", "access_key_secret": ""},
    {"access_key_id": "", "access_key_secret": "s"},
    {"access_key_id": "LOCAL-RAM-SAVED"},
    {"access_key_id": 42, "access_key_secret": "s"},
    "LOCAL-RAM-SAVED",
    None,
], ids=["has a token", "empty secret", "empty id", "no secret", "id not text", "a string",
        "null"])
def test_unusable_saved_ram_user_is_replaced_by_a_fresh_long_term_key(
    tmp_path: Path, entry: Any
) -> None:
    made = load_or_make_ram_user(_saved_with(tmp_path, entry))

    assert made.access_key_id.startswith("LOCAL-RAM-")
    assert made.access_key_id != "LOCAL-RAM-SAVED"
    assert made.access_key_secret and made.security_token is None


def test_missing_or_unreadable_endpoints_file_gives_a_fresh_key(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")

    first = load_or_make_ram_user(tmp_path / "absent.json")
    second = load_or_make_ram_user(tmp_path / "broken.json")

    assert first.access_key_id != second.access_key_id
