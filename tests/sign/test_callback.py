"""Upload callback: grant fields, §10.3 verification (published vectors), POST /callback."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from uploadsign import callback, policy, sts
from uploadsign.callback_verify import (
    FAILURE_TTL_SECONDS,
    KEY_FILE_NAMES,
    CallbackVerifier,
    PublicKeyCache,
    key_url,
    signature_valid,
    string_to_sign,
)
from uploadsign.errors import CallbackRejected, FetchError
from uploadsign.factory import build_app
from werkzeug.test import Client

from tests.support.callback_vectors import DOC_PUBLIC_KEY, DOC_VECTOR, SECOND_VECTOR

from .keysupport import FileServer, b64, file_server, new_rsa_key, oss_sign, public_pem
from .support import BASE_ENV, FIXED_NOW, FakeClock, FakeFetcher

OFFICIAL_URL = "http://gosspublic.alicdn.com/callback_pub_key_v1.pem"
OFFICIAL = ("http://gosspublic.alicdn.com/", "https://gosspublic.alicdn.com/")
GOOD = {"filename": "cat.png", "size": 1234, "content_type": "image/png"}
ORIGIN = "https://app.example.com"


class RecordingFetch:
    """An injected fetcher that serves fixed bytes and records every URL asked for."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.urls: list[str] = []

    def __call__(self, url: str, timeout: float) -> bytes:
        self.urls.append(url)
        return self.body


def doc_key() -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(DOC_PUBLIC_KEY)
    assert isinstance(key, rsa.RSAPublicKey)
    return key


@pytest.mark.parametrize("vector", [DOC_VECTOR, SECOND_VECTOR], ids=["doc", "cloudreve"])
def test_published_callback_signatures_verify_against_the_published_key(
    vector: dict[str, Any],
) -> None:
    message = string_to_sign(vector["path"], vector["query"], vector["body"])
    assert signature_valid(doc_key(), message, vector["authorization"])


def test_doc_vector_sign_string_is_the_documented_one() -> None:
    assert string_to_sign("/index.php", "id=1&index=2", b"bucket=yonghu-test") == (
        b"/index.php?id=1&index=2\nbucket=yonghu-test"
    )


@pytest.mark.parametrize("vector", [DOC_VECTOR, SECOND_VECTOR], ids=["doc", "cloudreve"])
def test_published_vectors_pass_the_whole_procedure_with_the_official_prefixes(
    vector: dict[str, Any],
) -> None:
    fetch = RecordingFetch(DOC_PUBLIC_KEY)
    verifier = CallbackVerifier(OFFICIAL, PublicKeyCache(fetch))
    verifier.verify(
        path=vector["path"], query=vector["query"], body=vector["body"],
        authorization=vector["authorization"], pub_key_url=vector["pub_key_url"],
    )
    assert fetch.urls == [base64.b64decode(vector["pub_key_url"]).decode()]


TAMPERED = [
    pytest.param({"body": b"bucket=yonghu-tesT"}, id="body"),
    pytest.param({"path": "/index.php2"}, id="path"),
    pytest.param({"query": "id=2&index=2"}, id="query"),
    pytest.param({"query": ""}, id="query-dropped"),
    pytest.param({"authorization": "A" + DOC_VECTOR["authorization"][1:]}, id="signature"),
    pytest.param({"authorization": "not base64!"}, id="signature-not-base64"),
    pytest.param({"authorization": ""}, id="signature-missing"),
    pytest.param({"authorization": "QQ==" * 1000}, id="signature-huge"),
]


@pytest.mark.parametrize("change", TAMPERED)
def test_tampered_doc_vector_is_rejected(change: dict[str, Any]) -> None:
    vector = {**DOC_VECTOR, **change}
    verifier = CallbackVerifier(OFFICIAL, PublicKeyCache(RecordingFetch(DOC_PUBLIC_KEY)))
    with pytest.raises(CallbackRejected):
        verifier.verify(
            path=vector["path"], query=vector["query"], body=vector["body"],
            authorization=vector["authorization"], pub_key_url=vector["pub_key_url"],
        )


