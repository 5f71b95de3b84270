"""STS refusals as the service words them: HTTP status, ``Code`` and ``Message``.

Owns the one exception type of the STS stub and the catalogue of the real codes it uses
(from the AssumeRole API reference, the STS troubleshooting page and the OpenAPI common error
codes). Pure: no HTTP, no clock.
"""

from __future__ import annotations


class StsError(Exception):
    """A refusal exactly as STS reports it; the shell renders it as STS's error JSON."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def missing_parameter(name: str) -> StsError:
    """A mandatory parameter is absent."""
    return StsError(
        400,
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not '
        "supplied.",
    )


def invalid_action() -> StsError:
    """The Action/Version pair is not an API this stub serves."""
    return StsError(
        404,
        "InvalidAction.NotFound",
        "Specified api is not found, please check your url and method.",
    )


def incomplete_signature() -> StsError:
    """The Authorization header or signature parameters are malformed."""
    return StsError(
        400, "IncompleteSignature", "The request signature does not conform to Aliyun standards."
    )


def unsupported_signature_method(method: str) -> StsError:
    """A signature algorithm the stub does not verify."""
    return StsError(
        400, "InvalidSignatureMethod", f"Specified signature method is not valid: {method}"
    )


def signature_mismatch() -> StsError:
    """The caller's signature differs from the one computed with its secret."""
    return StsError(
        400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."
    )


def access_key_not_found() -> StsError:
    """The caller's AccessKey id is unknown."""
    return StsError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")


def token_missing() -> StsError:
    """An STS key was used without its security token."""
    return StsError(400, "MissingSecurityToken", "SecurityToken is mandatory for this action.")


def token_expired() -> StsError:
    """The caller's temporary credentials have expired."""
    return StsError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")


def token_malformed() -> StsError:
    """The security token sent is not the one issued with the key."""
    return StsError(400, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed.")


def token_mismatch() -> StsError:
    """A token was sent with a long-term key that has none."""
    return StsError(
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
        "Specified SecurityToken mismatch with the AccessKey.",
    )


def timestamp_expired() -> StsError:
    """The request's timestamp lies outside the accepted window."""
    return StsError(
        400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
    )


def timestamp_format() -> StsError:
    """The request's timestamp cannot be parsed."""
    return StsError(
        400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
    )


def nonce_used() -> StsError:
    """A signature nonce was replayed."""
    return StsError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")


def invalid_role_arn() -> StsError:
    """RoleArn is not ``acs:ram::<account>:role/<name>``."""
    return StsError(400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.")


def invalid_session_name() -> StsError:
    """RoleSessionName is outside 2–64 characters of ``[A-Za-z0-9.@_-]``."""
    return StsError(
        400, "InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed."
    )


def invalid_external_id() -> StsError:
    """ExternalId is outside 2–96 characters of the allowed set."""
    return StsError(
        400, "InvalidParameter.ExternalId", "The parameter ExternalId is wrongly formed."
    )


def invalid_duration() -> StsError:
    """DurationSeconds is not an integer between the minimum and the role's maximum."""
    return StsError(
        400,
        "InvalidParameter.DurationSeconds",
        "The Min/Max value of DurationSeconds is 15min/1hr.",
    )


def policy_grammar() -> StsError:
    """The session policy is not a valid RAM policy document."""
    return StsError(
        400,
        "InvalidParameter.PolicyGrammar",
        "The parameter Policy has not passed grammar check.",
    )


def policy_size(limit: int) -> StsError:
    """The session policy is longer than STS accepts."""
    return StsError(
        400,
        "InvalidParameter.PolicySize",
        f"The size of Policy must be smaller than {limit} bytes.",
    )


def role_not_found() -> StsError:
    """No role with this ARN exists (the documented message, odd spacing included)."""
    return StsError(404, "EntityNotExist.Role", "The specified Role not exists .")


def not_authorized() -> StsError:
    """The caller's own policies do not allow ``sts:AssumeRole`` on the role."""
    return StsError(
        403,
        "NoPermission",
        "You are not authorized to do this action. You should be authorized by RAM.",
    )


def not_trusted() -> StsError:
    """The role's trust policy does not name the caller."""
    return StsError(
        403,
        "NoPermission",
        "No permission perform sts:AssumeRole on this Role. Maybe you are not authorized to "
        "perform sts:AssumeRole or the specified role does not trust you",
    )


def throttled() -> StsError:
    """Flow control (used by fault injection)."""
    return StsError(400, "Throttling.User", "Request was denied due to user flow control.")


def internal_error(status: int = 500) -> StsError:
    """A server-side failure (used by fault injection and as the last-resort answer)."""
    if status == 503:
        return StsError(
            503,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        )
    return StsError(
        status,
        "InternalError",
        "STS Server Internal Error happened, please send the RequestId to us.",
    )
