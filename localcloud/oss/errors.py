"""OSS errors as the service reports them: HTTP status, ``Code``, ``Message`` and ``EC``.

Owns the one exception type the emulator raises for a refusal, its XML rendering, and the
wording of the refusals shared by the object API (authentication, ACL and RAM denials,
object names and stored values, routing, copy and XML bodies), written once so handlers
and tests agree. PostObject's own refusals are :mod:`localcloud.oss.postobject.errors`.
Where a cell of the reference is UNCONFIRMED the default it names is used and the function
says so. Pure: no HTTP server, no storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

MSG_UNKNOWN_AK = "The OSS Access Key Id you provided does not exist in our records."
MSG_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
MSG_INVALID_TOKEN = "The security token you provided is invalid."
MSG_TIME_SKEWED = "The difference between the request time and the current time is too large."
MSG_TOO_LARGE = "Your proposed upload exceeds the maximum allowed size."
MSG_TOO_SMALL = "Your proposed upload smaller than the minimum allowed size."
MSG_FILE_EXISTS = "The object you specified already exists and can not be overwritten."
MSG_INVALID_DIGEST = "The Content-MD5 you specified was invalid."
MSG_OBJECT_INVALID = "The specified object is not valid."
MSG_NOT_IMPLEMENTED = "A header you provided implies functionality that is not implemented."
MSG_CALLBACK_NOT_JSON = "The callback configuration is not json format."
MSG_MALFORMED_XML = (
    "The XML you provided was not well-formed or did not validate against our published "
    "schema."
)


class OssError(Exception):
    """A refusal exactly as OSS words it; the HTTP shell renders it with :func:`render_error`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        ec: str | None = None,
        extra: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.ec = ec
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


