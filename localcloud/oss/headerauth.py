"""Verify OSS request signatures: V4 or V1, in the ``Authorization`` header or a presigned URL.

Owns the emulator's answer to "who sent this object-API request": which scheme a request
uses (an ``Authorization`` header of either scheme, a V4 or V1 presigned URL, or none: an
anonymous request) and the entry points that hand it to that scheme's check —
:func:`localcloud.oss.v4authorization.verify_v4` (credential scope, clock window, presign
expiry, signature over the canonical request of :mod:`localcloud.oss.v4canonical`) and
:func:`localcloud.oss.v1header.verify_v1`. Pure: no HTTP server, no clock (``now`` is
passed in), no storage; it must not import the signing function nor the OSS SDK (the SDK is
only a test oracle). Refusals are :class:`~localcloud.oss.errors.OssError` with OSS's codes
and messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from localcloud.identity import FindPrincipal, Principal
from localcloud.oss.errors import invalid_argument
from localcloud.oss.httpmessages import Request, SignedRequest
from localcloud.oss.v1header import Q_ACCESS_KEY_ID as V1_Q_ACCESS_KEY_ID
from localcloud.oss.v1header import Q_SIGNATURE as V1_Q_SIGNATURE
from localcloud.oss.v1header import SCHEME as V1_SCHEME
from localcloud.oss.v1header import verify_v1, verify_v1_presigned
from localcloud.oss.v4authorization import (
    Q_SIGNATURE_VERSION,
    HeaderAuthSettings,
    from_header,
    from_query,
    verify_v4,
)
from localcloud.oss.v4canonical import ALGORITHM, H_AUTHORIZATION, Q_SIGNATURE

__all__ = [
    "ALGORITHM", "HeaderAuthSettings", "authenticate", "verify", "verify_header_auth",
]

#: OSS's documented readings: 15 minutes of skew, presigned URLs up to 7 days, one region.
DEFAULT_SETTINGS = HeaderAuthSettings()


def authenticate(
    request: Request, *, bucket: str, key: str, lookup: FindPrincipal,
    settings: HeaderAuthSettings = DEFAULT_SETTINGS,
) -> Principal | None:
    """Verify the request's signature at ``request.now``; None when it carries none."""
    return verify(request.signed(bucket, key), lookup, request.now, settings)


def verify(
    request: SignedRequest, lookup: FindPrincipal, now: datetime,
    settings: HeaderAuthSettings = DEFAULT_SETTINGS,
) -> Principal | None:
    """Authenticate an object-API request; return its principal, or ``None`` if anonymous."""
    params = request.params
    authorization = request.headers.get(H_AUTHORIZATION)
    if authorization and authorization.startswith(V1_SCHEME):
        return verify_v1(request, authorization, lookup, now, settings.max_skew)
    if authorization:
        if not authorization.startswith(ALGORITHM + " "):
            raise invalid_argument("Authorization header is invalid.")
        auth = from_header(authorization, request.headers)
    elif Q_SIGNATURE_VERSION in params or Q_SIGNATURE in params:
        auth = from_query(params)
    elif V1_Q_ACCESS_KEY_ID in params or V1_Q_SIGNATURE in params:
        return verify_v1_presigned(request, lookup, now)
    else:
        return None
    return verify_v4(auth, request, lookup, now, settings)


def verify_header_auth(
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    *,
    bucket: str | None,
    key: str | None,
    lookup: FindPrincipal,
    now: datetime,
    settings: HeaderAuthSettings = DEFAULT_SETTINGS,
    raw_query: str | None = None,
) -> Principal | None:
    """Authenticate a request given by its parts (:func:`verify` for callers without one).

    ``headers`` has lower-cased names; ``query`` holds decoded pairs; ``raw_query`` (the query
    text as received, optional) lets the exact encoding the client signed be honoured.
    ``raw_path`` is unused (the canonical URI is rebuilt from ``bucket``/``key``).
    """
    del raw_path
    return verify(SignedRequest(method, bucket, key, tuple(query), headers, raw_query),
                  lookup, now, settings)
