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
        # The built-in runtime needs a handler (a custom one runs its start command).
        (lambda p: (p.update(runtime="python3.10"), p.pop("handler")), ""),
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
    s_yaml: dict[str, Any], function_methods: list[str]
) -> None:
    props = resolved_props(s_yaml)
    assert props["code"] == "./functions/sign"
    assert props["handler"] == "index.handler"
    assert props["role"] == s_yaml["vars"]["executionRoleName"]
    assert props["logConfig"] == "auto"
    assert props["environmentVariables"]["PYTHONPATH"] == "/code/vendor"
    [trigger] = props["triggers"]
    assert trigger["triggerType"] == "http"
    assert trigger["triggerConfig"]["authType"] == "anonymous"
    assert sorted(trigger["triggerConfig"]["methods"]) == function_methods


def test_every_environment_value_comes_from_vars_or_is_derived(s_yaml: dict[str, Any]) -> None:
    raw_env = fc3_resources(s_yaml)["signer"]["props"]["environmentVariables"]
    literal = {k: v for k, v in raw_env.items() if "${" not in str(v)}
    assert literal == {"PYTHONPATH": "/code/vendor"}


def test_hooks_vendor_before_and_publish_the_page_after_a_successful_deploy(
    s_yaml: dict[str, Any],
) -> None:
    actions = fc3_resources(s_yaml)["signer"]["actions"]
    [pre, bucket_setup] = actions["pre-deploy"]
    [publish] = actions["success-deploy"]
    assert "-m deploy.vendor" in pre["run"]
    # The upload bucket's lifecycle rule and CORS check (test_upload_bucket.py).
    assert "-m deploy.upload_bucket" in bucket_setup["run"]
    # The vendoring follows the runtime the props name (a custom one adds the server).
    assert "--runtime ${resources.signer.props.runtime}" in pre["run"]
    assert "-m deploy.publish_page" in publish["run"]
    assert "--function-url ${resources.signer.output.url.system_url}" in publish["run"]
    # The page's CSP connect-src: exactly the upload bucket the function grants uploads to.
    env = fc3_resources(s_yaml)["signer"]["props"]["environmentVariables"]
    assert f"--upload-url {env['OSS_HOST']}" in publish["run"]
    assert "ossutil" not in publish["run"]


def all_hooks(s_yaml: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every hook list of s.yaml by where it is: global actions and each resource's."""
    found = {f"actions.{k}": v for k, v in (s_yaml.get("actions") or {}).items()}
    for name, body in (s_yaml.get("resources") or {}).items():
        found |= {f"resources.{name}.actions.{k}": v
                  for k, v in (body.get("actions") or {}).items()}
    return found


def test_no_hook_uses_the_deprecated_post_form(s_yaml: dict[str, Any]) -> None:
    # Serverless Devs 3 renames post-<cmd> to complete-<cmd>: it runs after a failed
    # command too (Serverless-Devs toolkit, engine actions).
    assert [where for where in all_hooks(s_yaml) if where.rsplit(".", 1)[1].startswith("post-")
            ] == []


def test_hooks_that_read_deployed_outputs_run_only_on_success(s_yaml: dict[str, Any]) -> None:
    # ${resources.<name>.output.*} is loaded only once the deploy succeeded; complete-*
    # and fail-* (and pre-*) hooks would see it empty.
    reading = [where for where, hooks in all_hooks(s_yaml).items() for hook in hooks
               if re.search(r"\$\{resources\.[^}]*\.output\.", str(hook.get("run", "")))]
    assert reading, "the page's publish hook reads the function's URL"
    assert [where for where in reading if not where.rsplit(".", 1)[1].startswith("success-")
            ] == []


def test_scripted_deploys_are_documented_with_the_yes_flag() -> None:
    # A declined interactive prompt leaves no output: every `s deploy` command written in
    # s.yaml's comments or README's shell blocks carries -y.
    syaml_comments = [line for line in (REPO_ROOT / "s.yaml").read_text().splitlines()
                      if line.lstrip().startswith("#")]
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    shell_lines = [line for block in re.findall(r"```(?:sh|bash|shell)\n(.*?)```", readme, re.S)
                   for line in block.splitlines()]
    commands = [line for line in syaml_comments + shell_lines if re.search(r"\bs deploy\b", line)]
    assert commands, "the deploy command is documented somewhere"
    assert [line for line in commands if not re.search(r"\bs deploy -y\b", line)] == []


@pytest.mark.parametrize("name", ["s.yaml", "template.yml"])
def test_no_access_key_is_written_in_deploy_files(name: str) -> None:
    text = (REPO_ROOT / name).read_text(encoding="utf-8")
    assert not re.search(r"LTAI[0-9A-Za-z]{8,}", text)
    assert not re.search(r"(?i)access_?key_?(id|secret)\s*:", text)
