"""The function's environment in s.yaml and template.yml: exactly the names the function
reads (uploadsign.config.ENV_VARS), secrets never written as literals, and defaults the
function's own configuration reader accepts.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from uploadsign.config import AUTH_MODES, ENV_VARS, Settings

from deploy.env_lint import (
    name_findings,
    ros_output_findings,
    ros_secret_findings,
    syaml_secret_findings,
)
from deploy.syaml import ACCOUNT_ID_PLACEHOLDER, fc3_resources, resolve

# Set for the runtime, not read by the function: puts the vendored deps on sys.path.
RUNTIME_ENV_VARS = ("PYTHONPATH",)
SECRET_FROM_SHELL = "${env('AUTH_JWT_SECRET', '')}"
GRANT_SECRET_FROM_SHELL = "${env('GRANT_SECRET', '')}"
#: What ROS's ALIYUN::RandomString would generate (64 letters and digits).
GENERATED_GRANT_SECRET = "GeneratedByRos0123456789" * 2 + "abcdefghijklmnop"
#: Values ROS would supply at CreateStack time for parameters without a Default.
ROS_ARGUMENTS = {
    "BucketName": "my-upload-bucket",
    "WebBucketName": "my-upload-page",
    "AllowedOrigins": ["https://upload.example.com"],
    "CodeBucket": "my-code-bucket",
    "ALIYUN::Region": "cn-hangzhou",
    "ALIYUN::TenantId": ACCOUNT_ID_PLACEHOLDER,
}
NEW_SETTINGS = (
    "AUTH_MODE", "AUTH_JWT_SECRET", "AUTH_JWKS_URL", "AUTH_ISSUER", "AUTH_AUDIENCE",
    "AUTH_LEEWAY_SECONDS", "OSS_KEY_TEMPLATE", "RATE_LIMIT_PER_MINUTE", "UPLOAD_CALLBACK_URL",
    "CALLBACK_PUBKEY_URL_PREFIXES", "UPLOAD_SAMPLE_ROUTE", "UPLOAD_ALLOWED_ACTIVE_TYPES",
)


def syaml_env(s_yaml: dict[str, Any]) -> dict[str, Any]:
    return fc3_resources(s_yaml)["signer"]["props"]["environmentVariables"]  # type: ignore[no-any-return]


def ros_env(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]["SignerFunction"]["Properties"]["EnvironmentVariables"]  # type: ignore[no-any-return]


def ros_value(template: dict[str, Any], node: Any) -> Any:
    """Evaluate the few intrinsics the function's environment uses, as ROS would."""
    values = {name: p.get("Default") for name, p in template["Parameters"].items()}
    values.update(ROS_ARGUMENTS)
    if isinstance(node, str):
        return node
    [(function, argument)] = node.items()
    if function == "Ref":
        return values[argument]
    if function == "Fn::Sub":
        text = argument
        for name, value in values.items():
            text = text.replace("${" + name + "}", str(value))
        return text
    if function == "Fn::Join":
        separator, items = argument
        # The list may itself come from a Ref to a CommaDelimitedList parameter.
        items = ros_value(template, items) if isinstance(items, dict) else items
        return separator.join(str(ros_value(template, item)) for item in items)
    if function == "Fn::GetAtt" and argument == ["UploadRole", "Arn"]:
        return f"acs:ram::{ACCOUNT_ID_PLACEHOLDER}:role/{values['UploadRoleName']}"
    if function == "Fn::GetAtt" and argument == ["GrantSecret", "value"]:
        return GENERATED_GRANT_SECRET
    raise AssertionError(f"no offline value for {node!r}")


def test_syaml_environment_names_are_exactly_the_ones_the_function_reads(
    s_yaml: dict[str, Any],
) -> None:
    assert name_findings(syaml_env(s_yaml), ENV_VARS, RUNTIME_ENV_VARS) == []


def test_template_environment_names_are_exactly_the_ones_the_function_reads(
    ros_template: dict[str, Any],
) -> None:
    assert name_findings(ros_env(ros_template), ENV_VARS, RUNTIME_ENV_VARS) == []


def test_name_check_reports_a_missing_and_a_stale_name_both_ways() -> None:
    declared = [*ENV_VARS[1:], "PYTHONPATH", "OLD_SETTING"]
    assert name_findings(declared, ENV_VARS, RUNTIME_ENV_VARS) == [
        f"{ENV_VARS[0]} is read by the function but not set",
        "OLD_SETTING is set but not read by the function",
    ]


