"""``grant_json`` renders exactly what the plain structures encode to.

The plain path is the definition: ``policy.upload_conditions`` encoded like
``policy.encode`` for the policy, ``responses.json_response`` of the answer body for the
answer. Inputs are generated (quotes, backslashes, control characters, non-ASCII,
surrogates, very long tokens), and the cached parts are exercised with several
credentials in turn so a stale cache entry would show.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from uploadsign import callback, grant_json, policy
from uploadsign.config import UPLOAD_CALLBACK_URL, Settings
from uploadsign.credentials import Lookup, TemporaryCredentials
from uploadsign.grants import GrantService
from uploadsign.responses import json_response, json_text_response
from uploadsign.upload_request import UploadRequest

from tests.sign.support import BASE_ENV

NOW = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
AWKWARD = ["", '"', "\\", "\\\"", "\x00\x1f\x7f", "\u2028\u2029", "é中🙂", "\ud800", "</script>"]
text = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=40))
long_text = st.one_of(text, st.text(min_size=1000, max_size=3000))
FORM_NAMES = [
    policy.KEY, policy.CONTENT_TYPE, policy.ORIGINAL_FILENAME, policy.SUCCESS_ACTION_STATUS,
    policy.FORBID_OVERWRITE, callback.CALLBACK, callback.GRANT_ID,
]
forms = st.lists(text, min_size=len(FORM_NAMES), max_size=len(FORM_NAMES)).map(
    lambda values: dict(zip(FORM_NAMES, values, strict=True))
)
sizes = st.integers(min_value=0, max_value=2**63)
#: Policies as the answer carries them: Base64 text, short and long.
base64_texts = st.binary(max_size=3000).map(lambda raw: base64.b64encode(raw).decode("ascii"))


def plain_policy(expiration: str, bucket: str, auth: dict[str, str], form: dict[str, str],
                 size: int) -> str:
    conditions = policy.upload_conditions(bucket=bucket, auth=auth, form=form, size=size)
    document = {"expiration": expiration, "conditions": conditions}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True)


def auth_of(access_key_id: str, date: str, token: str) -> dict[str, str]:
    return {
        policy.SIGNATURE_VERSION: "OSS4-HMAC-SHA256",
        policy.CREDENTIAL: access_key_id + "/20240506/cn-hangzhou/oss/aliyun_v4_request",
        policy.DATE: date,
        policy.SECURITY_TOKEN: token,
    }


@settings(max_examples=300, deadline=None)
@given(expiration=text, bucket=text, key_id=text, date=text, token=long_text, form=forms,
       size=sizes)
def test_policy_text_equals_the_encoded_conditions(
    expiration: str, bucket: str, key_id: str, date: str, token: str, form: dict[str, str],
    size: int,
) -> None:
    auth = auth_of(key_id, date, token)
    expected = plain_policy(expiration, bucket, auth, form, size)
    assert grant_json.upload_policy(
        expiration=expiration, bucket=bucket, auth=auth, form=form, size=size
    ) == expected


@settings(max_examples=300, deadline=None)
@given(url=text, key_id=text, date=text, token=long_text, form=forms, policy_text=base64_texts,
       signature=text, expires_at=text, size=sizes, grant_id=text)
def test_answer_text_equals_json_response_of_the_body(
    url: str, key_id: str, date: str, token: str, form: dict[str, str], policy_text: str,
    signature: str, expires_at: str, size: int, grant_id: str,
) -> None:
    auth = auth_of(key_id, date, token)
    body = {
        "url": url,
        "fields": {**form, **auth, policy.POLICY: policy_text, policy.SIGNATURE: signature},
        "key": form[policy.KEY],
        "expires_at": expires_at,
        "max_size": size,
        "grant_id": grant_id,
    }
    rendered = grant_json.upload_answer(
        url=url, form=form, auth=auth, policy_text=policy_text, signature=signature,
        key=form[policy.KEY], expires_at=expires_at, max_size=size, grant_id=grant_id,
    )
    assert json_text_response(200, rendered) == json_response(200, body)


@pytest.mark.parametrize("callback_url", ["", "https://cb.example.com/oss-callback"])
@pytest.mark.parametrize("token", ["FAKE-TOKEN-1", 'FAKE-"TOKEN"\\2\n' + "é" * 2000])
def test_grant_answer_and_policy_match_the_plain_path_across_credentials(
    callback_url: str, token: str
) -> None:
    env = {**BASE_ENV, UPLOAD_CALLBACK_URL: callback_url} if callback_url else BASE_ENV
    settings_ = Settings.from_env(env)
    # Two credential sets in turn: each grant must carry its own token and credential.
    creds = [
        TemporaryCredentials(f"FAKE-AK-{n}", "fake-secret", f"{token}-{n}",
                             NOW + timedelta(hours=1))
        for n in (1, 2, 1)
    ]
    for current in creds:
        service = GrantService(settings_, lambda c=current: Lookup(c, "hit"),
                               random_source=lambda n: b"\x07" * n)
        grant = service.upload_grant(UploadRequest('a "b"\\ é.png', 42, "image/png"), NOW)
        assert grant.text is not None
        assert json_text_response(200, grant.text) == json_response(200, grant.body)
        fields = grant.body["fields"]
        assert fields[policy.SECURITY_TOKEN] == current.security_token
        auth = {name: fields[name] for name in (policy.SIGNATURE_VERSION, policy.CREDENTIAL,
                                                policy.DATE, policy.SECURITY_TOKEN)}
        form = {name: value for name, value in fields.items()
                if name not in auth and name not in (policy.POLICY, policy.SIGNATURE)}
        expected = plain_policy(grant.body["expires_at"], settings_.bucket, auth, form, 42)
        assert base64.b64decode(fields[policy.POLICY]).decode() == expected
