"""The JSON text of a ``POST /uploads`` grant, from pre-escaped parts.

Why: on the warm path the policy document and the answer are the largest pieces of
work a grant does besides the HMAC, and most of their text is the same for every request
signed with the same credentials on the same day: the bucket condition, the V4 fields
(the security token alone is hundreds of characters) and the credential. That part is
JSON-escaped once per (bucket, credential, token) and cached; only the per-request
values (expiry, ``x-oss-date``, key, content type, file name, size, callback, grant id,
policy, signature) are escaped per call. The result is byte for byte what
``policy.encode`` and ``responses.json_response`` make of the plain structures
(``tests/sign/test_grant_json.py`` holds the two equal over generated inputs), so the
plain structures stay the definition and this module only a faster spelling of it.

Pure: strings in, strings out; stdlib only (``json``'s own escaper).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from json.encoder import encode_basestring_ascii as _q

from uploadsign.policy import (
    BUCKET,
    CONTENT_LENGTH_RANGE,
    CREDENTIAL,
    DATE,
    POLICY,
    SECURITY_TOKEN,
    SIGNATURE,
    SIGNATURE_VERSION,
)


@lru_cache(maxsize=16)
def _policy_parts(
    bucket: str, version: str, credential: str, token: str
) -> tuple[str, str]:
    # Everything between the expiry and ``x-oss-date``, and from there to the form fields.
    before_date = (
        ',"conditions":[{' + _q(BUCKET) + ":" + _q(bucket) + "},{"
        + _q(SIGNATURE_VERSION) + ":" + _q(version) + "},{"
        + _q(CREDENTIAL) + ":" + _q(credential) + "},{" + _q(DATE) + ":"
    )
    after_date = "},{" + _q(SECURITY_TOKEN) + ":" + _q(token) + "}"
    return before_date, after_date


def upload_policy(
    *,
    expiration: str,
    bucket: str,
    auth: Mapping[str, str],
    form: Mapping[str, str],
    size: int,
) -> str:
    """Return the policy JSON of ``policy.upload_conditions`` with ``expiration``.

    ``auth`` is ``policy.auth_fields``' mapping (its four names, in its order).
    """
    before_date, after_date = _policy_parts(
        bucket, auth[SIGNATURE_VERSION], auth[CREDENTIAL], auth[SECURITY_TOKEN]
    )
    parts = ['{"expiration":', _q(expiration), before_date, _q(auth[DATE]), after_date]
    for name, value in form.items():
        parts.append(',["eq",' + _q("$" + name.lower()) + "," + _q(value) + "]")
    # ``int.__repr__`` is how ``json`` writes an int (also for int subclasses).
    length = int.__repr__(size)
    parts.append(",[" + _q(CONTENT_LENGTH_RANGE) + "," + length + "," + length + "]]}")
    return "".join(parts)


@lru_cache(maxsize=16)
def _answer_parts(url: str, version: str, credential: str, token: str) -> tuple[str, str, str]:
    head = '{"url":' + _q(url) + ',"fields":{'
    before_date = (
        _q(SIGNATURE_VERSION) + ":" + _q(version) + ","
        + _q(CREDENTIAL) + ":" + _q(credential) + "," + _q(DATE) + ":"
    )
    after_date = "," + _q(SECURITY_TOKEN) + ":" + _q(token) + "," + _q(POLICY) + ":"
    return head, before_date, after_date


def upload_answer(
    *,
    url: str,
    form: Mapping[str, str],
    auth: Mapping[str, str],
    policy_text: str,
    signature: str,
    key: str,
    expires_at: str,
    max_size: int,
    grant_id: str,
) -> str:
    """Return the JSON of ``grants.GrantService.upload_grant``'s answer body.

    Field order as in that body: ``url``, ``fields`` (form, then ``auth``, ``policy``,
    signature), ``key``, ``expires_at``, ``max_size``, ``grant_id``. ``policy_text`` must
    be Base64 (as ``policy.sign_json`` makes it): no character of that alphabet needs
    JSON escaping, so the longest string of the answer is quoted without a scan.
    """
    head, before_date, after_date = _answer_parts(
        url, auth[SIGNATURE_VERSION], auth[CREDENTIAL], auth[SECURITY_TOKEN]
    )
    parts = [head]
    for name, value in form.items():
        parts.append(_q(name) + ":" + _q(value) + ",")
    parts += [
        before_date, _q(auth[DATE]), after_date, '"', policy_text, '"',
        "," + _q(SIGNATURE) + ":", _q(signature), '},"key":', _q(key),
        ',"expires_at":', _q(expires_at), ',"max_size":', int.__repr__(max_size),
        ',"grant_id":', _q(grant_id), "}",
    ]
    return "".join(parts)
