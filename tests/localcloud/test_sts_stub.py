"""The STS stub driven by the real SDKs over loopback HTTP: success, every error row, faults.

``alibabacloud_sts20150401`` (ACS3-HMAC-SHA256) talks to the stub directly. The
``alibabacloud_credentials`` RamRoleArn provider always uses HTTPS, so it cannot reach the
plain-HTTP stub; its RPC HMAC-SHA1 scheme is tested by building the request with the SDK's own
signing helpers and sending it over plain HTTP.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import socket
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode

import pytest
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.provider.ram_role_arn import RamRoleArnCredentialsProvider
from alibabacloud_credentials.utils import parameter_helper as ph
from alibabacloud_sts20150401 import models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from alibabacloud_tea_openapi.models import Config
from alibabacloud_tea_openapi.utils import Utils as OpenApiUtils
from Tea.exceptions import RetryError

from localcloud.identity import IdentityStore, Principal, oss_object_resource
from localcloud.sts.faults import FaultMode, FaultPlan
from localcloud.sts.roles import Role, StsSettings
from localcloud.sts.server import RunningSts, StsStub
from localcloud.sts.signatures import parse_timestamp

ACCOUNT = "1234567890123456"
ROLE_ARN = f"acs:ram::{ACCOUNT}:role/oss-uploader"
UNTRUSTING_ROLE_ARN = f"acs:ram::{ACCOUNT}:role/someone-elses"
SHORT_ROLE_ARN = f"acs:ram::{ACCOUNT}:role/short-sessions"
CALLER_AK, CALLER_SECRET, CALLER_TOKEN = "FAKE-AK-CALLER", "fake-caller-secret", "fake-caller-token"
LONG_AK, LONG_SECRET = "FAKE-AK-LONGTERM", "fake-longterm-secret"
NOPERM_AK, NOPERM_SECRET = "FAKE-AK-NOPERM", "fake-noperm-secret"
EXPIRED_AK = "FAKE-AK-EXPIRED"


def _allow(action: str, resource: str) -> dict[str, Any]:
    return {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
    }


ROLE_POLICY = _allow("oss:PutObject", "acs:oss:*:*:upload-bucket/*")
CAN_ASSUME = _allow("sts:AssumeRole", f"acs:ram::{ACCOUNT}:role/*")


def _clock() -> datetime:
    # The SDKs sign with the real time, so the live stub runs on it too.
    return datetime.now(timezone.utc)


@dataclass
class Sts:
    stub: StsStub
    running: RunningSts
    identities: IdentityStore
    faults: FaultPlan


def _identities() -> IdentityStore:
    execution = (
        os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
        os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
        os.environ["ALIBABA_CLOUD_SECURITY_TOKEN"],
    )
    return IdentityStore(
        [
            Principal(
                CALLER_AK,
                CALLER_SECRET,
                security_token=CALLER_TOKEN,
                policies=(CAN_ASSUME,),
                arn=f"acs:ram::{ACCOUNT}:role/fc-exec/session",
            ),
            Principal(*execution[:2], security_token=execution[2], policies=(CAN_ASSUME,)),
            Principal(LONG_AK, LONG_SECRET, policies=(CAN_ASSUME,)),
            Principal(NOPERM_AK, NOPERM_SECRET, policies=(_allow("oss:GetObject", "*"),)),
            Principal(
                EXPIRED_AK,
                CALLER_SECRET,
                security_token=CALLER_TOKEN,
                expiration=_clock() - timedelta(minutes=1),
                policies=(CAN_ASSUME,),
            ),
        ]
    )


def _roles() -> dict[str, Role]:
    trusted = (CALLER_AK, LONG_AK, NOPERM_AK, EXPIRED_AK, os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"])
    return {
        ROLE_ARN: Role(ROLE_ARN, trusted, (ROLE_POLICY,)),
        UNTRUSTING_ROLE_ARN: Role(UNTRUSTING_ROLE_ARN, ("FAKE-AK-NOBODY",), (ROLE_POLICY,)),
        SHORT_ROLE_ARN: Role(SHORT_ROLE_ARN, trusted, (ROLE_POLICY,), max_session_duration=1800),
    }


def _start(settings: StsSettings | None = None) -> Iterator[Sts]:
    identities = _identities()
    faults = FaultPlan(random.Random(7))
    stub = StsStub(identities, _roles(), clock=_clock, settings=settings, faults=faults)
    running = stub.start("127.0.0.1", 0)
    try:
        yield Sts(stub, running, identities, faults)
    finally:
        running.stop()


@pytest.fixture
def sts() -> Iterator[Sts]:
    yield from _start()


def _client(
    sts: Sts, ak: str = CALLER_AK, secret: str = CALLER_SECRET, token: str | None = CALLER_TOKEN
) -> StsClient:
    config = Config(
        access_key_id=ak,
        access_key_secret=secret,
        security_token=token,
        endpoint=sts.running.endpoint,
        protocol="http",
        read_timeout=5000,
    )
    return StsClient(config)


def _assume(client: StsClient, **overrides: Any) -> models.AssumeRoleResponse:
    fields: dict[str, Any] = {
        "role_arn": ROLE_ARN,
        "role_session_name": "upload-session",
        "duration_seconds": 3600,
    }
    fields.update(overrides)
    return client.assume_role(models.AssumeRoleRequest(**fields))


def test_sts_sdk_caller_gets_credentials_registered_for_the_emulator(sts: Sts) -> None:
    before = _clock().replace(microsecond=0)

    response = _assume(_client(sts), duration_seconds=1800)

    body = response.body.to_map()
    assert response.status_code == 200
    assert set(body) == {"RequestId", "AssumedRoleUser", "Credentials"}
    creds = body["Credentials"]
    assert set(creds) == {"AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}
    assert creds["AccessKeyId"].startswith("STS.")
    assert body["AssumedRoleUser"]["Arn"] == f"{ROLE_ARN}/upload-session"
    assert body["AssumedRoleUser"]["AssumedRoleId"].endswith(":upload-session")
    expiration = datetime.strptime(creds["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc
    )
    assert before + timedelta(seconds=1800) <= expiration <= _clock() + timedelta(seconds=1801)
    issued = sts.identities.lookup(creds["AccessKeyId"])
    assert issued == Principal(
        creds["AccessKeyId"],
        creds["AccessKeySecret"],
        security_token=creds["SecurityToken"],
        expiration=expiration,
        policies=(ROLE_POLICY,),
        arn=f"{ROLE_ARN}/upload-session",
    )
    assert (sts.stub.assume_role_calls, sts.stub.issued) == (1, 1)


def test_default_credential_chain_from_environment_is_accepted(sts: Sts) -> None:
    config = Config(credential=CredentialClient(), endpoint=sts.running.endpoint, protocol="http")

    response = _assume(StsClient(config))

    assert response.body.credentials.access_key_id.startswith("STS.")


def test_long_term_key_without_token_is_accepted(sts: Sts) -> None:
    response = _assume(_client(sts, LONG_AK, LONG_SECRET, None))

    assert response.status_code == 200


def test_session_policy_narrows_what_the_issued_credentials_may_do(sts: Sts) -> None:
    session = _allow("oss:PutObject", "acs:oss:*:*:upload-bucket/users/alice/*")

    response = _assume(_client(sts), policy=json.dumps(session))

    issued = sts.identities.lookup(response.body.credentials.access_key_id)
    assert issued is not None and issued.policies == (ROLE_POLICY, session)
    inside = oss_object_resource("upload-bucket", "users/alice/a.jpg")
    outside = oss_object_resource("upload-bucket", "users/bob/a.jpg")
    assert issued.is_allowed("oss:PutObject", inside)
    assert not issued.is_allowed("oss:PutObject", outside)
    assert not issued.is_allowed("oss:GetObject", inside)


ERROR_ROWS: dict[str, tuple[dict[str, Any], dict[str, Any], int, str]] = {
    "role does not exist": (
        {},
        {"role_arn": f"acs:ram::{ACCOUNT}:role/missing"},
        404,
        "EntityNotExist.Role",
    ),
    "role arn malformed": (
        {},
        {"role_arn": "arn:aws:iam::1:role/x"},
        400,
        "InvalidParameter.RoleArn",
    ),
    "session name too short": (
        {},
        {"role_session_name": "a"},
        400,
        "InvalidParameter.RoleSessionName",
    ),
    "session name bad characters": (
        {},
        {"role_session_name": "a b*c"},
        400,
        "InvalidParameter.RoleSessionName",
    ),
    "duration below 900 s": (
        {},
        {"duration_seconds": 899},
        400,
        "InvalidParameter.DurationSeconds",
    ),
    "duration above role maximum": (
        {},
        {"role_arn": SHORT_ROLE_ARN, "duration_seconds": 1801},
        400,
        "InvalidParameter.DurationSeconds",
    ),
    "policy not json": ({}, {"policy": "{not json"}, 400, "InvalidParameter.PolicyGrammar"),
    "policy without statements": (
        {},
        {"policy": '{"Version": "1"}'},
        400,
        "InvalidParameter.PolicyGrammar",
    ),
    "policy bad effect": (
        {},
        {
            "policy": json.dumps(
                {"Version": "1", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}
            )
        },
        400,
        "InvalidParameter.PolicyGrammar",
    ),
    "policy too long": (
        {},
        {"policy": json.dumps(_allow("oss:PutObject", "x" * 2100))},
        400,
        "InvalidParameter.PolicySize",
    ),
    "external id malformed": ({}, {"external_id": "!"}, 400, "InvalidParameter.ExternalId"),
    "role does not trust caller": ({}, {"role_arn": UNTRUSTING_ROLE_ARN}, 403, "NoPermission"),
    "caller lacks sts:AssumeRole": (
        {"ak": NOPERM_AK, "secret": NOPERM_SECRET, "token": None},
        {},
        403,
        "NoPermission",
    ),
    "unknown access key": ({"ak": "FAKE-AK-UNKNOWN"}, {}, 404, "InvalidAccessKeyId.NotFound"),
    "wrong secret": ({"secret": "another-fake-secret"}, {}, 400, "SignatureDoesNotMatch"),
    "wrong security token": ({"token": "forged-token"}, {}, 400, "InvalidSecurityToken.Malformed"),
    "sts key without token": ({"token": None}, {}, 400, "MissingSecurityToken"),
    "expired caller token": ({"ak": EXPIRED_AK}, {}, 400, "InvalidSecurityToken.Expired"),
    "token on long-term key": (
        {"ak": LONG_AK, "secret": LONG_SECRET},
        {},
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    ),
}


@pytest.mark.parametrize(
    ("caller", "request_fields", "status", "code"), ERROR_ROWS.values(), ids=ERROR_ROWS.keys()
)
def test_refusals_carry_sts_status_code_and_error_json(
    sts: Sts, caller: dict[str, Any], request_fields: dict[str, Any], status: int, code: str
) -> None:
    with pytest.raises(ClientException) as caught:
        _assume(_client(sts, **caller), **request_fields)

    assert (caught.value.status_code, caught.value.code) == (status, code)
    # The SDK adds statusCode to the parsed body; the rest is what the stub sent.
    assert set(caught.value.data) - {"statusCode"} == {
        "RequestId",
        "HostId",
        "Code",
        "Message",
        "Recommend",
    }
    assert sts.stub.issued == 0
    assert CALLER_SECRET not in json.dumps(caught.value.data)


def test_explicit_test_setting_allows_short_sessions() -> None:
    for sts in _start(StsSettings(min_duration_seconds=60)):
        response = _assume(_client(sts), duration_seconds=60)
        assert response.status_code == 200


# --- the credentials package's RPC HMAC-SHA1 scheme ---------------------------------------------


def _rpc_query(
    ak: str, secret: str, token: str | None, method: str = "GET", **extra: str
) -> dict[str, str]:
    """Build the query exactly as RamRoleArnCredentialsProvider does, with its own helpers."""
    query = {
        "Action": "AssumeRole",
        "Format": "JSON",
        "Version": "2015-04-01",
        "DurationSeconds": "3600",
        "RoleArn": ROLE_ARN,
        "RoleSessionName": "rpc-session",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "Timestamp": ph.get_iso_8061_date(),
        "SignatureNonce": ph.get_uuid(),
        "AccessKeyId": ak,
        **extra,
    }
    if token:
        query["SecurityToken"] = token
    query["Signature"] = ph.sign_string(ph.compose_string_to_sign(method, query), secret + "&")
    return query


def _http(
    sts: Sts,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    request = urllib.request.Request(
        sts.running.url + target, data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except HTTPError as error:
        return error.code, error.read()


def test_credentials_provider_signature_scheme_is_accepted_over_get(sts: Sts) -> None:
    session = json.dumps(_allow("oss:PutObject", "acs:oss:*:*:upload-bucket/a b/*"), indent=1)
    query = _rpc_query(CALLER_AK, CALLER_SECRET, CALLER_TOKEN, Policy=session)

    status, body = _http(sts, "GET", "/?" + urlencode(query))

    assert status == 200
    assert json.loads(body)["Credentials"]["AccessKeyId"].startswith("STS.")


def test_rpc_parameters_in_a_form_body_are_accepted(sts: Sts) -> None:
    query = _rpc_query(LONG_AK, LONG_SECRET, None, method="POST")

    status, _ = _http(
        sts,
        "POST",
        "/",
        urlencode(query).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert status == 200


@pytest.mark.parametrize(
    ("ak", "secret", "token", "expected_status", "code"),
    [
        (CALLER_AK, "another-fake-secret", CALLER_TOKEN, 400, "SignatureDoesNotMatch"),
        (CALLER_AK, CALLER_SECRET, "forged", 400, "InvalidSecurityToken.Malformed"),
        ("FAKE-AK-UNKNOWN", CALLER_SECRET, None, 404, "InvalidAccessKeyId.NotFound"),
    ],
)
def test_rpc_refusals_use_sts_codes(
    sts: Sts, ak: str, secret: str, token: str | None, expected_status: int, code: str
) -> None:
    status, body = _http(sts, "GET", "/?" + urlencode(_rpc_query(ak, secret, token)))

    assert (status, json.loads(body)["Code"]) == (expected_status, code)


def test_replayed_rpc_request_is_refused(sts: Sts) -> None:
    target = "/?" + urlencode(_rpc_query(CALLER_AK, CALLER_SECRET, CALLER_TOKEN))

    first, _ = _http(sts, "GET", target)
    second, body = _http(sts, "GET", target)

    assert (first, second, json.loads(body)["Code"]) == (200, 400, "SignatureNonceUsed")


def test_rpc_timestamp_outside_the_window_is_refused(sts: Sts) -> None:
    stale = (_clock() - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = _rpc_query(CALLER_AK, CALLER_SECRET, CALLER_TOKEN)
    query["Timestamp"] = stale
    query["Signature"] = ph.sign_string(
        ph.compose_string_to_sign("GET", {k: v for k, v in query.items() if k != "Signature"}),
        CALLER_SECRET + "&",
    )

    status, body = _http(sts, "GET", "/?" + urlencode(query))

    assert (status, json.loads(body)["Code"]) == (400, "InvalidTimeStamp.Expired")


def test_credentials_provider_itself_cannot_reach_plain_http(sts: Sts) -> None:
    provider = RamRoleArnCredentialsProvider(
        access_key_id=CALLER_AK,
        access_key_secret=CALLER_SECRET,
        security_token=CALLER_TOKEN,
        role_arn=ROLE_ARN,
        sts_endpoint=sts.running.endpoint,
    )

    # The SDK speaks HTTPS only: its TLS handshake against the plain-HTTP stub fails.
    with pytest.raises(RetryError, match="HTTPSConnectionPool"):
        provider.get_credentials()

    assert sts.stub.issued == 0


MALFORMED: dict[str, tuple[str, str, bytes | None, dict[str, str], int, str]] = {
    "no parameters": ("GET", "/", None, {}, 400, "MissingParameter"),
    "no signature": ("GET", "/?AccessKeyId=x", None, {}, 400, "MissingParameter"),
    "garbage authorization": (
        "POST",
        "/",
        b"",
        {"Authorization": "ACS3-HMAC-SHA256 junk"},
        400,
        "IncompleteSignature",
    ),
    "unknown algorithm": (
        "POST",
        "/",
        b"",
        {"Authorization": "HMAC-MD5 Credential=a"},
        400,
        "InvalidSignatureMethod",
    ),
    "binary form body": (
        "POST",
        "/",
        b"\xff\xfe",
        {"Content-Type": "application/x-www-form-urlencoded"},
        400,
        "IncompleteSignature",
    ),
}


@pytest.mark.parametrize(
    ("method", "target", "body", "headers", "status", "code"),
    MALFORMED.values(),
    ids=MALFORMED.keys(),
)
def test_malformed_requests_get_a_clear_4xx_json(
    sts: Sts,
    method: str,
    target: str,
    body: bytes | None,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    got_status, got_body = _http(sts, method, target, body, headers)

    assert (got_status, json.loads(got_body)["Code"]) == (status, code)


def test_unknown_action_is_not_found(sts: Sts) -> None:
    query = _rpc_query(CALLER_AK, CALLER_SECRET, CALLER_TOKEN)
    query.pop("Signature")
    query["Action"] = "GetCallerIdentity"
    query["Signature"] = ph.sign_string(
        ph.compose_string_to_sign("GET", query), CALLER_SECRET + "&"
    )

    status, body = _http(sts, "GET", "/?" + urlencode(query))

    assert (status, json.loads(body)["Code"]) == (404, "InvalidAction.NotFound")


# --- fault injection ----------------------------------------------------------------------------


def test_throttling_fault_reaches_the_sdk_as_sts_flow_control(sts: Sts) -> None:
    sts.faults.inject(FaultMode.THROTTLE)

    with pytest.raises(ClientException) as caught:
        _assume(_client(sts))

    assert (caught.value.status_code, caught.value.code) == (400, "Throttling.User")
    assert _assume(_client(sts)).status_code == 200


@pytest.mark.parametrize(("status", "code"), [(500, "InternalError"), (503, "ServiceUnavailable")])
def test_server_error_fault_reaches_the_sdk_as_a_server_exception(
    sts: Sts, status: int, code: str
) -> None:
    sts.faults.inject(FaultMode.SERVER_ERROR, status=status)

    with pytest.raises(ServerException) as caught:
        _assume(_client(sts))

    assert (caught.value.status_code, caught.value.code) == (status, code)


def test_malformed_json_fault_answers_200_with_an_unparseable_body(sts: Sts) -> None:
    sts.faults.inject(FaultMode.MALFORMED_JSON)

    status, body = _http(sts, "GET", "/")

    assert status == 200
    with pytest.raises(ValueError):
        json.loads(body)


def test_connection_reset_fault_closes_without_an_answer(sts: Sts) -> None:
    sts.faults.inject(FaultMode.CONNECTION_RESET)
    connection = http.client.HTTPConnection(sts.running.host, sts.running.port, timeout=5)

    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        connection.request("GET", "/")
        connection.getresponse()

    connection.close()


def test_delay_fault_makes_a_short_client_timeout_expire(sts: Sts) -> None:
    sts.faults.inject(FaultMode.DELAY, delay_seconds=1.0)
    connection = http.client.HTTPConnection(sts.running.host, sts.running.port, timeout=0.2)

    with pytest.raises((socket.timeout, TimeoutError)):
        connection.request("GET", "/")
        connection.getresponse()

    connection.close()


def test_counted_fault_applies_to_exactly_the_next_n_requests(sts: Sts) -> None:
    sts.faults.inject(FaultMode.THROTTLE, count=2)

    codes = [json.loads(_http(sts, "GET", "/")[1])["Code"] for _ in range(3)]

    assert codes == ["Throttling.User", "Throttling.User", "MissingParameter"]
    assert sts.stub.assume_role_calls == 3


def test_fault_with_zero_probability_never_fires(sts: Sts) -> None:
    sts.faults.inject(FaultMode.THROTTLE, count=None, probability=0.0)

    codes = {json.loads(_http(sts, "GET", "/")[1])["Code"] for _ in range(5)}

    assert codes == {"MissingParameter"}


def test_fault_plan_hands_out_each_counted_fault_once_across_threads() -> None:
    plan = FaultPlan()
    plan.inject(FaultMode.THROTTLE, count=50)
    got: list[object] = []

    def drain() -> None:
        for _ in range(40):
            fault = plan.next_fault()
            if fault is not None:
                got.append(fault)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (len(got), plan.applied, plan.next_fault()) == (50, 50, None)


@pytest.mark.parametrize(
    "kwargs", [{"count": 0}, {"probability": 1.5}, {"status": 404}], ids=["count", "prob", "status"]
)
def test_fault_plan_rejects_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FaultPlan().inject(FaultMode.SERVER_ERROR, **kwargs)


# --- request timestamps: every form STS takes, and the ones it refuses --------------------------


def _stamp(fraction: str | None = None, *, moment: datetime | None = None) -> str:
    """Return ``moment`` (now) as yyyy-MM-ddTHH:mm:ss[.fraction]Z."""
    text = (moment or _clock()).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{fraction}Z" if fraction is not None else f"{text}Z"


def _now_fields(fmt: str) -> str:
    """Return now in ``fmt`` (for the refused forms)."""
    return _clock().strftime(fmt)


ACCEPTED_TIMESTAMPS: dict[str, Callable[[], str]] = {
    # What the Python, Java and Go SDKs send (alibabacloud_tea_openapi, credentials).
    "whole seconds": lambda: _stamp(),
    # What ali-oss's STS client sends: Date.prototype.toISOString().
    "milliseconds": lambda: _stamp(f"{_clock().microsecond // 1000:03d}"),
    "milliseconds all zero": lambda: _stamp("000"),
    "one fraction digit": lambda: _stamp("5"),
    "microseconds": lambda: _stamp(f"{_clock().microsecond:06d}"),
    "nanoseconds": lambda: _stamp("123456789"),
}

REFUSED_TIMESTAMPS: dict[str, Callable[[], str]] = {
    "no zone designator": lambda: _now_fields("%Y-%m-%dT%H:%M:%S"),
    "milliseconds without zone": lambda: _now_fields("%Y-%m-%dT%H:%M:%S.123"),
    "utc as +00:00": lambda: _now_fields("%Y-%m-%dT%H:%M:%S+00:00"),
    "local time with offset": lambda: (_clock() + timedelta(hours=8)).strftime(
        "%Y-%m-%dT%H:%M:%S+08:00"
    ),
    "lower-case z": lambda: _now_fields("%Y-%m-%dT%H:%M:%Sz"),
    "lower-case t": lambda: _now_fields("%Y-%m-%dt%H:%M:%SZ"),
    "space instead of T": lambda: _now_fields("%Y-%m-%d %H:%M:%SZ"),
    "basic format": lambda: _now_fields("%Y%m%dT%H%M%SZ"),
    "no seconds": lambda: _now_fields("%Y-%m-%dT%H:%MZ"),
    "date only": lambda: _now_fields("%Y-%m-%d"),
    "epoch seconds": lambda: str(int(_clock().timestamp())),
    "rfc 1123 date": lambda: _now_fields("%a, %d %b %Y %H:%M:%S GMT"),
    "empty fraction": lambda: _now_fields("%Y-%m-%dT%H:%M:%S.Z"),
    "ten fraction digits": lambda: _stamp("1234567890"),
    "comma decimal mark": lambda: _now_fields("%Y-%m-%dT%H:%M:%S,123Z"),
    "single-digit month": lambda: _clock().strftime("%Y-") + "1-02T08:00:00Z",
    "impossible date": lambda: "2026-02-30T08:00:00Z",
    "hour 24": lambda: "2026-01-02T24:00:00Z",
    "trailing space": lambda: _stamp() + " ",
}


def _rpc_signed(method: str, timestamp: str) -> dict[str, str]:
    """An RPC AssumeRole with this ``Timestamp``, signed with the credentials SDK's helpers."""
    query = _rpc_query(CALLER_AK, CALLER_SECRET, CALLER_TOKEN, method=method)
    query.pop("Signature")
    query["Timestamp"] = timestamp
    query["Signature"] = ph.sign_string(
        ph.compose_string_to_sign(method, query), CALLER_SECRET + "&"
    )
    return query