FOREIGN_KEY_URLS = [
    pytest.param(b64("http://gosspublic.alicdn.com.evil.example/key.pem"), id="suffix-host"),
    pytest.param(b64("https://evil.example/gosspublic.alicdn.com/key.pem"), id="other-host"),
    pytest.param(b64("http://gosspublic.alicdn.com@evil.example/key.pem"), id="userinfo"),
    pytest.param(b64("file:///etc/passwd"), id="file"),
    pytest.param(b64("http://169.254.169.254/latest/meta-data"), id="metadata"),
    pytest.param(b64("HTTP://GOSSPUBLIC.ALICDN.COM/key.pem"), id="upper-case"),
    pytest.param(b64("http://gosspublic.alicdn.com/key.pem"), id="other-file-name"),
    pytest.param(b64("http://gosspublic.alicdn.com/a/callback_pub_key_v1.pem"), id="subdirectory"),
    pytest.param(b64("http://gosspublic.alicdn.com/x/../callback_pub_key_v1.pem"),
                 id="dot-segment"),
    pytest.param(b64(OFFICIAL_URL + "?v=2"), id="query-after-the-name"),
    pytest.param(b64(OFFICIAL_URL + "#x"), id="fragment-after-the-name"),
    pytest.param(b64("http://gosspublic.alicdn.com/callback_pub_key_v2.pem"), id="unpublished-v2"),
    pytest.param(b64("http://gosspublic.alicdn.com/"), id="prefix-alone"),
    pytest.param(b64(OFFICIAL_URL + "\x01"), id="control-character"),
    pytest.param(b64(OFFICIAL_URL + "\r\nHost: evil"), id="crlf"),
    pytest.param(b64(OFFICIAL_URL + "\x7f"), id="del"),
    pytest.param(b64(OFFICIAL_URL + " "), id="trailing-space"),
    pytest.param(b64("http://gosspublic.alicdn.com/\tcallback_pub_key_v1.pem"), id="tab"),
    pytest.param(DOC_VECTOR["pub_key_url"].rstrip("="), id="no-padding"),
    pytest.param("%%%", id="not-base64"),
    pytest.param("", id="empty"),
    pytest.param(None, id="missing"),
]


@pytest.mark.parametrize("header", FOREIGN_KEY_URLS)
def test_key_url_outside_the_prefixes_is_refused_before_any_fetch(header: str | None) -> None:
    fetch = RecordingFetch(DOC_PUBLIC_KEY)
    verifier = CallbackVerifier(OFFICIAL, PublicKeyCache(fetch))
    with pytest.raises(CallbackRejected):
        verifier.verify(path="/index.php", query="id=1&index=2", body=b"bucket=yonghu-test",
                        authorization=DOC_VECTOR["authorization"], pub_key_url=header)
    assert fetch.urls == []


def test_official_prefixes_accept_both_schemes() -> None:
    assert key_url(b64(OFFICIAL_URL), OFFICIAL) == OFFICIAL_URL
    https = OFFICIAL_URL.replace("http:", "https:")
    assert key_url(b64(https), OFFICIAL) == https


def test_only_the_key_file_names_oss_publishes_are_accepted() -> None:
    assert KEY_FILE_NAMES == ("callback_pub_key_v1.pem",)  # oss-postobject.md §10.3
    for prefix in OFFICIAL:
        for name in KEY_FILE_NAMES:
            assert key_url(b64(prefix + name), OFFICIAL) == prefix + name


def test_public_key_is_fetched_once_per_url() -> None:
    fetch = RecordingFetch(DOC_PUBLIC_KEY)
    cache = PublicKeyCache(fetch)
    for _ in range(3):
        cache.get(OFFICIAL_URL)
    assert fetch.urls == [OFFICIAL_URL]


OFFICIAL_HTTPS_URL = OFFICIAL_URL.replace("http:", "https:")


class Monotonic:
    """An injected monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedFetch:
    """An injected fetcher: per URL a body, a ``FetchError`` or a gate to wait on."""

    def __init__(self, body: bytes = DOC_PUBLIC_KEY) -> None:
        self.body = body
        self.failing: set[str] = set()
        self.gates: dict[str, threading.Event] = {}
        self.started: dict[str, threading.Event] = {}
        self.urls: list[str] = []
        self._lock = threading.Lock()

    def gate(self, url: str) -> threading.Event:
        self.started[url] = threading.Event()
        self.gates[url] = threading.Event()
        return self.gates[url]

    def __call__(self, url: str, timeout: float) -> bytes:
        with self._lock:
            self.urls.append(url)
        if url in self.gates:
            self.started[url].set()
            assert self.gates[url].wait(10), "the test never opened the gate"
        if url in self.failing:
            raise FetchError("HTTP 503")
        return self.body


@pytest.mark.parametrize("served", [None, b"not a pem"], ids=["fetch-fails", "garbage-key"])
def test_a_failed_key_load_is_not_retried_for_30_seconds(served: bytes | None) -> None:
    clock = Monotonic()
    fetch = ScriptedFetch(served or b"")
    if served is None:
        fetch.failing.add(OFFICIAL_URL)
    cache = PublicKeyCache(fetch, monotonic=clock)
    for _ in range(5):
        with pytest.raises(CallbackRejected):
            cache.get(OFFICIAL_URL)
    clock.now += FAILURE_TTL_SECONDS - 0.1
    with pytest.raises(CallbackRejected):
        cache.get(OFFICIAL_URL)
    assert fetch.urls == [OFFICIAL_URL]
    clock.now += 0.1
    fetch.failing.clear()
    fetch.body = DOC_PUBLIC_KEY
    assert cache.get(OFFICIAL_URL).public_numbers() == doc_key().public_numbers()
    assert fetch.urls == [OFFICIAL_URL, OFFICIAL_URL]


def test_a_failure_of_one_url_does_not_refuse_another() -> None:
    fetch = ScriptedFetch()
    fetch.failing.add(OFFICIAL_URL)
    cache = PublicKeyCache(fetch, monotonic=Monotonic())
    with pytest.raises(CallbackRejected):
        cache.get(OFFICIAL_URL)
    cache.get(OFFICIAL_HTTPS_URL)
    assert fetch.urls == [OFFICIAL_URL, OFFICIAL_HTTPS_URL]


@pytest.mark.parametrize("fails", [False, True], ids=["succeeds", "fails"])
def test_concurrent_requests_for_one_url_share_a_single_fetch(fails: bool) -> None:
    fetch = ScriptedFetch()
    gate = fetch.gate(OFFICIAL_URL)
    if fails:
        fetch.failing.add(OFFICIAL_URL)
    cache = PublicKeyCache(fetch, monotonic=Monotonic())
    with ThreadPoolExecutor(max_workers=8) as pool:
        first = pool.submit(cache.get, OFFICIAL_URL)
        assert fetch.started[OFFICIAL_URL].wait(5)
        waiting = [pool.submit(cache.get, OFFICIAL_URL) for _ in range(7)]
        gate.set()
        outcomes = [f.exception(10) is None for f in [first, *waiting]]
    assert outcomes == [not fails] * 8
    assert fetch.urls == [OFFICIAL_URL]


def test_a_slow_fetch_blocks_neither_cached_keys_nor_another_url() -> None:
    fetch = ScriptedFetch()
    cache = PublicKeyCache(fetch, monotonic=Monotonic())
    cache.get(OFFICIAL_HTTPS_URL)
    slow_url = "http://127.0.0.1:1/callback_pub_key_v1.pem"
    gate = fetch.gate(slow_url)
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(cache.get, slow_url)
        assert fetch.started[slow_url].wait(5)
        # Both answered while the slow fetch still holds its gate: no lock is held across it.
        assert pool.submit(cache.get, OFFICIAL_HTTPS_URL).result(5)
        assert pool.submit(cache.get, OFFICIAL_URL).result(5)
        gate.set()
        assert slow.result(5)


def test_fetches_beyond_the_bound_are_refused_not_queued() -> None:
    fetch = ScriptedFetch()
    cache = PublicKeyCache(fetch, monotonic=Monotonic(), max_fetches=1)
    gate = fetch.gate(OFFICIAL_URL)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(cache.get, OFFICIAL_URL)
        assert fetch.started[OFFICIAL_URL].wait(5)
        with pytest.raises(CallbackRejected):
            cache.get(OFFICIAL_HTTPS_URL)
        gate.set()
        assert first.result(5)
    assert fetch.urls == [OFFICIAL_URL]
    cache.get(OFFICIAL_HTTPS_URL)  # the refusal was not remembered as a failure
    assert fetch.urls == [OFFICIAL_URL, OFFICIAL_HTTPS_URL]


@pytest.mark.parametrize("served", [b"not a pem", b""], ids=["garbage", "empty"])
def test_unloadable_public_key_is_a_rejection(served: bytes) -> None:
    with pytest.raises(CallbackRejected):
        PublicKeyCache(RecordingFetch(served)).get(OFFICIAL_URL)


def test_slow_key_server_times_out_into_a_rejection() -> None:
    with file_server() as served:
        served.files["/key.pem"] = public_pem(new_rsa_key())
        served.delay = 1.0
        with pytest.raises(CallbackRejected):
            PublicKeyCache(sts.fetch, timeout=0.2).get(served.url + "/key.pem")


@pytest.mark.parametrize("path", ["/missing.pem", "/moved.pem"])
def test_fetcher_refuses_redirects_and_errors(path: str) -> None:
    with file_server() as served:
        served.files["/key.pem"] = b"key"
        served.redirects["/moved.pem"] = served.url + "/key.pem"
        with pytest.raises(FetchError):
            sts.fetch(served.url + path, 2.0)
        assert served.hits.get("/key.pem", 0) == 0
        assert sts.fetch(served.url + "/key.pem", 2.0) == b"key"


# Each fails inside urllib or http.client before anything is sent (or on loopback port 1).
UNFETCHABLE_URLS = [
    pytest.param("http://127.0.0.1:1/\x01", id="control-in-path"),
    pytest.param("http://127.0.0.1:1/\r\nHost: evil", id="crlf-in-path"),
    pytest.param("http://127.0.0.1:1/\x7f", id="del-in-path"),
    pytest.param("http://127.0.0.1:1/a b", id="space-in-path"),
    pytest.param("http://127.0.0.\x001:1/", id="nul-in-host"),
    pytest.param("http://127.0.0.1:abc/", id="port-not-a-number"),
    pytest.param("http://[::1/", id="unclosed-ipv6-bracket"),
    pytest.param("http://127.0.0.1:1/\u00e4", id="non-ascii-path"),
    pytest.param("http:///x", id="no-host"),
    pytest.param("http://127.0.0.1:1/", id="connection-refused"),
    pytest.param("file:///etc/passwd", id="not-http"),
]


@pytest.mark.parametrize("url", UNFETCHABLE_URLS)
def test_fetcher_turns_every_bad_url_into_a_fetch_error(url: str) -> None:
    with pytest.raises(FetchError):
        sts.fetch(url, 2.0)


# --- through the app ---------------------------------------------------------------------

CALLBACK_URL = "https://fn.example.com/callback"
#: Where the test key server publishes its key: OSS's file name, under the allowed prefix.
KEY_PATH = "/" + KEY_FILE_NAMES[0]


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture
def key_server(key: rsa.RSAPrivateKey) -> Iterator[FileServer]:
    with file_server() as served:
        served.files[KEY_PATH] = public_pem(key)
        yield served


GRANT_SECRET = "fake-grant-secret-for-tests-only-0123456789"
OLD_GRANT_SECRET = "fake-old-grant-secret-for-tests-only-987654"
GRANT_EXPIRES = int(FIXED_NOW.timestamp()) + 600
GRANTED = callback.GrantClaims(
    grant_id="0a1b2c3d4e5f60718293a4b5", bucket="example-bucket",
    key="uploads/2024/05/01/ab.png", size=1234, media_type="image/png", expires=GRANT_EXPIRES,
)


@pytest.fixture(autouse=True)
def _grant_secrets_never_logged(logged_secrets: set[str]) -> None:
    logged_secrets.update({GRANT_SECRET, OLD_GRANT_SECRET})


@pytest.fixture
def client(clock: FakeClock, fetcher: FakeFetcher, key_server: FileServer) -> Client:
    env = {
        **BASE_ENV,
        "UPLOAD_CALLBACK_URL": CALLBACK_URL,
        "CALLBACK_PUBKEY_URL_PREFIXES": key_server.url + "/",
        "GRANT_SECRET": f"{GRANT_SECRET},{OLD_GRANT_SECRET}",
    }
    return Client(build_app(env, fetcher_factory=lambda s: fetcher, clock=clock))


def token(claims: callback.GrantClaims = GRANTED, secret: str = GRANT_SECRET) -> str:
    return callback.mint_token(secret.encode(), claims)


def callback_body(**overrides: Any) -> bytes:
    """What OSS sends for the object ``GRANTED`` names, with its grant token."""
    document = {
        "bucket": GRANTED.bucket, "object": GRANTED.key,
        "etag": "D8E8FCA2DC0F896FD7CB4CB0031BA249", "size": str(GRANTED.size),
        "mimeType": GRANTED.media_type, "grant_id": GRANTED.grant_id, "grant_token": token(),
        **overrides,
    }
    return json.dumps(document).encode()


def post_callback(
    client: Client, key: rsa.RSAPrivateKey, served: FileServer, body: bytes,
    *, path: str = "/callback", signed_path: str | None = None, signed_body: bytes | None = None,
    key_url_header: str | None = None,
) -> Any:
    signature = oss_sign(key, signed_path or path, "", body if signed_body is None else signed_body)
    headers = {
        "authorization": signature,
        "x-oss-pub-key-url": key_url_header or b64(served.url + KEY_PATH),
        "Content-Type": "application/json",
    }
    return client.post(path, data=body, headers=headers)


def test_grant_carries_the_callback_grant_id_and_grant_token_all_pinned(client: Client) -> None:
    grant = client.post("/uploads", json=GOOD, headers={"Origin": ORIGIN}).get_json()
    fields = grant["fields"]
    assert fields["x:grant-id"] == grant["grant_id"]
    assert json.loads(base64.b64decode(fields["callback"])) == {
        "callbackUrl": CALLBACK_URL,
        "callbackBody": '{"bucket":${bucket},"object":${object},"etag":${etag},'
        '"size":${size},"mimeType":${mimeType},"grant_id":${x:grant-id},'
        '"grant_token":${x:grant-token}}',
        "callbackBodyType": "application/json",
    }
    conditions = policy.decode(fields["policy"])["conditions"]
    assert isinstance(conditions, list)
    assert ["eq", "$callback", fields["callback"]] in conditions
    assert ["eq", "$x:grant-id", grant["grant_id"]] in conditions
    assert ["eq", "$x:grant-token", fields["x:grant-token"]] in conditions


def test_grant_token_binds_grant_id_bucket_key_size_type_and_expiry(client: Client) -> None:
    grant = client.post("/uploads", json=GOOD, headers={"Origin": ORIGIN}).get_json()
    expires = callback.token_expiry(grant["fields"]["x:grant-token"])
    assert expires == int(FIXED_NOW.timestamp()) + 600
    claims = callback.GrantClaims(
        grant_id=grant["grant_id"], bucket="example-bucket", key=grant["key"], size=1234,
        media_type="image/png", expires=expires,
    )
    assert grant["fields"]["x:grant-token"] == token(claims)


def test_callback_url_without_grant_secret_is_a_configuration_error() -> None:
    from uploadsign.config import Settings
    from uploadsign.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="GRANT_SECRET is required"):
        Settings.from_env({**BASE_ENV, "UPLOAD_CALLBACK_URL": CALLBACK_URL})


def test_no_callback_fields_without_a_callback_url(clock: FakeClock, fetcher: FakeFetcher) -> None:
    app = build_app(BASE_ENV, fetcher_factory=lambda s: fetcher, clock=clock)
    grant = Client(app).post("/uploads", json=GOOD, headers={"Origin": ORIGIN}).get_json()
    assert not {"callback", "x:grant-id", "x:grant-token"} & set(grant["fields"])
    assert len(grant["grant_id"]) == 24


def test_signed_callback_is_answered_with_the_upload_summary_and_logged(
    client: Client, key: rsa.RSAPrivateKey, key_server: FileServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    response = post_callback(client, key, key_server, callback_body())
    assert response.status_code == 200
    assert response.get_json() == {
        "ok": True, "bucket": "example-bucket", "key": "uploads/2024/05/01/ab.png",
        "size": 1234, "etag": "D8E8FCA2DC0F896FD7CB4CB0031BA249", "mime_type": "image/png",
        "grant_id": "0a1b2c3d4e5f60718293a4b5",
    }
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "uploadsign.events"]
    assert [(e["event"], e["grant_id"], e["duplicate"]) for e in events] == [
        ("upload.completed", "0a1b2c3d4e5f60718293a4b5", False)
    ]


def test_same_object_reported_twice_gets_the_same_answer(
    client: Client, key: rsa.RSAPrivateKey, key_server: FileServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    first = post_callback(client, key, key_server, callback_body())
    second = post_callback(client, key, key_server, callback_body())
    assert (first.status_code, first.data) == (second.status_code, second.data)
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "uploadsign.events"]
    assert [e["duplicate"] for e in events] == [False, True]
    assert key_server.hits == {KEY_PATH: 1}


@pytest.mark.parametrize("size", ["1234", 1234], ids=["string", "number"])
def test_size_is_accepted_as_string_or_number(
    client: Client, key: rsa.RSAPrivateKey, key_server: FileServer, size: object
) -> None:
    response = post_callback(client, key, key_server, callback_body(size=size))
    assert response.get_json()["size"] == 1234


def test_callback_tampering_is_403(
    client: Client, key: rsa.RSAPrivateKey, key_server: FileServer
) -> None:
    body = callback_body()
    other_key = new_rsa_key()  # a valid RSA signature, but not by the published key
    cases = [
        post_callback(client, key, key_server, body, signed_body=callback_body(size="1")),
        post_callback(client, key, key_server, body, signed_path="/other"),
        post_callback(client, other_key, key_server, body),
        post_callback(client, key, key_server, body,
                      key_url_header=b64("https://gosspublic.alicdn.com.evil/pub.pem")),
        client.post("/callback", data=body, headers={"Content-Type": "application/json"}),
    ]
    for response in cases:
        assert response.status_code == 403
        assert response.get_json() == {
            "error": {
                "code": "callback_rejected",
                "message": "callback signature could not be verified",
            }
        }


UNBOUND = {
    "error": {
        "code": "callback_rejected",
        "message": "callback does not match an upload grant of this function",
    }
}
FORGED_COMPLETIONS = [
    pytest.param({"grant_token": None}, id="no-token"),
    pytest.param({"grant_id": None}, id="no-grant-id"),
    pytest.param({"grant_token": "v1.1714565400.AAAA"}, id="made-up-token"),
    pytest.param({"grant_token": "not-a-token"}, id="malformed-token"),
    pytest.param({"object": "uploads/2024/05/01/other.png"}, id="other-key"),
    pytest.param({"size": "1235"}, id="other-size"),
    pytest.param({"mimeType": "text/html"}, id="other-type"),
    pytest.param({"grant_id": "ffffffffffffffffffffffff"}, id="other-grant-id"),
    pytest.param({"grant_token": token(secret="fake-foreign-secret-for-tests-0123456789")},
                 id="foreign-secret"),
    pytest.param({"grant_token": token().replace(str(GRANT_EXPIRES), str(GRANT_EXPIRES + 86400))},
                 id="extended-expiry"),
]


@pytest.mark.parametrize("change", FORGED_COMPLETIONS)
def test_oss_signed_callback_not_bound_to_a_grant_is_refused(
    client: Client, key: rsa.RSAPrivateKey, key_server: FileServer,
    caplog: pytest.LogCaptureFixture, change: dict[str, Any],
) -> None:
    caplog.set_level(logging.INFO)
    response = post_callback(client, key, key_server, callback_body(**change))
    assert (response.status_code, response.get_json()) == (403, UNBOUND)
    assert not [r for r in caplog.records if r.name == "uploadsign.events"]


def test_token_under_a_rotated_out_but_listed_secret_still_verifies(
    client: Client, key: rsa.RSAPrivateKey, key_server: FileServer
) -> None:
    body = callback_body(grant_token=token(secret=OLD_GRANT_SECRET))
    assert post_callback(client, key, key_server, body).status_code == 200


def test_completion_long_after_the_grant_expired_is_refused(
    client: Client, clock: FakeClock, key: rsa.RSAPrivateKey, key_server: FileServer
) -> None:
    clock.advance(600 + 24 * 3600 - 1)
    assert post_callback(client, key, key_server, callback_body()).status_code == 200
    clock.advance(2)
    response = post_callback(client, key, key_server, callback_body())
    assert (response.status_code, response.get_json()) == (403, UNBOUND)


def test_without_grant_secret_every_callback_is_refused(
    clock: FakeClock, fetcher: FakeFetcher, key: rsa.RSAPrivateKey, key_server: FileServer
) -> None:
    env = {**BASE_ENV, "CALLBACK_PUBKEY_URL_PREFIXES": key_server.url + "/"}
    app = Client(build_app(env, fetcher_factory=lambda s: fetcher, clock=clock))
    response = post_callback(app, key, key_server, callback_body())
    assert (response.status_code, response.get_json()) == (403, UNBOUND)


BAD_SIGNED_BODIES = [
    pytest.param(b"not json", 400, id="not-json"),
    pytest.param(b"[]", 400, id="array"),
    pytest.param(callback_body(size="-1"), 400, id="negative-size"),
    pytest.param(callback_body(size=True), 400, id="bool-size"),
    pytest.param(callback_body(bucket="other-bucket"), 422, id="foreign-bucket"),
    pytest.param(callback_body(object=""), 422, id="no-object"),
    pytest.param(callback_body(grant_id="../x"), 422, id="bad-grant-id"),
    pytest.param(callback_body(etag=7), 400, id="etag-number"),
]


@pytest.mark.parametrize(("body", "status"), BAD_SIGNED_BODIES)
def test_signed_but_malformed_callback_bodies_are_clear_4xx(
    client: Client, key: rsa.RSAPrivateKey, key_server: FileServer, body: bytes, status: int
) -> None:
    response = post_callback(client, key, key_server, body)
    assert response.status_code == status
    assert set(response.get_json()["error"]) == {"code", "message"}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/\x01" + KEY_PATH[1:], id="control-character"),
        pytest.param(KEY_PATH + "\r\nHost: evil", id="crlf"),
        pytest.param(KEY_PATH + "\x7f", id="del"),
        pytest.param("/a%20b" + KEY_PATH, id="encoded-space"),
        pytest.param("/other" + KEY_PATH, id="other-path"),
        pytest.param("/pub.pem", id="other-file-name"),
    ],
)
def test_key_url_that_is_not_the_published_file_is_403_without_a_fetch(
    client: Client, key: rsa.RSAPrivateKey, key_server: FileServer, path: str
) -> None:
    key_server.files["/pub.pem"] = key_server.files[KEY_PATH]
    response = post_callback(client, key, key_server, callback_body(),
                             key_url_header=b64(key_server.url + path))
    assert (response.status_code, response.get_json()["error"]["code"]) == (
        403, "callback_rejected")
    assert key_server.hits == {}


def test_callback_route_only_takes_post(client: Client) -> None:
    response = client.get("/callback")
    assert (response.status_code, response.headers["Allow"]) == (405, "POST")


def test_callback_through_an_fc_event_signs_the_decoded_path(
    client: Client, key: rsa.RSAPrivateKey, key_server: FileServer
) -> None:
    import index as fc

    body = callback_body()
    event = {
        "version": "v1",
        "rawPath": "/callback",
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
        "headers": {
            "Content-Type": "application/json",
            "authorization": oss_sign(key, "/callback", "", body),
            "x-oss-pub-key-url": b64(key_server.url + KEY_PATH),
            "x-fc-request-id": "1-fake-callback",
        },
        "queryParameters": {},
        "requestContext": {"http": {"method": "POST", "path": "/callback",
                                    "sourceIp": "100.64.0.1"}},
    }
    response = fc.handle_event(client.application, event)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["grant_id"] == "0a1b2c3d4e5f60718293a4b5"
