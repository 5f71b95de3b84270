"""PostObject's refusals: each with OSS's status, Code, Message and EC.

Owns the wording of every error only a PostObject form can cause (oss-postobject.md §8.2):
the multipart form, its fields, signature, policy and sizes, written once so the
verifier, the shell and the conformance tests agree. Refusals the object API shares
(object names, stored values, ACL and RAM denials) are :mod:`localcloud.oss.errors`'s.
Where a cell of the reference is UNCONFIRMED the default it names is used and the function
says so. Pure: builds :class:`OssError` values, nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from localcloud.oss.errors import (
    MSG_INVALID_TOKEN,
    MSG_SIGNATURE_MISMATCH,
    MSG_TIME_SKEWED,
    MSG_TOO_LARGE,
    MSG_TOO_SMALL,
    MSG_UNKNOWN_AK,
    OssError,
)

MSG_NOT_MULTIPART = "Bucket POST must be of the enclosure-type multipart/form-data."
MSG_MALFORMED = "The body of your POST request is not well-formed multipart/form-data."
MSG_MISSING_FIELD = (
    "The bucket POST must contain the specified '{name}'. "
    "If it is specified, please check the order of the fields"
)
MSG_SIGNATURE_EMPTY = "Post request signature is empty."
MSG_POLICY_EXPIRED = "Invalid according to Policy: Policy expired."
MSG_CONDITION_FAILED = "Invalid according to Policy: Policy Condition failed: {condition}"
MSG_TOO_LARGE_5G = "Post body size must be less than 5G"
MSG_FIELD_TOO_LONG = "Your name of form field is too long"
MSG_PREFILE_TOO_LARGE = "Your POST request fields preceding the upload file were too large."
MSG_FILE_COUNT = "POST requires exactly one file upload per request."
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