def _rpc_form_post(sts: Sts, timestamp: str) -> tuple[int, bytes]:
    """Post the parameters as a form, as ali-oss's STS client does."""
    body = urlencode(_rpc_signed("POST", timestamp)).encode()
    return _http(sts, "POST", "/", body, {"Content-Type": "application/x-www-form-urlencoded"})


def _rpc_query_get(sts: Sts, timestamp: str) -> tuple[int, bytes]:
    """Send the parameters in the query string, as alibabacloud_credentials does."""
    return _http(sts, "GET", "/?" + urlencode(_rpc_signed("GET", timestamp)))


def _acs3_post(sts: Sts, x_acs_date: str) -> tuple[int, bytes]:
    """An ACS3-HMAC-SHA256 AssumeRole signed with tea-openapi's own helper, any x-acs-date."""
    query = {"RoleArn": ROLE_ARN, "RoleSessionName": "acs3-session", "DurationSeconds": "3600"}
    payload = hashlib.sha256(b"").hexdigest()
    headers = {
        "host": sts.running.endpoint,
        "x-acs-action": "AssumeRole",
        "x-acs-version": "2015-04-01",
        "x-acs-date": x_acs_date,
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": payload,
        "x-acs-security-token": CALLER_TOKEN,
    }
    request = SimpleNamespace(method="POST", pathname="/", query=query, headers=headers)
    authorization = OpenApiUtils.get_authorization(
        request, "ACS3-HMAC-SHA256", payload, CALLER_AK, CALLER_SECRET
    )
    return _http(
        sts, "POST", "/?" + urlencode(query), b"", {**headers, "Authorization": authorization}
    )


