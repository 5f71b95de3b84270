"""End to end on loopback: the app under a real WSGI server, STS the local cloud's stub.

No ``responses`` here: the real SDK builds, signs and sends its HTTP request over a
socket, so the whole path (config → SDK → cache → signer → HTTP) is exercised.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from uploadsign import policy
from uploadsign.factory import build_app

from tests.support.liveserver import LiveServers
from tests.support.loopback import LoopbackSts, loopback_sts

from .support import BASE_ENV, ROLE_ARN


@pytest.fixture
def sts() -> Iterator[LoopbackSts]:
    with loopback_sts(role_arn=ROLE_ARN, bucket="example-bucket") as running:
        yield running


@pytest.fixture
def app_url(sts: LoopbackSts, live_server: LiveServers) -> str:
    env = {
        **BASE_ENV,
        "STS_ENDPOINT": sts.url,
        "OSS_HOST": "http://127.0.0.1:1/example-bucket",
        "STS_TIMEOUT_SECONDS": "5",
        "UPLOAD_SAMPLE_ROUTE": "on",
    }
    return live_server.wsgi(build_app(env)).url


def test_grants_over_real_http_with_one_assume_role_call(
    app_url: str, sts: LoopbackSts, logged_secrets: set[str]
) -> None:
    with requests.Session() as session:
        grants = [
            session.post(
                f"{app_url}/uploads",
                json={"filename": f"f{i}.txt", "size": 10 + i, "content_type": "text/plain"},
                headers={"Origin": "https://app.example.com"},
                timeout=30,
            )
            for i in range(5)
        ]
        sample = session.get(
            f"{app_url}/get_post_signature_for_oss_upload",
            headers={"Origin": "https://app.example.com"},
            timeout=30,
        )
    assert [g.status_code for g in grants] == [200] * 5
    assert sample.status_code == 200
    logged_secrets.update(sts.issued_secrets())
    assert (sts.stub.assume_role_calls, sts.stub.issued) == (1, 1)
    fields = grants[0].json()["fields"]
    issued = sts.issued(fields["x-oss-credential"].split("/", 1)[0])
    assert issued.arn.startswith(f"{ROLE_ARN}/")  # the role the function was configured with
    assert fields["x-oss-security-token"] == issued.security_token
    date = fields["x-oss-date"][:8]
    key = policy.signing_key(issued.access_key_secret, date, "cn-hangzhou")
    assert policy.sign(key, fields["policy"]) == fields["x-oss-signature"]
    assert policy.decode(fields["policy"])["conditions"][0] == {"bucket": "example-bucket"}
    assert grants[0].json()["url"] == "http://127.0.0.1:1/example-bucket"
