"""Least privilege: no wildcard grants and trust limited to the intended principal.
(The function's environment, names and secrets, is checked in test_env_lint.py.)

Policies come from both deploy paths: template.yml (ROS) and deploy/ram/*.json (the
documents the `s deploy` guide creates the roles from).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from uploadsign.sts import session_policy

from deploy.policy_lint import as_list, policy_findings, statements, trust_principals
from localcloud.devidentity import UPLOAD_PREFIX, upload_role_permission

EXECUTION_ROLE_ARN_JSON = "acs:ram::<ACCOUNT_ID>:role/<EXECUTION_ROLE_NAME>"
UPLOAD_ROLE_ARN_JSON = "acs:ram::<ACCOUNT_ID>:role/<UPLOAD_ROLE_NAME>"


def role(template: dict[str, Any], name: str) -> dict[str, Any]:
    resource = template["Resources"][name]
    assert resource["Type"] == "ALIYUN::RAM::Role"
    return resource["Properties"]  # type: ignore[no-any-return]


def only_statement(document: dict[str, Any]) -> dict[str, Any]:
    [statement] = document["Statement"]
    return statement  # type: ignore[no-any-return]


def all_template_policies(template: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for resource in template["Resources"].values():
        for policy in resource.get("Properties", {}).get("Policies", []):
            found.append(policy["PolicyDocument"])
    return found


def allow(action: Any, resource: Any) -> dict[str, Any]:
    return {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}


@pytest.mark.parametrize(
    "document",
    [
        allow("*", "acs:oss:*:*:b/u/*"),
        allow(["oss:*"], ["acs:oss:*:*:b/u/*"]),
        allow(["sts:*"], ["acs:ram::1:role/r"]),
        allow(["*:*"], ["acs:ram::1:role/r"]),
        allow(["oss:Put*"], ["acs:oss:*:*:b/u/*"]),
        allow(["oss:PutObject"], "*"),
        allow(["oss:PutObject"], ["acs:oss:*:*:*"]),
        allow(["oss:PutObject"], ["acs:oss:*:*:b*"]),
        allow(["sts:AssumeRole"], ["acs:ram::1:role/*"]),
        allow(["oss:PutObject"], ["acs:oss:*:*:b/*"]),
        allow(["sts:AssumeRole"], ["role/x"]),
        allow(["oss:PutObject"], [{"Fn::Sub": "acs:oss:*:*:*/${UploadDir}"}]),
        {"Statement": [{"Effect": "Allow", "NotAction": ["oss:DeleteObject"], "Action": [],
                        "Resource": ["acs:oss:*:*:b/u/*"]}]},
    ],
    ids=["bare-star-action", "oss-star", "sts-star", "star-colon-star", "action-prefix-star",
         "bare-star-resource", "all-buckets", "bucket-name-prefix", "any-role", "whole-bucket",
         "not-an-arn", "sub-template-any-bucket", "not-action"],
)
def test_lint_flags_wildcard_grants(document: dict[str, Any]) -> None:
    assert policy_findings(document)


def test_lint_accepts_a_prefix_scoped_object_grant() -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": ["oss:PutObject"],
                               "Resource": ["acs:oss:*:*:bucket/uploads/*"]}]}
    assert policy_findings(document) == []


def test_no_policy_in_either_deploy_path_grants_a_wildcard(
    ros_template: dict[str, Any], ram_documents: dict[str, dict[str, Any]]
) -> None:
    documents = all_template_policies(ros_template) + [
        doc for name, doc in ram_documents.items() if name.endswith("-policy")
    ]
    assert len(documents) == 4
    for document in documents:
        assert policy_findings(document) == []


#: What the upload role may do, exactly: put objects and their ACL (grants pin
#: x-oss-object-acl: private; whether OSS checks PutObjectAcl for that is unconfirmed, so it
#: is granted), which also covers initiate, part upload and complete of a multipart upload,
#: plus the two actions multipart adds: ListParts (resume) and AbortMultipartUpload (cancel).
UPLOAD_ROLE_ACTIONS = ["oss:PutObject", "oss:PutObjectAcl", "oss:ListParts",
                       "oss:AbortMultipartUpload"]


def test_upload_role_may_only_write_list_parts_and_abort_under_the_upload_dir(
    ros_template: dict[str, Any], ram_documents: dict[str, dict[str, Any]]
) -> None:
    # Exact action lists and resources on both deploy paths; never the page bucket.
    [policy] = role(ros_template, "UploadRole")["Policies"]
    assert only_statement(policy["PolicyDocument"]) == {
        "Effect": "Allow",
        "Action": UPLOAD_ROLE_ACTIONS,
        "Resource": [{"Fn::Sub": "acs:oss:*:*:${BucketName}/${UploadDir}*"}],
    }
    assert only_statement(ram_documents["upload-role-policy"]) == {
        "Effect": "Allow",
        "Action": UPLOAD_ROLE_ACTIONS,
        "Resource": ["acs:oss:*:*:<BUCKET>/<UPLOAD_DIR>*"],
    }


def test_the_local_clouds_upload_role_may_do_exactly_what_the_deployed_one_may() -> None:
    # localcloud/devidentity.py, for `make dev` and the tests: the same actions, so the
    # local cloud refuses what the cloud would refuse.
    local = only_statement(upload_role_permission("b"))
    assert local["Action"] == UPLOAD_ROLE_ACTIONS
    assert local["Resource"] == [f"acs:oss:*:*:b/{UPLOAD_PREFIX}*"]


def allowed_pairs(document: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (action, resource) an Allow statement of ``document`` names."""
    return {
        (action, resource)
        for statement in statements(document) if statement.get("Effect") == "Allow"
        for action in as_list(statement.get("Action", []))
        for resource in as_list(statement.get("Resource", []))
    }