SENDERS: dict[str, Callable[[Sts, str], tuple[int, bytes]]] = {
    "rpc form post": _rpc_form_post,
    "rpc query get": _rpc_query_get,
    "acs3 x-acs-date": _acs3_post,
}


@pytest.mark.parametrize("sender", SENDERS.values(), ids=SENDERS.keys())
@pytest.mark.parametrize("stamp", ACCEPTED_TIMESTAMPS.values(), ids=ACCEPTED_TIMESTAMPS.keys())
def test_iso8601_utc_timestamps_with_or_without_fraction_are_accepted(
    sts: Sts, sender: Callable[[Sts, str], tuple[int, bytes]], stamp: Callable[[], str]
) -> None:
    status, body = sender(sts, stamp())

    assert status == 200, body
    assert json.loads(body)["Credentials"]["AccessKeyId"].startswith("STS.")


@pytest.mark.parametrize("sender", SENDERS.values(), ids=SENDERS.keys())
@pytest.mark.parametrize("stamp", REFUSED_TIMESTAMPS.values(), ids=REFUSED_TIMESTAMPS.keys())
def test_other_timestamp_forms_are_refused_with_invalid_timestamp_format(
    sts: Sts, sender: Callable[[Sts, str], tuple[int, bytes]], stamp: Callable[[], str]
) -> None:
    status, body = sender(sts, stamp())

    document = json.loads(body)
    assert (status, document["Code"]) == (400, "InvalidTimeStamp.Format")
    assert document["Message"] == "Specified time stamp or date value is not well formatted."
    assert sts.stub.issued == 0


