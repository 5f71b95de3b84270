"""template.yml: a parameter reused inside other names accepts only what every one of them
accepts, so a stack never fails halfway at the resource that refuses the name.

The walk (deploy/name_rules.py) finds every named property (RAM role and policy names,
bucket names, FC function and trigger names) and how its value is built; each parameter
on the way is then fed values its own AllowedPattern/AllowedValues/MaxLength admit, and
every name built from them must pass that name's documented rule.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deploy.name_rules import (
    FC_FUNCTION,
    OSS_BUCKET,
    RAM_POLICY,
    RAM_ROLE,
    NameChain,
    name_chains,
)

#: Values of the pseudo parameters a name may use (ROS fills them in).
PSEUDO_VALUES = {"ALIYUN::TenantId": "1234567890123456", "ALIYUN::Region": "cn-hangzhou",
                 "ALIYUN::StackName": "oss-direct-upload"}


def parameter_values(declared: dict[str, Any]) -> st.SearchStrategy[str]:
    """Every value a ROS parameter declaration admits (an unconstrained one: any text)."""
    if "AllowedValues" in declared:
        return st.sampled_from([str(v) for v in declared["AllowedValues"]])
    values: st.SearchStrategy[str]
    if "AllowedPattern" in declared:
        values = st.from_regex(declared["AllowedPattern"], fullmatch=True)
    else:
        values = st.text(min_size=1)
    low, high = declared.get("MinLength", 0), declared.get("MaxLength", 10**6)
    return values.filter(lambda v: low <= len(v) <= high)


def chain_values(template: dict[str, Any], chain: NameChain) -> st.SearchStrategy[dict[str, str]]:
    declared = template.get("Parameters", {})
    return st.fixed_dictionaries({
        name: st.just(PSEUDO_VALUES[name]) if name in PSEUDO_VALUES
        else parameter_values(declared[name])
        for name in chain.parameters
    })


def refused_names(template: dict[str, Any], chain: NameChain) -> list[str]:
    """Names the chain builds from admitted parameter values that its rule refuses."""
    refused: list[str] = []

    @settings(max_examples=300, derandomize=True, deadline=None, database=None)
    @given(chain_values(template, chain))
    def check(values: dict[str, str]) -> None:
        name = chain.render(values)
        if not chain.rule.accepts(name):
            refused.append(f"{chain.where}: {name!r} is not a valid {chain.rule.what}")
        assert chain.rule.accepts(name)

    try:
        check()
    except AssertionError:
        pass
    return refused


def chains_by_place(template: dict[str, Any]) -> dict[str, NameChain]:
    return {chain.where: chain for chain in name_chains(template)}


def test_the_walk_finds_every_name_built_from_a_parameter(ros_template: dict[str, Any]) -> None:
    reached = {(c.where, c.rule.what, tuple(c.parameters)) for c in name_chains(ros_template)}
    assert {
        ("ExecutionRole.Properties.RoleName", RAM_ROLE.what, ("ExecutionRoleName",)),
        ("ExecutionRole.Properties.Policies[0].PolicyName", RAM_POLICY.what,
         ("ExecutionRoleName",)),
        ("UploadRole.Properties.RoleName", RAM_ROLE.what, ("UploadRoleName",)),
        ("UploadRole.Properties.Policies[0].PolicyName", RAM_POLICY.what, ("UploadRoleName",)),
        ("UploadBucket.Properties.BucketName", OSS_BUCKET.what, ("BucketName",)),
        ("WebBucket.Properties.BucketName", OSS_BUCKET.what, ("WebBucketName",)),
        ("SignerFunction.Properties.FunctionName", FC_FUNCTION.what, ("FunctionName",)),
    } <= reached


@pytest.mark.parametrize("where", [
    "ExecutionRole.Properties.RoleName", "ExecutionRole.Properties.Policies[0].PolicyName",
    "UploadRole.Properties.RoleName", "UploadRole.Properties.Policies[0].PolicyName",
    "UploadBucket.Properties.BucketName", "WebBucket.Properties.BucketName",
    "SignerFunction.Properties.FunctionName", "HttpTrigger.Properties.TriggerName",
])
def test_every_admitted_parameter_value_makes_a_valid_name(
    ros_template: dict[str, Any], where: str
) -> None:
    assert refused_names(ros_template, chains_by_place(ros_template)[where]) == []


@pytest.mark.parametrize(
    ("parameter", "pattern", "where"),
    [
        # A period is a valid role name character but not a policy name character.
        ("ExecutionRoleName", "^[a-z0-9.-]{1,64}$",
         "ExecutionRole.Properties.Policies[0].PolicyName"),
        ("UploadRoleName", "^[a-z0-9.-]{1,64}$", "UploadRole.Properties.Policies[0].PolicyName"),
        ("BucketName", "^[a-z0-9-]{3,63}$", "UploadBucket.Properties.BucketName"),
        ("FunctionName", None, "SignerFunction.Properties.FunctionName"),
    ],
    ids=["period-in-role-name", "period-in-upload-role-name", "bucket-ending-in-hyphen",
         "unconstrained-function-name"],
)
def test_a_looser_parameter_is_caught_at_the_name_it_breaks(
    ros_template: dict[str, Any], parameter: str, pattern: str | None, where: str
) -> None:
    loose = copy.deepcopy(ros_template)
    declared = loose["Parameters"][parameter]
    declared.pop("AllowedPattern", None)
    if pattern is not None:
        declared["AllowedPattern"] = pattern
    assert refused_names(loose, chains_by_place(loose)[where])


def test_rules_accept_the_documented_examples_and_refuse_their_neighbours() -> None:
    assert RAM_ROLE.accepts("ECSAdmin") and RAM_ROLE.accepts("oss.uploader")
    assert not RAM_ROLE.accepts("a" * 65) and not RAM_ROLE.accepts("oss_uploader")
    assert RAM_POLICY.accepts("OSS-Administrator") and not RAM_POLICY.accepts("oss.uploader-put")
    assert OSS_BUCKET.accepts("my-uploads") and not OSS_BUCKET.accepts("my-uploads-")
    assert not OSS_BUCKET.accepts("My-uploads") and not OSS_BUCKET.accepts("ab")
    assert FC_FUNCTION.accepts("_signer-1") and not FC_FUNCTION.accepts("-signer")
    assert not FC_FUNCTION.accepts("1signer") and not FC_FUNCTION.accepts("a" * 65)