def render_error(error: OssError, *, request_id: str, host_id: str) -> bytes:
    """Render the XML body OSS sends with an error (children in OSS's order)."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n',
        f"  <Code>{escape(error.code)}</Code>\n",
        f"  <Message>{escape(error.message)}</Message>\n",
        f"  <RequestId>{escape(request_id)}</RequestId>\n",
        f"  <HostId>{escape(host_id)}</HostId>\n",
    ]
    for name, value in error.extra.items():
        parts.append(f"  <{name}>{escape(value)}</{name}>\n")
    if error.ec:
        parts.append(f"  <EC>{escape(error.ec)}</EC>\n")
        parts.append(
            "  <RecommendDoc>https://api.aliyun.com/troubleshoot?q="
            f"{escape(error.ec)}</RecommendDoc>\n"
        )
    parts.append("</Error>\n")
    return "".join(parts).encode("utf-8")


def invalid_argument(message: str, *, ec: str | None = None, name: str | None = None,
                     value: str = "") -> OssError:
    """400 InvalidArgument with an optional ArgumentName/ArgumentValue pair."""
    extra = {"ArgumentName": name, "ArgumentValue": value} if name else None
    return OssError(400, "InvalidArgument", message, ec=ec, extra=extra)


def file_already_exists() -> OssError:
    """``x-oss-forbid-overwrite`` is true and the key exists (used by the storage shell)."""
    return OssError(409, "FileAlreadyExists", MSG_FILE_EXISTS)


def invalid_digest() -> OssError:
    """``Content-MD5`` does not match the whole body (message UNCONFIRMED; reference default)."""
    return OssError(400, "InvalidDigest", MSG_INVALID_DIGEST)


def access_denied(message: str, ec: str | None = None, **extra: str) -> OssError:
    """Return 403 AccessDenied with optional extra XML children."""
    return OssError(403, "AccessDenied", message, ec=ec, extra=extra)


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def time_too_skewed(request_time: str, now: datetime, max_skew: timedelta) -> OssError:
    """Return 403 RequestTimeTooSkewed for a signed request dated outside ``max_skew``."""
    return OssError(
        403,
        "RequestTimeTooSkewed",
        MSG_TIME_SKEWED,
        extra={
            "RequestTime": request_time,
            "ServerTime": _utc_text(now),
            "MaxAllowedSkewMilliseconds": str(int(max_skew.total_seconds() * 1000)),
        },
    )


def request_expired(expires_at: datetime, now: datetime) -> OssError:
    """Return the 403 for a presigned request used after ``expires_at``."""
    return access_denied("Request has expired.", Expires=_utc_text(expires_at),
                         ServerTime=_utc_text(now))


def unknown_access_key_id(access_key_id: str) -> OssError:
    """Return 403 InvalidAccessKeyId naming the key, as the object API answers it."""
    return OssError(403, "InvalidAccessKeyId", MSG_UNKNOWN_AK,
                    extra={"OSSAccessKeyId": access_key_id})


def access_denied_by_bucket_acl() -> OssError:
    """An anonymous POST to a bucket that is not public-read-write."""
    return OssError(403, "AccessDenied",
                    "You have no right to access this object because of bucket acl.")


def access_denied_by_ram() -> OssError:
    """The principal's RAM policies do not allow oss:PutObject on the key.

    UNCONFIRMED wording: OSS answers 403 AccessDenied; the exact message for a RAM
    denial is not in the reference.
    """
    return OssError(403, "AccessDenied", "You have no right to access this object.")


def invalid_object_name(ec: str | None = None) -> OssError:
    """An object name OSS's rules refuse; with no EC: one holding NUL or DEL.

    The wording is the OSS 400 page's ("The specified object is not valid"; the page
    drops final periods everywhere). UNCONFIRMED that OSS refuses NUL or DEL in a name at
    all (it accepts the other control characters): the stricter reading refuses them,
    with no EC (none is documented).
    """
    return OssError(400, "InvalidObjectName", MSG_OBJECT_INVALID, ec=ec)


def object_name_empty() -> OssError:
    """The object name is empty (EC 0016-00000001; wording of the OSS 400 page)."""
    return OssError(400, "InvalidObjectName", "The Object name can not be empty.",
                    ec="0016-00000001")


def object_name_too_long() -> OssError:
    """The object name is longer than 1023 bytes (EC 0016-00000002, OSS 400 page)."""
    return OssError(400, "InvalidObjectName",
                    "The Length of Object name must be less than 1024.", ec="0016-00000002")


def object_name_not_utf8() -> OssError:
    """The object name is not UTF-8 (EC 0016-00000004)."""
    return invalid_object_name(ec="0016-00000004")


def object_name_leading_slash() -> OssError:
    """The object name starts with ``/`` or ``\\`` (EC 0016-00000005)."""
    return invalid_object_name(ec="0016-00000005")


def invalid_metadata_name() -> OssError:
    """An ``x-oss-meta-*`` name holds more than letters, digits and hyphens.

    EC 0011-00000004 documents the case but not its Code or Message: 400 InvalidArgument
    and this wording are UNCONFIRMED. The name is not echoed (it may hold anything).
    """
    return OssError(400, "InvalidArgument",
                    "The name of a user metadata header may hold only letters, digits and "
                    "hyphens.", ec="0011-00000004")


def invalid_stored_value(name: str) -> OssError:
    """A value the object would keep (a header or ``x-oss-meta-*``) is refused.

    A control character (HTAB included) or bytes that are not UTF-8. For user metadata
    EC 0011-00000005 documents the case but not its Code or Message; elsewhere nothing is
    documented. 400 InvalidArgument and this wording are UNCONFIRMED. ``name`` is one the
    emulator already validated; the value itself is never echoed.
    """
    ec = "0011-00000005" if name.startswith("x-oss-meta-") else None
    return OssError(400, "InvalidArgument",
                    f"The value of {name} must be UTF-8 text without control characters.",
                    ec=ec, extra={"ArgumentName": name})


def not_implemented() -> OssError:
    """An operation, or a header or parameter of one, that the emulator does not offer.

    The Code and Message are OSS's (OSS 400 page: NotImplemented); the page files it
    under 400, but HTTP's and OSS's own answers for unsupported operations are 501, which
    the emulator keeps so a client can tell "not offered here" from "bad request".
    """
    return OssError(501, "NotImplemented", MSG_NOT_IMPLEMENTED)


def method_not_allowed() -> OssError:
    """A method OSS does not accept on this resource (e.g. PATCH, or POST on an object)."""
    return OssError(405, "MethodNotAllowed",
                    "The specified method is not allowed against this resource.")


def invalid_copy_source() -> OssError:
    """``x-oss-copy-source`` is not ``/bucket/key`` (wording of the OSS 400 page)."""
    return invalid_argument("Copy Source must mention the source bucket and key: "
                            "/sourcebucket/sourcekey.")


def invalid_metadata_directive(value: str) -> OssError:
    """``x-oss-metadata-directive`` is neither COPY nor REPLACE (wording UNCONFIRMED)."""
    return invalid_argument("Unknown metadata directive.", name="x-oss-metadata-directive",
                            value=value)


def copy_source_too_large() -> OssError:
    """The CopyObject source is over the size CopyObject accepts (OSS 400 page wording)."""
    return OssError(400, "EntityTooLarge",
                    "Source object Length exceeds the maximum allowed size.")


def precondition_failed() -> OssError:
    """An ``If-Match``/``If-Unmodified-Since`` style condition does not hold.

    412 is documented (CopyObject, GetObject); the Code and Message are UNCONFIRMED.
    """
    return OssError(412, "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold.")


def malformed_xml() -> OssError:
    """A request body is not the XML the operation takes (OSS 400 page: MalformedXML)."""
    return OssError(400, "MalformedXML", MSG_MALFORMED_XML)


def missing_content_md5() -> OssError:
    """DeleteMultipleObjects without ``Content-MD5`` (EC 0016-00000606).

    The EC page documents the case but not its Code or Message; OSS's generic code for a
    missing required argument is used (UNCONFIRMED).
    """
    return OssError(400, "MissingArgument", "Missing Some Required Arguments.",
                    ec="0016-00000606")


def user_key_must_be_specified() -> OssError:
    """A DeleteMultipleObjects ``<Object>`` without a key (OSS 400 page)."""
    return OssError(400, "UserKeyMustBeSpecified", "User key must be specified.")


def invalid_callback(message: str = MSG_CALLBACK_NOT_JSON) -> OssError:
    """The ``callback`` field (or ``x-oss-callback`` header) is not acceptable."""
    return invalid_argument(message, name="callback")


def callback_failed(detail: str) -> OssError:
    """The application's callback did not succeed; the object is kept (203)."""
    return OssError(203, "CallbackFailed", detail, ec="0007-00000203")
