"""Multipart uploads, function side: the plan, part URLs, resume listing, complete and abort.

Above ``UPLOAD_MULTIPART_THRESHOLD_BYTES`` the function initiates the upload itself, pinning
what a PostObject grant pins (server-chosen key, private ACL, stored type, disposition,
Standard storage class, no overwrite), and hands the browser a sealed ``upload_id``
(:mod:`uploadsign.uploadtoken`). Parts go straight to OSS through V4 presigned UploadPart
URLs (:func:`uploadsign.policy.presign_query`) that pin the key, OSS upload id, part number
and, through ``content-length`` in ``x-oss-additional-headers``, the exact part length.
Complete lists the parts itself and completes only when they are exactly 1..N with the
planned sizes, with no overwrite and the callback bound to the grant as for PostObject.

The server's own calls (initiate, ListParts, complete, abort) go through the official SDK
``alibabacloud-oss-v2`` with the cached STS credentials of the upload role, imported by
:class:`sdk_storage` only: a PostObject grant never loads it. Facts: oss-multipart.md.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from uploadsign import callback, mediatypes, policy, uploadtoken
from uploadsign.auth import Caller
from uploadsign.config import Settings
from uploadsign.credentials import TemporaryCredentials
from uploadsign.errors import Forbidden, SignError
from uploadsign.grants import PRIVATE, STANDARD, CredentialsProvider, Grant, GrantService
from uploadsign.grants import UploadRequest as UploadRequest
from uploadsign.uploadtoken import (
    InvalidPartNumbers,
    NoSuchUpload,
    ObjectExists,
    PartsMismatch,
    StorageError,
    StoredPart,
    UploadClaims,
)

MAX_PARTS_PER_CALL = 100  # part numbers one POST /uploads/{upload_id}/parts may ask for
LIST_PAGE = 1000  # ListParts' largest page (oss-multipart.md §1.2)


class Storage(Protocol):
    """The four calls the function makes to OSS for one bucket (SDK in production)."""

    def initiate(self, key: str, headers: Mapping[str, str]) -> str: ...
    def list_parts(self, key: str, upload_id: str) -> list[StoredPart]: ...
    def complete(self, key: str, upload_id: str, parts: Sequence[StoredPart],
                 headers: Mapping[str, str]) -> tuple[str, dict[str, Any] | None]: ...
    def abort(self, key: str, upload_id: str) -> None: ...


StorageFactory = Callable[[Settings, TemporaryCredentials], Storage]


class MultipartService:
    """Plan, sign, list, complete and abort multipart uploads for one configured bucket."""

    def __init__(self, grants: GrantService, credentials: CredentialsProvider,
                 storage_factory: StorageFactory | None = None) -> None:
        self.settings = grants.settings
        self._grants = grants
        self._credentials = credentials
        self._storage_factory = storage_factory or sdk_storage
        self._cached: tuple[TemporaryCredentials, Storage] | None = None

    def _storage(self) -> Storage:
        """The storage client for the current credentials, rebuilt when they change."""
        creds, cached = self._credentials().credentials, self._cached
        if cached is None or cached[0] is not creds:
            cached = self._cached = (creds, self._storage_factory(self.settings, creds))
        return cached[1]

    def plan(self, request: UploadRequest, now: datetime, caller: Caller,
             admit: Callable[[str, datetime], None] = lambda grant_id, expires: None) -> Grant:
        """Return the ``mode: multipart`` body; ``admit`` (the limits) may refuse first."""
        s = self.settings
        grant_id, key, media_type = self._grants.new_object(request, now, caller)
        _, source = self._credentials()
        headers = {
            "Content-Type": media_type,
            "Content-Disposition": mediatypes.content_disposition(media_type, request.filename),
            policy.OBJECT_ACL: PRIVATE,
            policy.STORAGE_CLASS: STANDARD,
            policy.FORBID_OVERWRITE: "true",
        }
        expires = now + timedelta(seconds=s.multipart_expire_seconds)
        admit(grant_id, expires)
        oss_upload_id = self._storage().initiate(key, headers)
        claims = UploadClaims(
            bucket=s.bucket, key=key, oss_upload_id=oss_upload_id, size=request.size,
            part_size=uploadtoken.part_size_for(request.size, s.part_size_bytes),
            media_type=media_type, caller=caller.subject, grant_id=grant_id,
            expires=int(expires.timestamp()),
        )
        body = {
            "mode": "multipart",
            "upload_id": uploadtoken.seal(s.grant_secrets[0], claims),
            "key": key,
            "grant_id": grant_id,
            "part_size": claims.part_size,
            "part_count": claims.part_count,
            "max_size": request.size,
            "expires_at": policy.format_expiration(_moment(claims.expires)),
        }
        return Grant(body, grant_id, source, expires)

    def claims(self, upload_id: str, now: datetime, caller: Caller) -> UploadClaims:
        """Open ``upload_id`` for ``caller``; 400/403 as :func:`uploadtoken.unseal`, 403 if
        another caller's (jwt mode: another subject)."""
        claims = uploadtoken.unseal(self.settings.grant_secrets, upload_id, now.timestamp())
        if claims.bucket != self.settings.bucket:
            raise uploadtoken.InvalidUploadId("upload_id is for another bucket")
        if claims.caller != caller.subject:
            raise Forbidden("this upload belongs to another caller")
        return claims

    def sign_parts(self, claims: UploadClaims, numbers: Sequence[int],
                   now: datetime) -> dict[str, Any]:
        """Return ``{"parts": [...]}``: one presigned UploadPart per number, in order.

        Each expires at the earliest of ``UPLOAD_EXPIRE_SECONDS`` from now, the upload id's
        expiry and the credentials' (less the safety margin). Raises InvalidPartNumbers.
        """
        bad = [n for n in numbers if not 1 <= n <= claims.part_count]
        if bad:
            raise InvalidPartNumbers(
                f"part numbers must be in 1..{claims.part_count}; not {_few(bad)}")
        creds = self._credentials().credentials
        expires_at = min(policy.policy_expiry(now, self.settings.upload_expire_seconds, creds),
                         _moment(claims.expires))
        seconds = max(1, int((expires_at - now).total_seconds()))
        uri = f"/{claims.bucket}/{claims.key}"
        parts = []
        for number in numbers:
            size = claims.part_length(number)
            query = policy.presign_query(
                "PUT", uri, query={"partNumber": str(number), "uploadId": claims.oss_upload_id},
                headers={"content-length": str(size)}, additional=("content-length",),
                creds=creds, now=now, region=self.settings.region, expires_seconds=seconds,
            )
            parts.append({
                "part_number": number, "method": "PUT",
                "url": f"{self.settings.host}/{quote(claims.key, safe='/')}?{query}",
                "headers": {}, "size": size,
                "expires_at": policy.format_expiration(now + timedelta(seconds=seconds)),
            })
        return {"parts": parts}

    def status(self, claims: UploadClaims) -> dict[str, Any]:
        """Return the plan's key and sizes and the parts OSS holds (every ListParts page)."""
        stored = self._storage().list_parts(claims.key, claims.oss_upload_id)
        return {
            "key": claims.key, "part_size": claims.part_size, "part_count": claims.part_count,
            "parts": [{"part_number": p.number, "etag": p.etag, "size": p.size} for p in stored],
        }

    def complete(self, claims: UploadClaims) -> dict[str, Any]:
        """Complete when the parts are exactly 1..N with the planned sizes.

        Raises PartsMismatch (409) naming the wrong part numbers, NoSuchUpload (404) after a
        complete or an abort, ObjectExists (409), StorageError (502).
        """
        storage = self._storage()
        stored = storage.list_parts(claims.key, claims.oss_upload_id)
        by_number = {part.number: part for part in stored}
        wanted = range(1, claims.part_count + 1)
        missing = [n for n in wanted if n not in by_number]
        extra = sorted(n for n in by_number if not 1 <= n <= claims.part_count)
        sized = [n for n in wanted if n in by_number
                 and by_number[n].size != claims.part_length(n)]
        if missing or extra or sized:
            problems = [f"{what} {_few(numbers)}" for what, numbers in
                        (("missing", missing), ("extra", extra), ("wrong size", sized)) if numbers]
            raise PartsMismatch("parts do not match the plan: " + "; ".join(problems))
        headers = {policy.FORBID_OVERWRITE: "true", policy.OBJECT_ACL: PRIVATE}
        variables = self._grants.callback_fields(callback.GrantClaims(
            grant_id=claims.grant_id, bucket=claims.bucket, key=claims.key,
            size=claims.size, media_type=claims.media_type, expires=claims.expires))
        if variables:
            headers["x-oss-callback"] = variables.pop(callback.CALLBACK)
            headers["x-oss-callback-var"] = base64.b64encode(json.dumps(
                variables, separators=(",", ":")).encode("ascii")).decode("ascii")
        etag, answer = storage.complete(
            claims.key, claims.oss_upload_id, [by_number[n] for n in wanted], headers)
        return {**(answer or {}), "key": claims.key, "etag": etag.strip('"'), "size": claims.size}

    def abort(self, claims: UploadClaims) -> None:
        """Abort the upload; one OSS no longer knows is already gone (idempotent)."""
        with contextlib.suppress(NoSuchUpload):
            self._storage().abort(claims.key, claims.oss_upload_id)