def test_secrets_are_never_literals_in_either_file(
    s_yaml: dict[str, Any], ros_template: dict[str, Any]
) -> None:
    assert syaml_env(s_yaml)["AUTH_JWT_SECRET"] == SECRET_FROM_SHELL
    assert syaml_env(s_yaml)["GRANT_SECRET"] == GRANT_SECRET_FROM_SHELL
    assert syaml_secret_findings(syaml_env(s_yaml), s_yaml["vars"]) == []
    assert ros_env(ros_template)["AUTH_JWT_SECRET"] == {"Ref": "AuthJwtSecret"}
    assert ros_env(ros_template)["GRANT_SECRET"] == {"Fn::GetAtt": ["GrantSecret", "value"]}
    assert ros_template["Parameters"]["AuthJwtSecret"]["NoEcho"] is True
    assert ros_secret_findings(ros_env(ros_template), ros_template["Parameters"],
                               ros_template["Resources"]) == []


def test_no_output_of_the_stack_shows_a_secret(ros_template: dict[str, Any]) -> None:
    assert ros_output_findings(ros_template["Outputs"], ros_template["Resources"],
                               ros_template["Parameters"]) == []


@pytest.mark.parametrize(
    "value",
    [{"Fn::GetAtt": ["GrantSecret", "value"]}, {"Ref": "AuthJwtSecret"},
     {"Fn::Join": ["", ["x-", {"Fn::GetAtt": ["GrantSecret", "value"]}]]}],
    ids=["generated", "secret-parameter", "generated-inside-join"],
)
def test_an_output_showing_a_secret_is_flagged(ros_template: dict[str, Any], value: Any) -> None:
    outputs = {**ros_template["Outputs"], "Leak": {"Value": value}}
    assert ros_output_findings(outputs, ros_template["Resources"], ros_template["Parameters"])


@pytest.mark.parametrize(
    ("env_value", "variables"),
    [
        ("0123456789abcdef0123456789abcdef", {}),
        ("${vars.jwtSecret}", {"jwtSecret": "0123456789abcdef0123456789abcdef"}),
        ("${env('AUTH_JWT_SECRET', 'fallback-secret')}", {}),
        ('${env("AUTH_JWT_SECRET", "fallback-secret")}', {}),
        ("prefix-${env('AUTH_JWT_SECRET', '')}", {}),
        ("${file('./secret.txt')}", {}),
        ("", {"jwtSecret": "written-in-vars-though-unused"}),
    ],
    ids=["literal", "literal-via-vars", "env-default", "env-default-double-quotes",
         "literal-around-env", "file-lookup", "secret-named-var"],
)
def test_syaml_secret_lint_flags_literals(env_value: str, variables: dict[str, Any]) -> None:
    assert syaml_secret_findings({"AUTH_JWT_SECRET": env_value}, variables)


@pytest.mark.parametrize(
    ("env_value", "variables"),
    [
        ("", {}),
        ("${env('AUTH_JWT_SECRET')}", {}),
        ('${ env("AUTH_JWT_SECRET", "") }', {}),
        ("${vars.jwtSecret}", {"jwtSecret": SECRET_FROM_SHELL}),
    ],
    ids=["empty", "env-no-default", "env-double-quotes", "env-via-vars"],
)
def test_syaml_secret_lint_accepts_shell_lookups(env_value: str, variables: dict[str, Any]) -> None:
    assert syaml_secret_findings({"AUTH_JWT_SECRET": env_value}, variables) == []


