"""The PostObject error catalog: each refusal with OSS's status, Code, Message and EC.

Owns the wording of every PostObject error (oss-postobject.md §8.2), written once so
the verifier, the shell and the conformance tests agree. Where a cell of the reference
is UNCONFIRMED the default it names is used and the function says so. Pure: builds
:class:`OssError` values, nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from localcloud.oss.errors import OssError

MSG_NOT_MULTIPART = "Bucket POST must be of the enclosure-type multipart/form-data."
MSG_MALFORMED = "The body of your POST request is not well-formed multipart/form-data."
MSG_MISSING_FIELD = (
    "The bucket POST must contain the specified '{name}'. "
    "If it is specified, please check the order of the fields"
)
MSG_SIGNATURE_EMPTY = "Post request signature is empty."
MSG_UNKNOWN_AK = "The OSS Access Key Id you provided does not exist in our records."
MSG_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
MSG_INVALID_TOKEN = "The security token you provided is invalid."
MSG_TIME_SKEWED = "The difference between the request time and the current time is too large."
MSG_POLICY_EXPIRED = "Invalid according to Policy: Policy expired."
MSG_CONDITION_FAILED = "Invalid according to Policy: Policy Condition failed: {condition}"
MSG_TOO_LARGE = "Your proposed upload exceeds the maximum allowed size."
MSG_TOO_LARGE_5G = "Post body size must be less than 5G"
MSG_TOO_SMALL = "Your proposed upload smaller than the minimum allowed size."
MSG_FILE_EXISTS = "The object you specified already exists and can not be overwritten."
MSG_FIELD_TOO_LONG = "Your name of form field is too long"
MSG_PREFILE_TOO_LARGE = "Your POST request fields preceding the upload file were too large."
MSG_FILE_COUNT = "POST requires exactly one file upload per request."
MSG_INVALID_DIGEST = "The Content-MD5 you specified was invalid."
MSG_CALLBACK_NOT_JSON = "The callback configuration is not json format."
MSG_OBJECT_INVALID = "The specified object is not valid."
MSG_SIMPLE_CONDITION = (
    "Invalid Policy: Invalid Simple-Condition: "
    "Simple-Conditions must have exactly one property specified."
)


def not_multipart() -> OssError:
    """Request Content-Type is not multipart/form-data with a boundary."""
    return OssError(400, "RequestIsNotMultiPartContent", MSG_NOT_MULTIPART)


def malformed(ec: str | None = None) -> OssError:
    """The multipart body is not well formed (also: file missing or body truncated).

    For a missing file or a truncated body the status and Code are UNCONFIRMED; the
    reference's default (400 MalformedPOSTRequest, EC 0006-00000104/107) is used.
    """
    return OssError(400, "MalformedPOSTRequest", MSG_MALFORMED, ec=ec)


def missing_field(name: str, *, ec: str | None = None, with_argument: bool = False) -> OssError:
    """A required form field is absent (or, for ``key``, comes after ``file``)."""
    extra = {"ArgumentName": name, "ArgumentValue": ""} if with_argument else None
    return OssError(
        400, "InvalidArgument", MSG_MISSING_FIELD.format(name=name), ec=ec, extra=extra
    )


def invalid_argument(message: str, *, ec: str | None = None, name: str | None = None,
                     value: str = "") -> OssError:
    """400 InvalidArgument with an optional ArgumentName/ArgumentValue pair."""
    extra = {"ArgumentName": name, "ArgumentValue": value} if name else None
    return OssError(400, "InvalidArgument", message, ec=ec, extra=extra)


def signature_empty(ec: str) -> OssError:
    """``Signature`` (V1, EC 0002-00000703) or ``x-oss-signature`` (V4, 0002-00000704) empty."""
    return OssError(400, "InvalidArgument", MSG_SIGNATURE_EMPTY, ec=ec)


def request_time_too_skewed() -> OssError:
    """``x-oss-date`` outside the accepted window.

    UNCONFIRMED status and Code (the reference defaults to 403 RequestTimeTooSkewed);
    the EC is the documented one for a SignDate too far from the current time.
    """
    return OssError(
        403,
        "RequestTimeTooSkewed",
        MSG_TIME_SKEWED,
        ec="0002-00000709",
    )


def unknown_access_key() -> OssError:
    """The AccessKey id is not known."""
    return OssError(403, "InvalidAccessKeyId", MSG_UNKNOWN_AK)


def missing_security_token() -> OssError:
    """An STS AccessKey arrived without ``x-oss-security-token``.

    EC 0002-00000003 documents this case but not its Code; the reference's default
    (403 InvalidAccessKeyId) is used.
    """
    return OssError(403, "InvalidAccessKeyId", MSG_UNKNOWN_AK, ec="0002-00000003")


def invalid_security_token() -> OssError:
    """The security token does not belong to the AccessKey.

    Documented: 403 InvalidSecurityToken "The security token you provided is invalid."
    (OSS 403 troubleshooting page; EC page 0002-00000008).
    """
    return OssError(
        403, "InvalidSecurityToken", MSG_INVALID_TOKEN,
        ec="0002-00000008",
    )


def security_token_expired() -> OssError:
    """The STS credentials have expired.

    Documented: 403 SecurityTokenExpired "The security token you provided has expired."
    EC 0002-00000007 (EC page 0002-00000007; a real response quoted at
    developer.aliyun.com/ask/553273).
    """
    return OssError(
        403, "SecurityTokenExpired", "The security token you provided has expired.",
        ec="0002-00000007",
    )


def signature_mismatch() -> OssError:
    """The recomputed signature differs from the one sent."""
    return OssError(403, "SignatureDoesNotMatch", MSG_SIGNATURE_MISMATCH, ec="0002-00000705")


def invalid_policy(message: str, ec: str | None = None) -> OssError:
    """The policy document is not valid (message already starts with ``Invalid Policy:``)."""
    return OssError(400, "InvalidPolicyDocument", message, ec=ec)


def policy_expired() -> OssError:
    """The policy's ``expiration`` has passed."""
    return OssError(403, "AccessDenied", MSG_POLICY_EXPIRED, ec="0006-00000213")