def _few(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:20])
    return f"[{shown}{', ...' if len(numbers) > 20 else ''}]"


def _moment(unix_seconds: int) -> datetime:
    return datetime.fromtimestamp(unix_seconds, timezone.utc)


def sdk_endpoint(host: str, bucket: str) -> tuple[str, bool, bool]:
    """Return (endpoint, path style, CNAME) for the SDK from ``OSS_HOST``: ``http://host/<bucket>``
    is path style, ``https://<bucket>.<endpoint>`` virtual-hosted, any other host a CNAME."""
    parts = urlsplit(host)
    origin = f"{parts.scheme}://{parts.netloc}"
    if parts.path.strip("/") == bucket:
        return origin, True, False
    if parts.netloc.startswith(bucket + "."):
        return f"{parts.scheme}://{parts.netloc[len(bucket) + 1:]}", False, False
    return origin, False, True


#: OSS codes with an answer of their own; CallbackFailed is a 203: the object is kept (§5).
#: The part refusals (§1.7) mean a part changed between complete's ListParts and its call.
_SDK_ERRORS: dict[str, Callable[[], SignError]] = {
    "NoSuchUpload": lambda: NoSuchUpload("the upload was completed or aborted"),
    "FileAlreadyExists": lambda: ObjectExists("the object key already holds an object"),
    "CallbackFailed": lambda: StorageError("the object is stored; its upload callback failed"),
    **dict.fromkeys(("InvalidPart", "InvalidPartOrder", "EntityTooSmall"), lambda: PartsMismatch(
        "the parts changed while completing; list them and complete again")),
}