def edit(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(template: dict[str, Any]) -> None:
        node = template
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return apply


ENV_PATH = ["Resources", "SignerFunction", "Properties", "EnvironmentVariables"]
SECRET_PARAMETER = ["Parameters", "AuthJwtSecret"]


@pytest.mark.parametrize(
    "change",
    [
        edit([*ENV_PATH, "AUTH_JWT_SECRET"], "0123456789abcdef0123456789abcdef"),
        edit([*ENV_PATH, "AUTH_JWT_SECRET"], {"Fn::Sub": "k-${AuthJwtSecret}"}),
        edit([*ENV_PATH, "AUTH_JWT_SECRET"], {"Ref": "AuthIssuer"}),
        edit([*ENV_PATH, "AUTH_JWT_SECRET"], {"Ref": "NoSuchParameter"}),
        edit([*SECRET_PARAMETER, "NoEcho"], False),
        edit([*SECRET_PARAMETER, "Default"], "0123456789abcdef0123456789abcdef"),
        edit(["Parameters", "ApiToken"], {"Type": "String", "Default": "abc"}),
        edit([*ENV_PATH, "GRANT_SECRET"], "0123456789abcdef0123456789abcdef"),
        edit([*ENV_PATH, "GRANT_SECRET"], {"Fn::GetAtt": ["UploadBucket", "Name"]}),
        edit([*ENV_PATH, "GRANT_SECRET"], {"Fn::GetAtt": ["NoSuchResource", "value"]}),
        edit(["Resources", "GrantSecret", "Type"], "ALIYUN::OSS::Bucket"),
    ],
    ids=["literal", "sub-with-literal-text", "ref-to-echoed-parameter", "ref-unknown",
         "parameter-echoed", "parameter-literal-default", "unused-secret-named-parameter",
         "grant-secret-literal", "grant-secret-from-a-bucket-name", "grant-secret-unknown",
         "grant-secret-not-random"],
)
def test_ros_secret_lint_flags_secrets_not_kept_secret(
    ros_template: dict[str, Any], change: Callable[[dict[str, Any]], None]
) -> None:
    broken = copy.deepcopy(ros_template)
    change(broken)
    assert ros_secret_findings(ros_env(broken), broken["Parameters"], broken["Resources"])


def syaml_defaults(s_yaml: dict[str, Any]) -> dict[str, str]:
    env = resolve(syaml_env(s_yaml), s_yaml["vars"])
    env["AUTH_JWT_SECRET"] = ""  # ${env(...)} with the shell variable unset
    env["GRANT_SECRET"] = ""
    return env  # type: ignore[no-any-return]


def ros_defaults(template: dict[str, Any]) -> dict[str, str]:
    return {name: ros_value(template, node) for name, node in ros_env(template).items()}


def test_syaml_defaults_are_accepted_by_the_function(s_yaml: dict[str, Any]) -> None:
    settings = Settings.from_env(syaml_defaults(s_yaml))
    assert (settings.auth_mode, settings.rate_limit_per_minute, settings.callback_url) == (
        "none", 60, "")


def test_template_defaults_are_accepted_by_the_function(ros_template: dict[str, Any]) -> None:
    settings = Settings.from_env(ros_defaults(ros_template))
    assert (settings.auth_mode, settings.rate_limit_per_minute, settings.callback_url) == (
        "none", 60, "")


def test_with_a_callback_url_both_paths_configure_the_function_with_the_grant_secret(
    s_yaml: dict[str, Any], ros_template: dict[str, Any]
) -> None:
    # The callback needs GRANT_SECRET: ROS generates it; s deploy takes it from the shell.
    callback = {"UPLOAD_CALLBACK_URL": "https://fn.example.com/callback"}
    from_ros = Settings.from_env({**ros_defaults(ros_template), **callback})
    assert from_ros.callback_url == callback["UPLOAD_CALLBACK_URL"]
    assert from_ros.grant_secrets == (GENERATED_GRANT_SECRET.encode(),)
    shell = {"GRANT_SECRET": "exported-in-the-deploy-shell-0123456789abcdef"}
    from_syaml = Settings.from_env({**syaml_defaults(s_yaml), **callback, **shell})
    assert from_syaml.callback_url == callback["UPLOAD_CALLBACK_URL"]
    assert from_syaml.grant_secrets == (shell["GRANT_SECRET"].encode(),)


def test_both_deploy_paths_default_the_new_settings_alike(
    s_yaml: dict[str, Any], ros_template: dict[str, Any]
) -> None:
    from_syaml, from_ros = syaml_defaults(s_yaml), ros_defaults(ros_template)
    assert {n: from_syaml[n] for n in NEW_SETTINGS} == {n: from_ros[n] for n in NEW_SETTINGS}


def test_auth_mode_parameter_allows_exactly_the_function_modes(
    ros_template: dict[str, Any],
) -> None:
    assert ros_template["Parameters"]["AuthMode"]["AllowedValues"] == list(AUTH_MODES)


def test_callback_url_is_a_parameter_because_the_trigger_depends_on_the_function(
    ros_template: dict[str, Any],
) -> None:
    # The trigger names the function, so the function's environment cannot read the
    # trigger's URL without a cycle: the URL is set in a second step (docs/deploy-auth.md).
    trigger = ros_template["Resources"]["HttpTrigger"]["Properties"]
    assert trigger["FunctionName"] == {"Fn::GetAtt": ["SignerFunction", "FunctionName"]}
    assert ros_env(ros_template)["UPLOAD_CALLBACK_URL"] == {"Ref": "UploadCallbackUrl"}
    assert ros_template["Parameters"]["UploadCallbackUrl"]["Default"] == ""