def format_condition(parts: Sequence[object]) -> str:
    """Print a condition the way OSS quotes it: ``["op", "$field", "value"]``."""
    return json.dumps(list(parts), ensure_ascii=False, separators=(", ", ": "))


def condition_failed(parts: Sequence[object]) -> OssError:
    """A policy condition is not met (or names a field absent from the form)."""
    return OssError(
        403, "AccessDenied", MSG_CONDITION_FAILED.format(condition=format_condition(parts))
    )


def entity_too_large(*, five_gb: bool = False) -> OssError:
    """The file passed the policy maximum, or the 5 GB PostObject limit."""
    return OssError(
        400, "EntityTooLarge", MSG_TOO_LARGE_5G if five_gb else MSG_TOO_LARGE,
        ec="0006-00000003",
    )


def entity_too_small() -> OssError:
    """The file is below the policy minimum."""
    return OssError(400, "EntityTooSmall", MSG_TOO_SMALL, ec="0006-00000004")


def file_already_exists() -> OssError:
    """``x-oss-forbid-overwrite`` is true and the key exists (used by the storage shell)."""
    return OssError(409, "FileAlreadyExists", MSG_FILE_EXISTS)


def field_name_too_long() -> OssError:
    """A form field name passed the limit."""
    return OssError(400, "FieldItemTooLong", MSG_FIELD_TOO_LONG, ec="0006-00000110")


def field_value_too_long() -> OssError:
    """A form field value passed the limit (no OSS wording is documented; UNCONFIRMED)."""
    return OssError(400, "FieldItemTooLong", "Your value of form field is too long",
                    ec="0006-00000110")


def prefile_too_large() -> OssError:
    """The fields before ``file`` together passed the limit."""
    return OssError(400, "MaxPOSTPreDataLengthExceededError", MSG_PREFILE_TOO_LARGE,
                    ec="0006-00000112")


def too_many_files() -> OssError:
    """More than one file part."""
    return OssError(400, "IncorrectNumberOfFilesInPOSTRequest", MSG_FILE_COUNT)


def invalid_digest() -> OssError:
    """``Content-MD5`` does not match the whole body (message UNCONFIRMED; reference default)."""
    return OssError(400, "InvalidDigest", MSG_INVALID_DIGEST)


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


def signing_region_invalid(credential: str) -> OssError:
    """The region of a PostObject ``x-oss-credential`` is not the bucket's.

    Documented verbatim with a real response (EC page 0002-00000715).
    """
    return OssError(400, "InvalidArgument", "The signing region in credential is invalid.",
                    ec="0002-00000715",
                    extra={"ArgumentName": "x-oss-credential", "ArgumentValue": credential})


def signing_product_invalid(credential: str) -> OssError:
    """The product of a PostObject ``x-oss-credential`` is not ``oss``.

    EC page 0002-00000716 documents the case without a response: the Code, Message and
    ArgumentName/Value are UNCONFIRMED, modelled on the region's (0002-00000715).
    """
    return OssError(400, "InvalidArgument", "The signing product in credential is invalid.",
                    ec="0002-00000716",
                    extra={"ArgumentName": "x-oss-credential", "ArgumentValue": credential})


def metadata_too_large() -> OssError:
    """``x-oss-meta-*`` together passed 8 KB (Code and wording UNCONFIRMED)."""
    return OssError(400, "MetadataTooLarge",
                    "Your metadata headers exceed the maximum allowed metadata size.")


def invalid_callback(message: str = MSG_CALLBACK_NOT_JSON) -> OssError:
    """The ``callback`` field is not acceptable."""
    return invalid_argument(message, name="callback")


def callback_failed(detail: str) -> OssError:
    """The application's callback did not succeed; the object is kept (203)."""
    return OssError(203, "CallbackFailed", detail, ec="0007-00000203")


# --- Routing, and the object operations beyond uploads (copy, ACLs, batch delete) ---------

MSG_NOT_IMPLEMENTED = "A header you provided implies functionality that is not implemented."
MSG_MALFORMED_XML = (
    "The XML you provided was not well-formed or did not validate against our published "
    "schema."
)


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