class sdk_storage:  # noqa: N801 - a StorageFactory, called like a function
    """:class:`Storage` over ``alibabacloud-oss-v2``, imported on the first multipart call.

    SDK errors become :data:`_SDK_ERRORS`' or a 502 StorageError naming OSS's Code only."""

    def __init__(self, settings: Settings, creds: TemporaryCredentials) -> None:
        import alibabacloud_oss_v2 as oss

        self._oss = oss
        self._bucket = settings.bucket
        endpoint, path_style, cname = sdk_endpoint(settings.host, settings.bucket)
        provider = oss.credentials.StaticCredentialsProvider(
            creds.access_key_id, creds.access_key_secret, creds.security_token)
        self._client = oss.Client(oss.Config(
            region=settings.region, endpoint=endpoint, credentials_provider=provider,
            use_path_style=path_style, use_cname=cname, retry_max_attempts=2))

    def _call(self, operation: str, request: Any) -> Any:
        try:
            return getattr(self._client, operation)(request)
        except Exception as exc:  # the SDK wraps every failure in its own tree
            cause = exc.unwrap() if hasattr(exc, "unwrap") else exc
            code = str(getattr(cause, "code", "") or type(cause).__name__)
            known = _SDK_ERRORS.get(code)
            raise (known() if known else StorageError(f"OSS refused {operation}: {code}")) from None

    def initiate(self, key: str, headers: Mapping[str, str]) -> str:
        request = self._oss.InitiateMultipartUploadRequest(
            bucket=self._bucket, key=key, headers=dict(headers),
            disable_auto_detect_mime_type=True)
        return str(self._call("initiate_multipart_upload", request).upload_id)

    def list_parts(self, key: str, upload_id: str) -> list[StoredPart]:
        parts: list[StoredPart] = []
        marker: int | None = None
        while True:
            page = self._call("list_parts", self._oss.ListPartsRequest(
                bucket=self._bucket, key=key, upload_id=upload_id, max_parts=LIST_PAGE,
                part_number_marker=marker))
            parts += [StoredPart(int(p.part_number), str(p.etag), int(p.size))
                      for p in page.parts or ()]
            if not page.is_truncated:
                return parts
            marker = page.next_part_number_marker

    def complete(self, key: str, upload_id: str, parts: Sequence[StoredPart],
                 headers: Mapping[str, str]) -> tuple[str, dict[str, Any] | None]:
        oss = self._oss
        body = oss.CompleteMultipartUpload(
            parts=[oss.UploadPart(part_number=p.number, etag=p.etag) for p in parts])
        rest = dict(headers)  # the SDK reads the callback's JSON answer only if told of it
        result = self._call("complete_multipart_upload", oss.CompleteMultipartUploadRequest(
            bucket=self._bucket, key=key, upload_id=upload_id, complete_multipart_upload=body,
            callback=rest.pop("x-oss-callback", None),
            callback_var=rest.pop("x-oss-callback-var", None), headers=rest))
        if result.status_code == 203:  # CallbackFailed is an answer, not an SDK error
            raise _SDK_ERRORS["CallbackFailed"]()
        try:  # the SDK hands the callback's answer over as text
            answer = json.loads(result.callback_result) if result.callback_result else None
        except ValueError:
            raise StorageError("the upload callback's answer is not JSON") from None
        etag = result.etag or result.headers.get("ETag", "")  # no XML body with a callback
        return str(etag), answer if isinstance(answer, dict) else None

    def abort(self, key: str, upload_id: str) -> None:
        self._call("abort_multipart_upload", self._oss.AbortMultipartUploadRequest(
            bucket=self._bucket, key=key, upload_id=upload_id))