@pytest.mark.parametrize("sender", [_rpc_form_post, _rpc_query_get], ids=["post", "get"])
def test_timestamp_with_non_ascii_digits_is_refused(
    sts: Sts, sender: Callable[[Sts, str], tuple[int, bytes]]
) -> None:
    # Only a parameter can carry them: HTTP header values are Latin-1.
    arabic_indic = "".join(chr(0x0660 + digit) for digit in range(10))
    stamp = _stamp("123").translate(str.maketrans("0123456789", arabic_indic))

    status, body = sender(sts, stamp)

    assert (status, json.loads(body)["Code"]) == (400, "InvalidTimeStamp.Format")


@pytest.mark.parametrize("sender", SENDERS.values(), ids=SENDERS.keys())
def test_millisecond_timestamp_outside_the_window_is_refused_as_expired(
    sts: Sts, sender: Callable[[Sts, str], tuple[int, bytes]]
) -> None:
    stale = _stamp("999", moment=_clock() - timedelta(minutes=15, seconds=2))

    status, body = sender(sts, stale)

    assert (status, json.loads(body)["Code"]) == (400, "InvalidTimeStamp.Expired")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02T08:00:00Z", datetime(2026, 1, 2, 8, 0, 0, tzinfo=timezone.utc)),
        ("2026-01-02T08:00:00.123Z", datetime(2026, 1, 2, 8, 0, 0, 123000, tzinfo=timezone.utc)),
        ("2026-01-02T08:00:00.5Z", datetime(2026, 1, 2, 8, 0, 0, 500000, tzinfo=timezone.utc)),
        (
            "2026-12-31T23:59:59.999999999Z",
            datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
        ),
    ],
)
def test_timestamp_fraction_is_read_to_the_microsecond(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected
