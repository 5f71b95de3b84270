"""The two instance models, in s.yaml and template.yml alike, as FC documents them.

builtin: FC's built-in python3.10 calls ``index.handler``, one request per instance, and
carries no instance concurrency (FC 3.0 built-in runtimes do not support it; fc3's own
2.0 to 3.0 migration drops the key for them). custom: FC's custom.debian10 runtime runs the
package's ``bootstrap`` (gunicorn) listening on FC's port, with instance concurrency. One
is the default in both files (s.yaml merges its block into the props, template.yml's
InstanceModel parameter defaults to it); the other is the documented switch.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft7Validator

from deploy.package import BOOTSTRAP, RUNTIMES
from deploy.ros_refs import condition_values, with_conditions
from deploy.syaml import fc3_resources, instance_models, merged_model, model_props, resolve
from deploy.vendor import is_custom_runtime

MODELS = sorted(RUNTIMES)
DEFAULT_MODEL = "custom"
#: FC's documented custom-runtime port (CAPort), and where FC unpacks the code.
FC_CUSTOM_PORT = 9000
CODE_ROOT = "/code"


def syaml_model(s_yaml: dict[str, Any], model: str) -> dict[str, Any]:
    return resolve(model_props(s_yaml, "signer", model), s_yaml["vars"])  # type: ignore[no-any-return]


def ros_model(template: dict[str, Any], model: str) -> dict[str, Any]:
    decided = with_conditions(template["Resources"]["SignerFunction"],
                              condition_values(template, {"InstanceModel": model}))
    return decided["Properties"]  # type: ignore[no-any-return]


def test_both_files_offer_exactly_the_two_models(
    s_yaml: dict[str, Any], ros_template: dict[str, Any]
) -> None:
    assert sorted(instance_models(s_yaml)) == MODELS
    assert sorted(ros_template["Parameters"]["InstanceModel"]["AllowedValues"]) == MODELS


def test_the_default_model_is_the_same_in_both_files(
    s_yaml: dict[str, Any], ros_template: dict[str, Any]
) -> None:
    assert merged_model(s_yaml, "signer") == [DEFAULT_MODEL]
    assert ros_template["Parameters"]["InstanceModel"]["Default"] == DEFAULT_MODEL
    # The default ROS code object is the zip `make package` builds for that model.
    assert ros_template["Parameters"]["CodeObject"]["Default"] == (
        "oss-upload-signer-custom.zip" if DEFAULT_MODEL == "custom" else "oss-upload-signer.zip")


@pytest.mark.parametrize("model", MODELS)
def test_each_model_validates_against_the_fc3_schema(
    s_yaml: dict[str, Any], fc3_schema: dict[str, Any], model: str
) -> None:
    errors = [error.message for error in Draft7Validator(fc3_schema).iter_errors(
        syaml_model(s_yaml, model))]
    assert errors == []


@pytest.mark.parametrize("model", MODELS)
def test_each_model_runs_the_runtime_the_package_is_built_for(
    s_yaml: dict[str, Any], ros_template: dict[str, Any], model: str
) -> None:
    assert syaml_model(s_yaml, model)["runtime"] == RUNTIMES[model]
    assert ros_model(ros_template, model)["Runtime"] == RUNTIMES[model]


#: The models on a built-in runtime (the custom one's concurrency is tested below).
BUILT_IN_MODELS = [model for model in MODELS if not is_custom_runtime(RUNTIMES[model])]


@pytest.mark.parametrize("model", BUILT_IN_MODELS)
def test_no_instance_concurrency_on_a_built_in_runtime(
    s_yaml: dict[str, Any], ros_template: dict[str, Any], model: str
) -> None:
    props, function = syaml_model(s_yaml, model), ros_model(ros_template, model)
    assert not is_custom_runtime(props["runtime"])
    assert "instanceConcurrency" not in props
    assert "customRuntimeConfig" not in props
    assert not is_custom_runtime(function["Runtime"])
    assert "InstanceConcurrency" not in function
    assert "CustomRuntimeConfig" not in function


def test_the_built_in_model_calls_the_fc3_event_handler(
    s_yaml: dict[str, Any], ros_template: dict[str, Any]
) -> None:
    assert syaml_model(s_yaml, "builtin")["handler"] == "index.handler"
    assert ros_model(ros_template, "builtin")["Handler"] == "index.handler"


def test_the_custom_model_starts_the_bootstrap_on_fcs_port_with_concurrency(
    s_yaml: dict[str, Any], ros_template: dict[str, Any]
) -> None:
    props, function = syaml_model(s_yaml, "custom"), ros_model(ros_template, "custom")
    start = ["/bin/sh", f"{CODE_ROOT}/{BOOTSTRAP}"]
    assert props["customRuntimeConfig"] == {"command": start, "port": FC_CUSTOM_PORT}
    assert function["CustomRuntimeConfig"] == {"Command": start, "Port": FC_CUSTOM_PORT}
    assert props["instanceConcurrency"] == function["InstanceConcurrency"] > 1
    assert props["memorySize"] == function["MemorySize"]


def test_the_built_in_model_keeps_the_memory_of_one_request(
    s_yaml: dict[str, Any], ros_template: dict[str, Any]
) -> None:
    assert syaml_model(s_yaml, "builtin")["memorySize"] == 128
    assert ros_model(ros_template, "builtin")["MemorySize"] == 128


def test_the_props_never_set_a_model_key_themselves(s_yaml: dict[str, Any]) -> None:
    # The switch replaces a model's keys wholesale only if the props leave them to it.
    raw = fc3_resources(s_yaml)["signer"]["props"]
    default = instance_models(s_yaml)[DEFAULT_MODEL]
    assert {key: raw[key] for key in default} == dict(default)
