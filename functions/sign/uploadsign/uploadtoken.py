"""Multipart values: the stateless, HMAC-sealed ``upload_id``, the part plan, the errors.

The function keeps no database: everything a later multipart call needs travels in the
token the browser holds, sealed under ``GRANT_SECRET`` (the first secret seals, every one
opens, so secrets rotate as grant tokens do). Wire form, URL-safe and opaque to clients::

    m1.<Base64url JSON array of the claims>.<Base64url HMAC-SHA256 over "m1.<payload>">

The claims are the bucket, object key, OSS upload id, size, part size, stored media type,
caller (JWT subject, or ``null`` in anonymous mode), grant id and expiry (Unix seconds).
The Content-Disposition, ACL, storage class and no-overwrite were pinned by OSS at
InitiateMultipartUpload and nothing later needs them, so they stay out of the token (it is
a URL path segment and a filename can be long). Sealing is integrity, not secrecy: the
holder may read the claims, which name only what the plan already told it.

Part sizes (oss-multipart.md §1.6): part numbers 1..10000, parts 100 KB..5 GB except the
last; 100 KB read as 102400 bytes, the stricter of the two readings.

Pure: no clock (``now`` is an argument), no environment, no SDK. Depends on ``errors``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass

from uploadsign.errors import BadRequest, Forbidden, InvalidField, SignError

VERSION = "m1"
MAX_PARTS = 10000
#: "100 KB" is unconfirmed as 100 * 1024 or 100 * 1000 bytes; 102400 is the stricter.
MIN_PART_BYTES = 100 * 1024
MAX_PART_BYTES = 5 * 1024**3
#: OSS's object limit through multipart, "48.8 TB": 10000 parts of 5 GiB.
MAX_MULTIPART_BYTES = MAX_PARTS * MAX_PART_BYTES
#: A token longer than this was not minted here (keys are at most 1023 bytes).
MAX_TOKEN_CHARS = 2048


class InvalidUploadId(BadRequest):
    """The ``upload_id`` is malformed, tampered with or sealed under an unknown secret."""

    code = "invalid_upload_id"


class UploadExpired(Forbidden):
    """The ``upload_id`` is genuine but ``UPLOAD_MULTIPART_EXPIRE_SECONDS`` have passed."""

    code = "upload_expired"


class InvalidPartNumbers(InvalidField):
    """Part numbers missing, repeated, not integers, out of 1..part_count, or over 100."""

    code = "invalid_part_numbers"


class NoSuchUpload(SignError):
    """OSS no longer has the upload: it was completed or aborted (OSS ``NoSuchUpload``)."""

    status = 404
    code = "no_such_upload"


class PartsMismatch(SignError):
    """The stored parts are not exactly 1..part_count with the planned sizes."""

    status = 409
    code = "parts_mismatch"


class ObjectExists(SignError):
    """The key already holds an object (OSS ``FileAlreadyExists`` under no-overwrite)."""

    status = 409
    code = "object_exists"


class StorageError(SignError):
    """OSS failed, refused the upload role, or answered something unexpected."""

    status = 502
    code = "storage_error"


@dataclass(frozen=True)
class StoredPart:
    """One part as ListParts reports it: number, quoted ETag, size in bytes."""

    number: int
    etag: str
    size: int


def part_size_for(size: int, preferred: int) -> int:
    """Return the part size for a ``size``-byte file: ``preferred``, grown to fit 10000 parts.

    Never below ``MIN_PART_BYTES``; for ``size`` up to ``MAX_MULTIPART_BYTES`` never above
    ``MAX_PART_BYTES``.
    """
    return max(preferred, MIN_PART_BYTES, -(-size // MAX_PARTS))


@dataclass(frozen=True)
class UploadClaims:
    """What an ``upload_id`` names; ``size`` and ``part_size`` in bytes, ``expires`` Unix s."""

    bucket: str
    key: str
    oss_upload_id: str
    size: int
    part_size: int
    media_type: str
    caller: str | None
    grant_id: str
    expires: int

    @property
    def part_count(self) -> int:
        """Number of parts: ``ceil(size / part_size)``, at least 1."""
        return max(1, -(-self.size // self.part_size))

    def part_length(self, number: int) -> int:
        """Exact byte length of part ``number`` (1-based): ``part_size`` but for the last."""
        if number < self.part_count:
            return self.part_size
        return self.size - (self.part_count - 1) * self.part_size

    def _fields(self) -> list[object]:
        return [self.bucket, self.key, self.oss_upload_id, self.size, self.part_size,
                self.media_type, self.caller, self.grant_id, self.expires]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, signed: str) -> str:
    return _b64(hmac.new(secret, signed.encode("ascii"), hashlib.sha256).digest())


def seal(secret: bytes, claims: UploadClaims) -> str:
    """Return the ``upload_id`` for ``claims``, sealed under ``secret``."""
    text = json.dumps(claims._fields(), separators=(",", ":"), ensure_ascii=True)
    signed = f"{VERSION}.{_b64(text.encode('ascii'))}"
    return f"{signed}.{_mac(secret, signed)}"


def unseal(secrets: Sequence[bytes], token: str, now: float) -> UploadClaims:
    """Return the claims of a genuine, unexpired ``token``.

    The MAC is compared in constant time under each of ``secrets``. Raises
    :class:`InvalidUploadId` (400) for anything not sealed here, :class:`UploadExpired`
    (403) once ``now`` (Unix seconds) is past the expiry.
    """
    invalid = InvalidUploadId("upload_id is not one this function issued")
    version, _, rest = token.partition(".")
    payload, _, mac = rest.partition(".")
    if (len(token) > MAX_TOKEN_CHARS or not token.isascii() or version != VERSION
            or not payload or not mac):
        raise invalid
    signed = f"{VERSION}.{payload}"
    given = mac.encode("ascii", "replace")
    if not any(hmac.compare_digest(_mac(secret, signed).encode("ascii"), given)
               for secret in secrets):
        raise invalid
    try:
        fields = json.loads(_unb64(payload))
        claims = UploadClaims(*fields)
    except (ValueError, TypeError, binascii.Error):
        raise invalid from None
    if claims._fields() != fields or not _well_typed(claims):
        raise invalid
    if now > claims.expires:
        raise UploadExpired("upload_id has expired; start the upload again")
    return claims


def _well_typed(claims: UploadClaims) -> bool:
    texts = (claims.bucket, claims.key, claims.oss_upload_id, claims.media_type, claims.grant_id)
    numbers = (claims.size, claims.part_size, claims.expires)
    return (all(isinstance(text, str) and text for text in texts)
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in numbers)
            and (claims.caller is None or isinstance(claims.caller, str)))
