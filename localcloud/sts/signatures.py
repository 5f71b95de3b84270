"""Check who signed an STS request, in either of the two schemes the official SDKs send.

* ``ACS3-HMAC-SHA256`` (``alibabacloud_sts20150401`` through tea-openapi 0.4.x): a POST whose
  parameters sit in the query string, signed in the ``Authorization`` header over a canonical
  request (method, path, sorted query, the headers named in ``SignedHeaders``, the body's
  SHA-256); an STS caller adds ``x-acs-security-token``.
* RPC ``HMAC-SHA1`` signature 1.0 (``alibabacloud_credentials``' RamRoleArn provider): every
  parameter, the ``Signature`` included, in the query (or a form body); the string to sign is
  ``METHOD&%2F&<percent-encoded sorted query>``; an STS caller adds ``SecurityToken``.
  ``ali-oss``'s STS client sends the same scheme as a form POST.

Both carry an ISO 8601 UTC time (``x-acs-date`` or ``Timestamp``): whole seconds as the
Python, Java and Go SDKs send it, or with a fraction, as ``ali-oss`` sends
``Date.toISOString()`` (milliseconds) and STS accepts.

Pure: no HTTP server, no clock (``now`` is passed in), no SDK import. Refusals are
:class:`~localcloud.sts.errors.StsError` with STS's codes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, quote_plus

import localcloud.sts.errors as errors
from localcloud.identity import FindPrincipal, Principal

ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
RPC_METHOD = "HMAC-SHA1"
RPC_VERSION = "1.0"
# The documented yyyy-MM-ddTHH:mm:ssZ, plus an optional fraction of a second. Milliseconds
# are what ali-oss sends; other fraction lengths (1-9 digits) are ISO 8601 and accepted on
# that reading (unconfirmed against STS). No offsets, no lower-case T/Z, no basic format.
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z"
)
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

H_AUTHORIZATION = "authorization"
H_CONTENT_TYPE = "content-type"
H_DATE = "x-acs-date"
H_NONCE = "x-acs-signature-nonce"
H_CONTENT_SHA256 = "x-acs-content-sha256"
H_TOKEN = "x-acs-security-token"
# Headers an ACS3 request must sign, so that none of them can be swapped after signing.
ACS3_REQUIRED_SIGNED = (H_DATE, H_CONTENT_SHA256)

P_SIGNATURE = "Signature"
P_ACCESS_KEY_ID = "AccessKeyId"
P_SIGNATURE_METHOD = "SignatureMethod"
P_SIGNATURE_VERSION = "SignatureVersion"
P_TIMESTAMP = "Timestamp"
P_NONCE = "SignatureNonce"
P_TOKEN = "SecurityToken"


@dataclass(frozen=True)
class Caller:
    """An authenticated request: its signer, its business parameters and its nonce."""

    principal: Principal
    params: Mapping[str, str] = field(repr=False)
    nonce: str


@dataclass(frozen=True)
class StsRequest:
    """One request to the STS endpoint, as its signature covers it.

    ``query`` holds the decoded pairs in the order sent; ``headers`` have lower-case names.
    """

    method: str
    path: str
    query: Sequence[tuple[str, str]]
    headers: Mapping[str, str]
    body: bytes = field(default=b"", repr=False)

    def params(self) -> dict[str, str]:
        """Merge query and form-body parameters (the body wins, as for a form POST)."""
        params = dict(self.query)
        content_type = self.headers.get(H_CONTENT_TYPE, "").lower()
        if content_type.startswith(FORM_CONTENT_TYPE) and self.body:
            try:
                text = self.body.decode("utf-8")
            except UnicodeDecodeError:
                raise errors.incomplete_signature() from None
            params.update(parse_qsl(text, keep_blank_values=True))
        return params


def parse_timestamp(value: str) -> datetime:
    """Read an STS request time (``2026-01-02T08:00:00Z`` or ``…T08:00:00.123Z``) as UTC.

    Raises STS's ``InvalidTimeStamp.Format`` for anything else, impossible dates included.
    A fraction finer than microseconds is truncated.
    """
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        raise errors.timestamp_format()
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    micros = int((match.group(7) or "").ljust(6, "0")[:6])
    try:
        return datetime(year, month, day, hour, minute, second, micros, tzinfo=timezone.utc)
    except ValueError:
        raise errors.timestamp_format() from None


def _check_time(value: str, now: datetime, max_skew: timedelta) -> None:
    stamp = parse_timestamp(value)
    if abs(now - stamp) > max_skew:
        raise errors.timestamp_expired()


def _caller_principal(
    lookup: FindPrincipal, access_key_id: str, token: str | None, now: datetime
) -> Principal:
    """Find the signer and hold its security token to what was issued with the key."""
    principal = lookup(access_key_id)
    if principal is None:
        raise errors.access_key_not_found()
    expected = principal.security_token
    if expected is None:
        if token:
            raise errors.token_mismatch()
        return principal
    if not token:
        raise errors.token_missing()
    if not hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8")):
        raise errors.token_malformed()
    if principal.is_expired(now):
        raise errors.token_expired()
    return principal


def _acs3_fields(authorization: str) -> tuple[str, list[str], str]:
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != ACS3_ALGORITHM:
        raise errors.unsupported_signature_method(algorithm)
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise errors.incomplete_signature()
        fields[name] = value
    credential = fields.get("Credential", "")
    signature = fields.get("Signature", "")
    signed = [h for h in fields.get("SignedHeaders", "").lower().split(";") if h]
    if not credential or not signature or not signed:
        raise errors.incomplete_signature()
    return credential, signed, signature


def acs3_canonical_request(request: StsRequest, signed_headers: Sequence[str]) -> str:
    """Build the ACS3 canonical request; the payload hash is the one the client declared."""
    method, path, query, headers = request.method, request.path, request.query, request.headers
    canonical_query = "&".join(
        f"{k}={v}" for k, v in sorted((quote(k, safe="~"), quote(v, safe="~")) for k, v in query)
    )
    canonical_headers = "".join(
        f"{name}:{headers.get(name, '').strip()}\n" for name in sorted(signed_headers)
    )
    return "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query,
            canonical_headers,
            ";".join(sorted(signed_headers)),
            headers.get(H_CONTENT_SHA256, ""),
        ]
    )


def acs3_signature(secret: str, canonical_request: str) -> str:
    """Sign an ACS3 canonical request with the caller's secret (lowercase hex)."""
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    text = f"{ACS3_ALGORITHM}\n{digest}"
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_acs3(
    request: StsRequest, *, lookup: FindPrincipal, now: datetime, max_skew: timedelta
) -> Caller:
    """Authenticate a request carrying an ``ACS3-HMAC-SHA256`` Authorization header."""
    headers = request.headers
    access_key_id, signed, signature = _acs3_fields(headers[H_AUTHORIZATION])
    required = [*ACS3_REQUIRED_SIGNED, *([H_TOKEN] if H_TOKEN in headers else [])]
    if any(name not in signed or name not in headers for name in required):
        raise errors.incomplete_signature()
    _check_time(headers[H_DATE], now, max_skew)
    principal = _caller_principal(lookup, access_key_id, headers.get(H_TOKEN), now)
    declared = headers[H_CONTENT_SHA256]
    actual = hashlib.sha256(request.body).hexdigest()
    canonical = acs3_canonical_request(request, signed)
    expected = acs3_signature(principal.access_key_secret, canonical)
    body_ok = hmac.compare_digest(declared.lower().encode(), actual.encode())
    if not (hmac.compare_digest(expected.encode(), signature.lower().encode()) and body_ok):
        raise errors.signature_mismatch()
    return Caller(principal, request.params(), headers.get(H_NONCE, ""))


