"""Upload credentials from STS: AssumeRole on the upload role, and the per-instance cache.

Owns the session policy (``oss:PutObject``, ``oss:PutObjectAcl``, ``oss:ListParts`` and
``oss:AbortMultipartUpload`` on ``acs:oss:*:*:{bucket}/{upload dir}*``), the SDK client
set-up and the translation of SDK answers and exceptions into
:class:`TemporaryCredentials` or :class:`StsError`, and :class:`CredentialCache`:
single-flight and thread-safe because an FC instance serves concurrent requests (however
many arrive while the credentials are stale, one thread calls STS); it refreshes ahead of
expiry, keeps serving cached credentials while a refresh fails but they are still usable,
and answers 503 with ``Retry-After`` only when nothing usable remains (clock and fetcher
injected). The Alibaba SDKs are imported inside :func:`build_fetcher`, not at module
import, to keep cold starts short.

The caller identity comes from ``alibabacloud_credentials``' default chain, which on FC
reads the execution role's ``ALIBABA_CLOUD_*`` variables. The SDK sends
``POST {scheme}://{endpoint}/?DurationSeconds=..&Policy=..&RoleArn=..&RoleSessionName=..``
with ``x-acs-action: AssumeRole`` and an ``ACS3-HMAC-SHA256`` Authorization header, and
does not retry by itself.

Also the function's other outgoing calls (:func:`fetch`): small bounded GETs of the JWKS
document and OSS's callback public key, behind the injectable ``Fetch`` callables of
``jwtauth`` and ``callback_verify``. Stdlib ``urllib`` with a timeout and a size cap, so a
slow or huge answer can neither hang a request nor fill memory; ``urllib.request`` (with
``http.client`` and ``email``) is imported on the first fetch, not at import: most
instances never fetch anything. Every failure, a malformed URL included, is a
``FetchError``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from uploadsign.config import Settings
from uploadsign.credentials import SAFETY_MARGIN, TemporaryCredentials, credentials_from_map
from uploadsign.errors import CredentialsUnavailable, FetchError, StsError, StsThrottled

if TYPE_CHECKING:
    import urllib.request

log = logging.getLogger(__name__)

#: PutObjectAcl too: grants pin ``x-oss-object-acl: private``, and whether OSS checks
#: that action for an ACL set on upload is unconfirmed (oss-multipart.md), so allow it.
#: PutObject also covers InitiateMultipartUpload, UploadPart and CompleteMultipartUpload;
#: multipart adds only ListParts and AbortMultipartUpload (oss-multipart.md §4).
ACTIONS = ("oss:PutObject", "oss:PutObjectAcl", "oss:ListParts", "oss:AbortMultipartUpload")
#: After a failed refresh, wait this long before calling STS again (avoid a storm).
FAILURE_BACKOFF = timedelta(seconds=2)
DEFAULT_RETRY_AFTER_SECONDS = 5


def session_policy(bucket: str, upload_dir: str) -> str:
    """Return the session policy that narrows the role to writes under the prefix."""
    document = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": list(ACTIONS),
                "Resource": [f"acs:oss:*:*:{bucket}/{upload_dir}*"],
            }
        ],
    }
    return json.dumps(document, separators=(",", ":"))


def build_fetcher(settings: Settings) -> Callable[[], TemporaryCredentials]:
    """Return a callable that performs one AssumeRole with the execution identity."""
    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_sts20150401 import models as sts_models
    from alibabacloud_sts20150401.client import Client as StsClient
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
    from alibabacloud_tea_openapi.models import Config
    from Tea.exceptions import TeaException

    timeout_ms = settings.sts_timeout_seconds * 1000
    config = Config(
        credential=CredentialClient(),
        region_id=settings.region,
        endpoint=settings.sts_endpoint.host,
        protocol=settings.sts_endpoint.protocol,
        connect_timeout=timeout_ms,
        read_timeout=timeout_ms,
    )
    client = StsClient(config)
    policy = session_policy(settings.bucket, settings.upload_dir)

    def fetch() -> TemporaryCredentials:
        request = sts_models.AssumeRoleRequest(
            role_arn=settings.role_arn,
            role_session_name=settings.sts_role_session_name,
            duration_seconds=settings.sts_duration_seconds,
            policy=policy,
        )
        try:
            response = client.assume_role(request)
        except ThrottlingException as exc:
            raise StsThrottled(
                str(exc.code or "Throttling"), "STS throttled the call", retry_after=exc.retry_after
            ) from exc
        except AlibabaCloudException as exc:
            # STS's Code (InvalidParameter, NoPermission, ...) is safe and useful to log.
            raise StsError(str(exc.code or "Error"), f"STS answered {exc.status_code}") from exc
        except TeaException as exc:
            # Transport failures, timeouts and unparsable bodies all end up here.
            raise StsError("Unavailable", type(exc).__name__) from exc
        except Exception as exc:  # a requests/urllib3 error that escaped the SDK's wrapper
            raise StsError("Unavailable", type(exc).__name__) from exc
        body = response.body.to_map() if response.body is not None else {}
        return credentials_from_map(body)

    return fetch


class Lookup(NamedTuple):
    """Credentials and where they came from: ``hit``, ``miss`` (STS called) or ``stale``."""

    credentials: TemporaryCredentials
    source: str


HIT, MISS, STALE = "hit", "miss", "stale"

Fetcher = Callable[[], TemporaryCredentials]
Clock = Callable[[], datetime]


class CredentialCache:
    """Hold one set of assumed credentials and refresh it ahead of expiry."""

    def __init__(
        self,
        fetch: Fetcher,
        clock: Clock,
        *,
        refresh_margin: timedelta,
        failure_backoff: timedelta = FAILURE_BACKOFF,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        # Never serve from the fast path what the usable check would refuse.
        self._refresh_margin = max(refresh_margin, SAFETY_MARGIN)
        self._failure_backoff = failure_backoff
        self._lock = threading.Lock()
        self._current: TemporaryCredentials | None = None
        self._failed_at: datetime | None = None
        self._retry_after = DEFAULT_RETRY_AFTER_SECONDS

    def __repr__(self) -> str:
        return f"CredentialCache(cached={self._current is not None})"

    def get(self) -> TemporaryCredentials:
        """Return usable credentials, calling STS at most once per refresh."""
        return self.lookup().credentials

    def lookup(self) -> Lookup:
        """Like :meth:`get`, also saying whether STS was called (for the access log)."""
        now = self._clock()
        current = self._current
        if current is not None and self._fresh(current, now):
            return Lookup(current, HIT)
        if current is not None and current.usable_at(now):
            # Stale but usable: one thread refreshes, the others keep serving.
            if not self._lock.acquire(blocking=False):
                return Lookup(current, STALE)
        else:
            self._lock.acquire()
        try:
            return self._refresh_locked()
        finally:
            self._lock.release()

    def _fresh(self, creds: TemporaryCredentials, now: datetime) -> bool:
        return now < creds.expiration - self._refresh_margin

    def _refresh_locked(self) -> Lookup:
        now = self._clock()
        current = self._current
        if current is not None and self._fresh(current, now):
            return Lookup(current, HIT)  # another thread refreshed while we waited
        usable = current if current is not None and current.usable_at(now) else None
        if self._failed_at is not None and now < self._failed_at + self._failure_backoff:
            return Lookup(self._fallback(usable, None), STALE)
        try:
            fresh = self._fetch()
        except StsError as exc:
            self._failed_at = now
            if exc.retry_after is not None and exc.retry_after > 0:
                self._retry_after = exc.retry_after
            log.warning(
                "AssumeRole failed (%s); %s",
                exc.code,
                "serving cached credentials" if usable else "no usable credentials cached",
            )
            return Lookup(self._fallback(usable, exc), STALE)
        if not fresh.usable_at(now):
            self._failed_at = now
            log.warning("AssumeRole returned credentials that are already near expiry")
            return Lookup(self._fallback(usable, None), STALE)
        self._current = fresh
        self._failed_at = None
        self._retry_after = DEFAULT_RETRY_AFTER_SECONDS
        return Lookup(fresh, MISS)

    def _fallback(
        self, usable: TemporaryCredentials | None, cause: StsError | None
    ) -> TemporaryCredentials:
        if usable is not None:
            return usable
        raise CredentialsUnavailable(
            "upload credentials are temporarily unavailable; retry later",
            retry_after=self._retry_after,
        ) from cause


# --- small bounded GETs (JWKS, callback public keys) ---------------------------------------

#: ``fetch(url, timeout_seconds) -> body``; raises ``FetchError``.
Fetch = Callable[[str, float], bytes]
MAX_BYTES = 64 * 1024  # a JWKS or a PEM key is a few KB

_opener: urllib.request.OpenerDirector | None = None
_opener_lock = threading.Lock()


def _no_redirect_opener() -> urllib.request.OpenerDirector:
    """Return the shared opener that refuses redirects (built on first use)."""
    global _opener
    with _opener_lock:
        if _opener is None:
            import urllib.request

            class NoRedirect(urllib.request.HTTPRedirectHandler):
                """Refuse redirects: the URL prefix was checked, where it points was not."""

                def redirect_request(self, *args: object, **kwargs: object) -> None:
                    return None

            _opener = urllib.request.build_opener(NoRedirect())
        return _opener


def fetch(url: str, timeout: float) -> bytes:
    """GET ``url``; return the body of a 200 answer or raise ``FetchError``."""
    if not url.startswith(("http://", "https://")):
        raise FetchError("only http(s) URLs are fetched")
    opener = _no_redirect_opener()
    import http.client
    import urllib.error
    import urllib.request

    try:
        request = urllib.request.Request(url, headers={"Accept": "*/*"})
        with opener.open(request, timeout=timeout) as answer:
            if answer.status != 200:
                raise FetchError(f"HTTP {answer.status}")
            body = bytes(answer.read(MAX_BYTES + 1))
    except urllib.error.HTTPError as exc:
        raise FetchError(f"HTTP {exc.code}") from exc
    # A bad URL or answer fails in several layers: ValueError (urllib's URL parsing, a
    # non-ASCII request line), http.client.HTTPException (InvalidURL for control characters
    # or a bad port, a malformed answer; not a ValueError) and OSError (network, timeout).
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise FetchError(type(exc).__name__) from exc
    if len(body) > MAX_BYTES:
        raise FetchError(f"answer larger than {MAX_BYTES} bytes")
    return body
