"""template.yml: valid against the project's ROS resource-type schema, references resolve,
and the stack has the resources and settings the issue asks for.

Offline stand-in for ROS ValidateTemplate/PreviewStack, which need the cloud.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft7Validator

from deploy.ros_refs import reference_findings


def schema_errors(schema: dict[str, Any], template: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in Draft7Validator(schema).iter_errors(template)
    ]


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == kind}


def test_ros_schema_is_itself_a_valid_draft7_schema(ros_schema: dict[str, Any]) -> None:
    Draft7Validator.check_schema(ros_schema)


def test_every_resource_type_cites_its_documentation_page(ros_schema: dict[str, Any]) -> None:
    types = [k for k in ros_schema["definitions"] if k.startswith("ALIYUN::")]
    assert types
    for kind in types:
        assert "https://" in ros_schema["definitions"][kind]["description"], kind


def test_template_validates_against_the_ros_resource_type_schema(
    ros_template: dict[str, Any], ros_schema: dict[str, Any]
) -> None:
    assert ros_template["ROSTemplateFormatVersion"] == "2015-09-01"
    assert schema_errors(ros_schema, ros_template) == []


def test_every_reference_in_the_template_resolves(
    ros_template: dict[str, Any], ros_schema: dict[str, Any]
) -> None:
    assert reference_findings(ros_template, ros_schema) == []


def set_in(template: dict[str, Any], path: list[Any], value: Any) -> None:
    node = template
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["Resources", "UploadBucket", "Properties", "BuckeName"], "typo"),
        (["Resources", "GrantSecret", "Properties", "lenght"], 64),
        (["Resources", "GrantSecret", "Properties", "character_classes"], [{"min": 1}]),
        (["Resources", "UploadBucket", "Properties", "AccessControl"], "public"),
        (["Resources", "UploadBucket", "Type"], "ALIYUN::OSS::Buckets"),
        (["Resources", "SignerFunction", "Properties", "MemorySize"], 64),
        (["Resources", "UploadRole", "Properties", "AssumeRolePolicyDocument", "Version"], "2"),
        (["Resources", "HttpTrigger", "Properties", "TriggerName"], "1-starts-with-digit"),
        (["ROSTemplateFormatVersion"], "2010-09-09"),
        (["Outputs", "FunctionUrl", "Valu"], "typo"),
        (["Resources", "UploadBucket", "Properties", "LifecycleConfiguration", "Rule", 0,
          "AbortMultipartUpload"], {"Days": 3, "CreatedBeforeDate": "2026-01-01T00:00:00.000Z"}),
        (["Resources", "UploadBucket", "Properties", "LifecycleConfiguration", "Rule", 0,
          "Status"], "On"),
        (["Resources", "UploadBucket", "Properties", "LifecycleConfiguration", "Rules"], []),
    ],
    ids=["misspelt-property", "random-string-misspelt", "random-string-class-missing", "bad-acl",
         "unknown-type", "memory-too-small", "bad-policy-version", "bad-trigger-name",
         "wrong-format-version", "output-typo", "abort-days-and-date", "lifecycle-status",
         "lifecycle-rules-misspelt"],
)
def test_schema_rejects_a_broken_template(
    ros_template: dict[str, Any], ros_schema: dict[str, Any], path: list[Any], value: Any
) -> None:
    broken = copy.deepcopy(ros_template)
    set_in(broken, path, value)
    assert schema_errors(ros_schema, broken)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["Resources", "SignerFunction", "Properties", "Role"],
         {"Fn::GetAtt": ["ExecRole", "Arn"]}),
        (["Outputs", "FunctionUrl", "Value"], {"Fn::GetAtt": ["HttpTrigger", "Url"]}),
        (["Resources", "UploadBucket", "Properties", "BucketName"], {"Ref": "Bucket"}),
        (["Resources", "SignerFunction", "Properties", "EnvironmentVariables", "OSS_HOST"],
         {"Fn::Sub": "https://${Bucket}.oss-${ALIYUN::Region}.aliyuncs.com"}),
        (["Resources", "SignerFunction", "DependsOn"], ["UploadRoles"]),
        (["Resources", "SignerFunction", "Properties", "EnvironmentVariables", "GRANT_SECRET"],
         {"Fn::GetAtt": ["GrantSecret", "Secret"]}),
        (["Resources", "SignerFunction", "Properties", "Runtime"],
         {"Fn::If": ["CustomRuntim", "custom.debian10", "python3.10"]}),
    ],
    ids=["getatt-unknown-resource", "getatt-unknown-attribute", "ref-unknown", "sub-unknown",
         "depends-on-unknown", "random-string-unknown-attribute", "if-unknown-condition"],
)
def test_reference_check_reports_dangling_references(
    ros_template: dict[str, Any], ros_schema: dict[str, Any], path: list[Any], value: Any
) -> None:
    broken = copy.deepcopy(ros_template)
    set_in(broken, path, value)
    assert reference_findings(broken, ros_schema)


def test_stack_creates_two_buckets_roles_grant_secret_function_and_trigger(
    ros_template: dict[str, Any],
) -> None:
    kinds = sorted(r["Type"] for r in ros_template["Resources"].values() if "Condition" not in r)
    assert kinds == [
        "ALIYUN::FC3::Function",
        "ALIYUN::FC3::Trigger",
        "ALIYUN::OSS::Bucket",
        "ALIYUN::OSS::Bucket",
        "ALIYUN::RAM::Role",
        "ALIYUN::RAM::Role",
        "ALIYUN::RandomString",
    ]
    assert sorted(resources_of_type(ros_template, "ALIYUN::OSS::Bucket")) == [
        "UploadBucket", "WebBucket"]


def test_shared_limits_are_off_by_default_and_tair_and_the_vpc_come_only_on_request(
    ros_template: dict[str, Any],
) -> None:
    resources, params = ros_template["Resources"], ros_template["Parameters"]
    conditional = {n: (r["Type"], r["Condition"]) for n, r in resources.items() if "Condition" in r}
    assert conditional == {"LimitsStore": ("ALIYUN::REDIS::Instance", "CreateTair")}
    assert ros_template["Conditions"]["CreateTair"] == {"Fn::Equals": [{"Ref": "LimitsTair"}, "on"]}
    defaults = {name: params[name]["Default"] for name in (
        "LimitsTair", "LimitsVpcId", "LimitsRedisUrl", "QuotaBytesPerCaller", "LimitsFailMode")}
    assert defaults == {"LimitsTair": "off", "LimitsVpcId": "", "LimitsRedisUrl": "",
                        "QuotaBytesPerCaller": "0", "LimitsFailMode": "closed"}
    assert params["LimitsRedisPassword"]["NoEcho"] is True
    assert resources["LimitsStore"]["Properties"]["Password"] == {"Ref": "LimitsRedisPassword"}
    condition, in_vpc, outside = resources["SignerFunction"]["Properties"]["VpcConfig"]["Fn::If"]
    assert (condition, outside) == ("InLimitsVpc", {"Ref": "ALIYUN::NoValue"})
    assert in_vpc["VSwitchIds"] == [{"Ref": "LimitsVSwitchId"}]


def test_upload_bucket_is_private_with_cors_for_the_page_and_no_website(
    ros_template: dict[str, Any],
) -> None:
    props = ros_template["Resources"]["UploadBucket"]["Properties"]
    assert props["BucketName"] == {"Ref": "BucketName"}
    assert props["AccessControl"] == "private"
    assert props["BlockPublicAccess"] is True
    assert not any(name.startswith("WebsiteConfiguration") for name in props)
    [rule] = props["CORSConfiguration"]["CORSRule"]
    # The page bucket's website origin(s), the same list the function allows.
    assert rule["AllowedOrigin"] == {"Ref": "AllowedOrigins"}
    function_env = ros_template["Resources"]["SignerFunction"]["Properties"][
        "EnvironmentVariables"]
    assert function_env["CORS_ALLOWED_ORIGINS"] == {"Fn::Join": [",", {"Ref": "AllowedOrigins"}]}
    assert sorted(rule["AllowedMethod"]) == ["GET", "POST", "PUT"]
    assert sorted(rule["ExposeHeader"]) == ["ETag", "x-oss-request-id"]


def test_page_bucket_has_website_hosting_and_block_public_access_off_for_it_only(
    ros_template: dict[str, Any],
) -> None:
    props = ros_template["Resources"]["WebBucket"]["Properties"]
    assert props["BucketName"] == {"Ref": "WebBucketName"}
    assert props["AccessControl"] == "private"  # objects are public-read, the bucket is not
    assert props["BlockPublicAccess"] is False
    assert props["WebsiteConfigurationV2"]["IndexDocument"]["Suffix"] == "index.html"
    assert "CORSConfiguration" not in props
    buckets = resources_of_type(ros_template, "ALIYUN::OSS::Bucket")
    assert [n for n, b in buckets.items() if b["Properties"].get("BlockPublicAccess") is not True
            ] == ["WebBucket"]


def test_grant_secret_is_generated_in_the_stack_and_long_enough(
    ros_template: dict[str, Any],
) -> None:
    secret = ros_template["Resources"]["GrantSecret"]
    assert secret["Type"] == "ALIYUN::RandomString"
    assert secret["Properties"]["length"] >= 32  # the function wants 32+ bytes per secret
    function_env = ros_template["Resources"]["SignerFunction"]["Properties"][
        "EnvironmentVariables"]
    assert function_env["GRANT_SECRET"] == {"Fn::GetAtt": ["GrantSecret", "value"]}


def test_function_and_trigger_match_the_syaml_deployment(
    ros_template: dict[str, Any], s_yaml: dict[str, Any], function_methods: list[str]
) -> None:
    [function] = resources_of_type(ros_template, "ALIYUN::FC3::Function").values()
    [trigger] = resources_of_type(ros_template, "ALIYUN::FC3::Trigger").values()
    fn = function["Properties"]
    s_props = s_yaml["resources"]["signer"]["props"]
    assert fn["Handler"] == s_props["handler"]
    assert fn["Role"] == {"Fn::GetAtt": ["ExecutionRole", "Arn"]}
    config = trigger["Properties"]["TriggerConfig"]
    assert config["authType"] == "anonymous"
    # Exactly the methods the function's routes answer: DELETE aborts a multipart upload.
    assert sorted(config["methods"]) == function_methods == ["DELETE", "GET", "OPTIONS", "POST"]


def test_parameters_and_outputs_cover_what_an_operator_sets_and_needs(
    ros_template: dict[str, Any],
) -> None:
    assert {
        "BucketName", "WebBucketName", "UploadDir", "AllowedOrigins", "UploadMaxBytes",
        "UploadAllowedContentTypes",
    } <= set(ros_template["Parameters"])
    outputs = ros_template["Outputs"]
    assert outputs["FunctionUrl"]["Value"] == {"Fn::GetAtt": ["HttpTrigger", "UrlInternet"]}
    assert outputs["UploadBucketDomain"]["Value"] == {"Fn::GetAtt": ["UploadBucket", "DomainName"]}
    assert outputs["WebBucketDomain"]["Value"] == {"Fn::GetAtt": ["WebBucket", "DomainName"]}
    assert outputs["WebsiteEndpoint"]["Value"]["Fn::Join"][1][1] == {
        "Fn::GetAtt": ["WebBucket", "DomainName"]}