def _rpc_string_to_sign(
    method: str, params: Mapping[str, str], encode: Callable[[str], str]
) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k != P_SIGNATURE)
    canonical = "&".join(f"{encode(k)}={encode(v)}" for k, v in pairs)
    return f"{method.upper()}&{encode('/')}&{encode(canonical)}"


def _percent_encode(value: str) -> str:
    # The RPC specification: RFC 3986 unreserved characters kept, space as %20.
    return quote(value, safe="~")


def _plus_encode(value: str) -> str:
    # What alibabacloud_credentials 1.0.x actually does (quote_plus: space as '+'); accepted
    # too so that its requests verify whatever their content.
    return quote_plus(value, safe="~")


def rpc_signature(secret: str, string_to_sign: str) -> str:
    """Sign an RPC string to sign: Base64 HMAC-SHA1 keyed with ``secret + '&'``."""
    mac = hmac.new((secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def verify_rpc(
    method: str,
    params: Mapping[str, str],
    *,
    lookup: FindPrincipal,
    now: datetime,
    max_skew: timedelta,
) -> Caller:
    """Authenticate an RPC request signed with ``Signature`` (HMAC-SHA1, version 1.0)."""
    for name in (P_ACCESS_KEY_ID, P_SIGNATURE_METHOD, P_SIGNATURE_VERSION, P_TIMESTAMP, P_NONCE):
        if not params.get(name):
            raise errors.missing_parameter(name)
    if params[P_SIGNATURE_METHOD] != RPC_METHOD or params[P_SIGNATURE_VERSION] != RPC_VERSION:
        raise errors.unsupported_signature_method(params[P_SIGNATURE_METHOD])
    _check_time(params[P_TIMESTAMP], now, max_skew)
    principal = _caller_principal(lookup, params[P_ACCESS_KEY_ID], params.get(P_TOKEN), now)
    provided = params[P_SIGNATURE].encode("utf-8")
    matched = False
    for encode in (_percent_encode, _plus_encode):
        text = _rpc_string_to_sign(method, params, encode)
        expected = rpc_signature(principal.access_key_secret, text).encode("ascii")
        matched = hmac.compare_digest(expected, provided) or matched
    if not matched:
        raise errors.signature_mismatch()
    return Caller(principal, dict(params), params[P_NONCE])


def authenticate(
    request: StsRequest, *, lookup: FindPrincipal, now: datetime, max_skew: timedelta
) -> Caller:
    """Authenticate an STS request in whichever scheme it was signed."""
    if request.headers.get(H_AUTHORIZATION):
        return verify_acs3(request, lookup=lookup, now=now, max_skew=max_skew)
    params = request.params()
    if P_SIGNATURE not in params:
        name = P_SIGNATURE if P_ACCESS_KEY_ID in params else P_ACCESS_KEY_ID
        raise errors.missing_parameter(name)
    return verify_rpc(request.method, params, lookup=lookup, now=now, max_skew=max_skew)
