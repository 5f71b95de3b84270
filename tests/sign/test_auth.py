"""Caller authentication: anonymous-by-origin, HS256 and JWKS (RS256/ES256) tokens, user keys."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from uploadsign import objectkeys, policy, sts
from uploadsign.auth import OriginAuthenticator, RequestFacts
from uploadsign.config import Settings
from uploadsign.errors import ConfigurationError, OriginNotAllowed, Unauthorized
from uploadsign.factory import build_app
from uploadsign.jwtauth import JwksCache, JwtAuthenticator
from werkzeug.test import Client

from .keysupport import FileServer, file_server
from .support import BASE_ENV, FIXED_NOW, FakeClock, FakeFetcher

SECRET = "FAKE-HS256-SECRET-for-tests-only-0123456789"
ORIGIN = "https://app.example.com"
GOOD = {"filename": "cat.png", "size": 1234, "content_type": "image/png"}
JWT_ENV = {
    **BASE_ENV,
    "AUTH_MODE": "jwt",
    "AUTH_JWT_SECRET": SECRET,
    "AUTH_ISSUER": "https://id.example.com/",
    "AUTH_AUDIENCE": "oss-upload",
    "OSS_KEY_TEMPLATE": "{dir}{sub}/{date}/{id}{ext}",
}


class Monotonic:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def claims(now: datetime = FIXED_NOW, **overrides: Any) -> dict[str, Any]:
    base = {
        "sub": "alice", "iss": "https://id.example.com/", "aud": "oss-upload",
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "nbf": int((now - timedelta(minutes=1)).timestamp()),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def hs_token(**overrides: Any) -> str:
    return jwt.encode(claims(**overrides), SECRET, algorithm="HS256")


@pytest.fixture(autouse=True)
def _secret_never_logged(logged_secrets: set[str]) -> None:
    logged_secrets.add(SECRET)


@pytest.fixture
def jwt_client(clock: FakeClock, fetcher: FakeFetcher) -> Client:
    return Client(build_app(JWT_ENV, fetcher_factory=lambda s: fetcher, clock=clock))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Origin": ORIGIN}


# --- anonymous mode -----------------------------------------------------------------------

ORIGIN_CASES = [
    pytest.param(ORIGIN, (ORIGIN,), True, id="allowed"),
    pytest.param("https://evil.example", (ORIGIN,), False, id="foreign"),
    pytest.param(None, (ORIGIN,), False, id="no-origin"),
    pytest.param("", (ORIGIN,), False, id="empty-origin"),
    pytest.param("https://any.example", ("*",), True, id="wildcard"),
    pytest.param(None, ("*",), False, id="wildcard-still-needs-origin"),
    pytest.param(ORIGIN, (), False, id="nothing-allowed"),
    pytest.param("null", (ORIGIN,), False, id="opaque-origin"),
]


@pytest.mark.parametrize(("origin", "allowed", "admitted"), ORIGIN_CASES)
def test_anonymous_mode_admits_only_allowed_origins(
    origin: str | None, allowed: tuple[str, ...], admitted: bool
) -> None:
    facts = RequestFacts(authorization=None, origin=origin, remote_addr="203.0.113.7")
    auth = OriginAuthenticator(allowed)
    if admitted:
        caller = auth.authenticate(facts, FIXED_NOW)
        assert (caller.subject, caller.identity) == (None, "ip:203.0.113.7")
    else:
        with pytest.raises(OriginNotAllowed):
            auth.authenticate(facts, FIXED_NOW)


def test_anonymous_request_without_origin_is_403_with_cors_free_json(
    clock: FakeClock, fetcher: FakeFetcher
) -> None:
    client = Client(build_app(BASE_ENV, fetcher_factory=lambda s: fetcher, clock=clock))
    response = client.post("/uploads", json={"filename": "a.png", "size": 1,
                                             "content_type": "image/png"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "origin_not_allowed"
    assert fetcher.calls == 0


def test_fc_start_up_warns_about_anonymous_mode(
    clock: FakeClock, fetcher: FakeFetcher, caplog: pytest.LogCaptureFixture
) -> None:
    build_app({**BASE_ENV, "FC_FUNCTION_NAME": "sign"}, fetcher_factory=lambda s: fetcher)
    build_app({**JWT_ENV, "FC_FUNCTION_NAME": "sign"}, fetcher_factory=lambda s: fetcher)
    build_app(BASE_ENV, fetcher_factory=lambda s: fetcher)
    warnings = [r for r in caplog.records if "AUTH_MODE=none" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"


# --- jwt mode, HS256 ------------------------------------------------------------------------

def test_valid_token_gets_a_grant_under_its_own_prefix_pinned_in_the_policy(
    jwt_client: Client, logged_secrets: set[str]
) -> None:
    token = hs_token()
    logged_secrets.add(token)
    response = jwt_client.post("/uploads", json=GOOD, headers=bearer(token))
    assert response.status_code == 200
    grant = response.get_json()
    assert grant["key"].startswith("uploads/alice/2024/05/01/")
    conditions = policy.decode(grant["fields"]["policy"])["conditions"]
    assert isinstance(conditions, list)
    assert ["eq", "$key", grant["key"]] in conditions


def test_sample_route_dir_is_a_fresh_directory_in_the_callers_folder(
    clock: FakeClock, fetcher: FakeFetcher
) -> None:
    env = {**JWT_ENV, "UPLOAD_SAMPLE_ROUTE": "on"}
    client = Client(build_app(env, fetcher_factory=lambda s: fetcher, clock=clock))
    grant = client.get(
        "/get_post_signature_for_oss_upload", headers=bearer(hs_token(sub="bob"))
    ).get_json()
    grant_id = grant["grant_id"]
    assert re.fullmatch(r"[0-9a-f]{24}", grant_id)
    assert grant["dir"] == f"uploads/bob/{grant_id}/"
    conditions = policy.decode(grant["policy"])["conditions"]
    assert isinstance(conditions, list)
    assert ["starts-with", "$key", f"uploads/bob/{grant_id}/"] in conditions


def test_missing_token_is_401_with_a_bare_bearer_challenge(jwt_client: Client) -> None:
    response = jwt_client.post("/uploads", json=GOOD, headers={"Origin": ORIGIN})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="oss-direct-upload"'
    assert response.get_json()["error"]["code"] == "unauthorized"
    # The page can read the challenge cross-origin.
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]


def other_key_token() -> str:
    return jwt.encode(claims(), "FAKE-other-secret-also-32-bytes-long!!", algorithm="HS256")


def rs_token() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims(), key, algorithm="RS256")


def none_token() -> str:
    # PyJWT types the key as required; the "none" algorithm takes None at run time.
    return jwt.encode(claims(), None, algorithm="none")  # type: ignore[arg-type]


BAD_TOKENS = [
    pytest.param(lambda: hs_token(exp=int((FIXED_NOW - timedelta(seconds=31)).timestamp())),
                 id="expired-beyond-leeway"),
    pytest.param(lambda: hs_token(nbf=int((FIXED_NOW + timedelta(seconds=31)).timestamp())),
                 id="not-yet-valid"),
    pytest.param(lambda: hs_token(iss="https://evil.example/"), id="wrong-issuer"),
    pytest.param(lambda: hs_token(aud="someone-else"), id="wrong-audience"),
    pytest.param(lambda: hs_token(aud=None), id="no-audience"),
    pytest.param(lambda: hs_token(iss=None), id="no-issuer"),
    pytest.param(lambda: hs_token(sub=None), id="no-subject"),
    pytest.param(lambda: hs_token(sub=""), id="empty-subject"),
    pytest.param(lambda: hs_token(exp=None), id="no-expiry"),
    pytest.param(lambda: hs_token(exp="tomorrow"), id="expiry-not-a-number"),
    pytest.param(other_key_token, id="other-secret"),
    pytest.param(rs_token, id="rs256-in-hs-mode"),
    pytest.param(none_token, id="alg-none"),
    pytest.param(lambda: hs_token()[:-4] + "AAAA", id="signature-tampered"),
    pytest.param(lambda: "not.a.jwt", id="garbage"),
    pytest.param(lambda: "x" * 9000, id="huge"),
]


@pytest.mark.parametrize("make_token", BAD_TOKENS)
def test_bad_tokens_are_401_invalid_token(
    jwt_client: Client, make_token: Any, logged_secrets: set[str], fetcher: FakeFetcher
) -> None:
    token = make_token()
    logged_secrets.add(token)
    response = jwt_client.post("/uploads", json=GOOD, headers=bearer(token))
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="oss-direct-upload", error="invalid_token"')
    assert token not in response.get_data(as_text=True)
    assert fetcher.calls == 0


@pytest.mark.parametrize("header", ["Basic YWxpY2U6cHc=", "Bearer", "Bearer    ", "token abc"])
def test_malformed_authorization_headers_are_401(jwt_client: Client, header: str) -> None:
    response = jwt_client.post("/uploads", json=GOOD, headers={"Authorization": header})
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


def test_expiry_within_the_leeway_is_accepted() -> None:
    auth = JwtAuthenticator(secret=SECRET, leeway_seconds=30)
    token = hs_token(exp=int((FIXED_NOW - timedelta(seconds=29)).timestamp()))
    facts = RequestFacts(authorization=f"Bearer {token}", origin=None, remote_addr="")
    assert auth.authenticate(facts, FIXED_NOW).subject == "alice"


@pytest.mark.parametrize("path", ["/uploads", "/get_post_signature_for_oss_upload"])
def test_preflight_never_needs_a_token(clock: FakeClock, fetcher: FakeFetcher, path: str) -> None:
    env = {**JWT_ENV, "UPLOAD_SAMPLE_ROUTE": "on"}
    jwt_client = Client(build_app(env, fetcher_factory=lambda s: fetcher, clock=clock))
    response = jwt_client.options(path, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    })
    assert response.status_code == 204
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


def test_healthz_needs_no_token(jwt_client: Client) -> None:
    assert jwt_client.get("/healthz").get_json()["auth_mode"] == "jwt"


# --- jwt mode, JWKS -------------------------------------------------------------------------

def jwk_of(key: Any, kid: str, alg: str) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    document = json.loads(algorithm.to_jwk(key.public_key()))
    return {**document, "kid": kid, "alg": alg, "use": "sig"}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def jwks_server(rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
                ) -> Iterator[FileServer]:
    with file_server() as served:
        served.files["/jwks.json"] = json.dumps(
            {"keys": [jwk_of(rsa_key, "rsa-1", "RS256"), jwk_of(ec_key, "ec-1", "ES256")]}
        ).encode()
        yield served


def jwks_auth(served: FileServer, monotonic: Monotonic) -> JwtAuthenticator:
    cache = JwksCache(served.url + "/jwks.json", sts.fetch, monotonic, timeout=2.0)
    return JwtAuthenticator(jwks=cache, issuer="https://id.example.com/", audience="oss-upload")


def facts_for(token: str) -> RequestFacts:
    return RequestFacts(authorization=f"Bearer {token}", origin=None, remote_addr="")


@pytest.mark.parametrize(("kid", "alg"), [("rsa-1", "RS256"), ("ec-1", "ES256")])
def test_jwks_tokens_verify_and_keys_are_fetched_once(
    jwks_server: FileServer, rsa_key: Any, ec_key: Any, kid: str, alg: str
) -> None:
    auth = jwks_auth(jwks_server, Monotonic())
    key = rsa_key if alg == "RS256" else ec_key
    token = jwt.encode(claims(sub="carol"), key, algorithm=alg, headers={"kid": kid})
    for _ in range(3):
        assert auth.authenticate(facts_for(token), FIXED_NOW).subject == "carol"
    assert jwks_server.hits == {"/jwks.json": 1}


def test_unknown_kid_refreshes_the_jwks_but_at_most_once_per_interval(
    jwks_server: FileServer, rsa_key: Any
) -> None:
    monotonic = Monotonic()
    auth = jwks_auth(jwks_server, monotonic)
    good = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    auth.authenticate(facts_for(good), FIXED_NOW)
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new = jwt.encode(claims(sub="dave"), rotated, algorithm="RS256", headers={"kid": "rsa-2"})
    jwks_server.files["/jwks.json"] = json.dumps(
        {"keys": [jwk_of(rsa_key, "rsa-1", "RS256"), jwk_of(rotated, "rsa-2", "RS256")]}
    ).encode()
    for made_up in ("x1", "x2", "x3"):  # a flood of made-up kids right after a fetch
        forged = jwt.encode(claims(), rotated, algorithm="RS256", headers={"kid": made_up})
        with pytest.raises(Unauthorized):
            auth.authenticate(facts_for(forged), FIXED_NOW)
    assert jwks_server.hits == {"/jwks.json": 1}
    monotonic.now += 31
    assert auth.authenticate(facts_for(new), FIXED_NOW).subject == "dave"
    assert jwks_server.hits == {"/jwks.json": 2}


def test_unreachable_jwks_is_401_not_500(clock: FakeClock, fetcher: FakeFetcher) -> None:
    env = {**JWT_ENV, "AUTH_JWT_SECRET": "", "AUTH_JWKS_URL": "http://127.0.0.1:9/jwks.json"}
    client = Client(build_app(env, fetcher_factory=lambda s: fetcher, clock=clock))
    token = jwt.encode(claims(), "unused-FAKE-secret-32-bytes-long-xx", algorithm="HS256",
                       headers={"kid": "k"})
    response = client.post("/uploads", json=GOOD, headers=bearer(token))
    assert response.status_code == 401


def test_hs256_token_is_refused_in_jwks_mode(jwks_server: FileServer) -> None:
    auth = jwks_auth(jwks_server, Monotonic())
    with pytest.raises(Unauthorized):
        auth.authenticate(facts_for(hs_token()), FIXED_NOW)


# --- subjects and configuration ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("subject", "safe"),
    [
        ("alice", True), ("user@example.com", True), ("auth0|123", False), ("a/b", False),
        ("..", False), (".", False), ("x" * 65, False), ("h-abc", False), ("ÄÖ", False),
    ],
)
def test_subjects_are_used_as_is_only_when_plainly_safe(subject: str, safe: bool) -> None:
    segment = objectkeys.safe_subject(subject)
    assert (segment == subject) is safe
    if not safe:
        assert segment.startswith("h-") and len(segment) == 34
    assert objectkeys.safe_subject("a/b") != objectkeys.safe_subject("a_b")


CONFIG_PROBLEMS = [
    pytest.param({"AUTH_MODE": "jwt"}, "exactly one", id="jwt-without-key"),
    pytest.param({"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": SECRET,
                  "AUTH_JWKS_URL": "https://id.example.com/jwks"}, "exactly one", id="both"),
    pytest.param({"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": "short"}, "32 bytes", id="short"),
    pytest.param({"AUTH_MODE": "jwt", "AUTH_JWKS_URL": "ftp://x/y"}, "AUTH_JWKS_URL",
                 id="jwks-not-http"),
    pytest.param({"AUTH_MODE": "oauth"}, "AUTH_MODE", id="unknown-mode"),
    pytest.param({"OSS_KEY_TEMPLATE": "{dir}{sub}/{id}"}, "{sub} only with", id="sub-anonymous"),
    pytest.param({"OSS_KEY_TEMPLATE": "{date}/{id}"}, "OSS_KEY_TEMPLATE", id="no-dir-first"),
    pytest.param({"OSS_KEY_TEMPLATE": "{dir}{date}"}, "OSS_KEY_TEMPLATE", id="no-id"),
    pytest.param({"OSS_KEY_TEMPLATE": "{dir}{id}{id}"}, "OSS_KEY_TEMPLATE", id="id-twice"),
    pytest.param({"OSS_KEY_TEMPLATE": "{dir}../{id}"}, "OSS_KEY_TEMPLATE", id="dotdot-slash"),
    pytest.param({"OSS_KEY_TEMPLATE": "{dir}{name}{id}"}, "OSS_KEY_TEMPLATE", id="unknown"),
    pytest.param({"OSS_KEY_TEMPLATE": "{dir}{ext}{id}"}, "OSS_KEY_TEMPLATE", id="ext-not-last"),
    pytest.param({"RATE_LIMIT_PER_MINUTE": "-1"}, "RATE_LIMIT_PER_MINUTE", id="negative-rate"),
    pytest.param({"UPLOAD_CALLBACK_URL": "https://fn.example.com/callback?x=1"},
                 "without query", id="callback-query"),
    pytest.param({"CALLBACK_PUBKEY_URL_PREFIXES": "https://gosspublic.alicdn.com"},
                 "CALLBACK_PUBKEY_URL_PREFIXES", id="prefix-without-slash"),
]


@pytest.mark.parametrize(("env", "fragment"), CONFIG_PROBLEMS)
def test_bad_auth_and_callback_settings_are_reported(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({**BASE_ENV, **env})
    assert fragment in caught.value.message


def test_jwt_secret_is_not_in_the_settings_repr() -> None:
    assert SECRET not in repr(Settings.from_env(JWT_ENV))