def test_the_functions_session_policy_asks_for_nothing_the_upload_role_lacks(
    ram_documents: dict[str, dict[str, Any]]
) -> None:
    # STS grants the intersection of role and session policy: an action the session policy
    # names but the role lacks would fail only on the cloud, at the first call needing it.
    # The session policy is the function's own (uploadsign.sts.session_policy), rendered
    # for the placeholders the RAM document uses.
    session = json.loads(session_policy("<BUCKET>", "<UPLOAD_DIR>"))
    role_pairs = allowed_pairs(ram_documents["upload-role-policy"])
    assert allowed_pairs(session) <= role_pairs
    # And the role grants nothing the function never asks for.
    assert {action for action, _ in role_pairs} == {action for action, _ in
                                                    allowed_pairs(session)}


def test_the_subset_check_catches_an_action_the_role_lacks(
    ram_documents: dict[str, dict[str, Any]]
) -> None:
    session = json.loads(session_policy("<BUCKET>", "<UPLOAD_DIR>"))
    narrower = copy.deepcopy(ram_documents["upload-role-policy"])
    narrower["Statement"][0]["Action"].remove("oss:AbortMultipartUpload")
    assert not allowed_pairs(session) <= allowed_pairs(narrower)


def test_execution_role_may_only_assume_the_upload_role(
    ros_template: dict[str, Any], ram_documents: dict[str, dict[str, Any]]
) -> None:
    [policy] = role(ros_template, "ExecutionRole")["Policies"]
    assert only_statement(policy["PolicyDocument"]) == {
        "Effect": "Allow",
        "Action": ["sts:AssumeRole"],
        "Resource": [{"Fn::Sub": "acs:ram::${ALIYUN::TenantId}:role/${UploadRoleName}"}],
    }
    assert role(ros_template, "UploadRole")["RoleName"] == {"Ref": "UploadRoleName"}
    assert only_statement(ram_documents["execution-role-policy"]) == {
        "Effect": "Allow",
        "Action": ["sts:AssumeRole"],
        "Resource": [UPLOAD_ROLE_ARN_JSON],
    }


def test_execution_role_is_trusted_by_function_compute_only(
    ros_template: dict[str, Any], ram_documents: dict[str, dict[str, Any]]
) -> None:
    expected = [{"Service": ["fc.aliyuncs.com"]}]
    ros_trust = role(ros_template, "ExecutionRole")["AssumeRolePolicyDocument"]
    assert trust_principals(ros_trust) == expected
    assert trust_principals(ram_documents["execution-role-trust"]) == expected


def test_upload_role_is_trusted_by_the_execution_role_only_not_the_account(
    ros_template: dict[str, Any], ram_documents: dict[str, dict[str, Any]]
) -> None:
    ros_trust = role(ros_template, "UploadRole")["AssumeRolePolicyDocument"]
    assert trust_principals(ros_trust) == [{"RAM": [{"Fn::GetAtt": ["ExecutionRole", "Arn"]}]}]
    json_trust = ram_documents["upload-role-trust"]
    assert trust_principals(json_trust) == [{"RAM": [EXECUTION_ROLE_ARN_JSON]}]


@pytest.mark.parametrize(
    "principal",
    [
        {"RAM": ["acs:ram::<ACCOUNT_ID>:root"]},
        {"RAM": [EXECUTION_ROLE_ARN_JSON, "acs:ram::<ACCOUNT_ID>:root"]},
        {"RAM": [EXECUTION_ROLE_ARN_JSON], "Service": ["fc.aliyuncs.com"]},
    ],
    ids=["whole-account", "role-plus-account", "role-plus-service"],
)
def test_a_wider_upload_role_trust_is_detected(principal: dict[str, Any]) -> None:
    document = {"Version": "1", "Statement": [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": principal}]}
    assert trust_principals(document) != [{"RAM": [EXECUTION_ROLE_ARN_JSON]}]

