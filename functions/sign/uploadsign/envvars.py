"""The signing function's environment variables: their names, defaults and meaning.

Names are constants, written once; ``ENV_VARS`` lists every one the function reads (deploy
checks compare it with s.yaml/template.yml). Reading and validating them is
:mod:`uploadsign.config`'s job; this module only names them.

Variables (name, default, meaning); the README table is written from this list:

- ``OSS_BUCKET`` (required): bucket that receives uploads; pinned in every policy.
- ``OSS_REGION`` (required): region ID without ``oss-``, e.g. ``cn-hangzhou``; part of
  the credential scope.
- ``OSS_HOST`` (``https://{bucket}.oss-{region}.aliyuncs.com``): URL the browser POSTs
  the form to; path-style (``http://127.0.0.1:PORT/{bucket}``) or virtual-host.
- ``OSS_UPLOAD_DIR`` (``uploads/``): key prefix of every upload; also the scope of the
  STS session policy. A missing trailing ``/`` is added.
- ``OSS_STS_ROLE_ARN`` (required): upload role assumed with STS,
  ``acs:ram::<account>:role/<name>``.
- ``STS_ENDPOINT`` (``sts.{region}.aliyuncs.com``): STS host, ``https://host`` or
  ``http://127.0.0.1:PORT`` for a local stub.
- ``STS_DURATION_SECONDS`` (``3600``): lifetime asked for the assumed credentials,
  900..43200 and at most the role's MaxSessionDuration.
- ``STS_TIMEOUT_SECONDS`` (``5``): connect and read timeout of one AssumeRole call, 1..60.
- ``STS_REFRESH_MARGIN_SECONDS`` (``300``): refresh the cached credentials this long
  before they expire; at least 60 and 60 below ``STS_DURATION_SECONDS``.
- ``STS_ROLE_SESSION_NAME`` (``oss-direct-upload``): role session name, 2..64 of
  ``[A-Za-z0-9_.@-]``; appears in ActionTrail.
- ``UPLOAD_EXPIRE_SECONDS`` (``600``): lifetime of a signed policy, 10..86400; always
  capped by the expiry of the credentials that sign it.
- ``UPLOAD_MAX_BYTES`` (``10485760``): largest file accepted, 1..5 GiB.
- ``UPLOAD_ALLOWED_CONTENT_TYPES`` (empty = any): comma list of exact lower-case MIME
  types, e.g. ``image/png,image/jpeg``.
- ``UPLOAD_SUCCESS_ACTION_STATUS`` (``200``): status OSS answers a successful POST with:
  ``200`` (empty body), ``201`` (XML body) or ``204``.
- ``CORS_ALLOWED_ORIGINS`` (empty = no CORS headers): comma list of page origins such as
  ``https://app.example.com``; ``*`` only when set literally. With ``AUTH_MODE=none`` it
  is also the list of origins that may get a grant at all.
- ``AUTH_MODE`` (``none``): ``none`` = anonymous grants for allowed origins only;
  ``jwt`` = ``Authorization: Bearer <JWT>`` required on the grant routes.
- ``AUTH_JWT_SECRET`` (jwt mode, HS256): shared secret, at least 32 bytes; never logged.
- ``AUTH_JWKS_URL`` (jwt mode, RS256/ES256): http(s) URL of the issuer's JWKS; exactly one
  of it and ``AUTH_JWT_SECRET`` must be set.
- ``AUTH_ISSUER`` / ``AUTH_AUDIENCE`` (empty = not checked): required ``iss`` / ``aud``.
- ``AUTH_LEEWAY_SECONDS`` (``30``): clock skew tolerated on ``exp``/``nbf``, 0..300.
- ``OSS_KEY_TEMPLATE`` (``{dir}{date}/{id}{ext}``): object key of ``POST /uploads``;
  placeholders ``{dir}`` (first), ``{sub}`` (jwt mode; must be followed by ``/``),
  ``{date}`` (``YYYY/MM/DD``), ``{id}`` (required, 32 hex), ``{ext}`` (``.png`` or empty).
- ``RATE_LIMIT_PER_MINUTE`` (``60``): grants per caller per minute on one instance
  (token bucket, bursts up to the same number); ``0`` turns it off.
- ``UPLOAD_CALLBACK_URL`` (empty = no callback): http(s) URL without query that OSS
  calls after storing an upload, normally this function's ``/callback``.
- ``CALLBACK_PUBKEY_URL_PREFIXES`` (the two ``gosspublic.alicdn.com`` prefixes): comma
  list of URL prefixes the callback's public key may be fetched from.
- ``GRANT_SECRET`` (required with ``UPLOAD_CALLBACK_URL``): comma list of random secrets,
  each at least 32 bytes, that sign grant tokens; the first signs, every one verifies
  (rotation). Not an AccessKey; never logged.
- ``UPLOAD_SAMPLE_ROUTE`` (``off``): ``on`` serves the sample-compatible
  ``GET /get_post_signature_for_oss_upload`` (a per-grant directory, not one object).
- ``UPLOAD_ALLOWED_ACTIVE_TYPES`` (empty): comma list of script-capable types (HTML, SVG,
  XML, JavaScript, …) stored as themselves; any other such type is stored as
  ``application/octet-stream``.

``FC_FUNCTION_NAME`` is read only to know the function runs on FC (for a start-up
warning); it is set by the platform, not by the user.

Depends on nothing.
"""

from __future__ import annotations

OSS_BUCKET = "OSS_BUCKET"
OSS_REGION = "OSS_REGION"
OSS_HOST = "OSS_HOST"
OSS_UPLOAD_DIR = "OSS_UPLOAD_DIR"
OSS_STS_ROLE_ARN = "OSS_STS_ROLE_ARN"
STS_ENDPOINT = "STS_ENDPOINT"
STS_DURATION_SECONDS = "STS_DURATION_SECONDS"
STS_TIMEOUT_SECONDS = "STS_TIMEOUT_SECONDS"
STS_REFRESH_MARGIN_SECONDS = "STS_REFRESH_MARGIN_SECONDS"
STS_ROLE_SESSION_NAME = "STS_ROLE_SESSION_NAME"
UPLOAD_EXPIRE_SECONDS = "UPLOAD_EXPIRE_SECONDS"
UPLOAD_MAX_BYTES = "UPLOAD_MAX_BYTES"
UPLOAD_ALLOWED_CONTENT_TYPES = "UPLOAD_ALLOWED_CONTENT_TYPES"
UPLOAD_SUCCESS_ACTION_STATUS = "UPLOAD_SUCCESS_ACTION_STATUS"
CORS_ALLOWED_ORIGINS = "CORS_ALLOWED_ORIGINS"
AUTH_MODE = "AUTH_MODE"
AUTH_JWT_SECRET = "AUTH_JWT_SECRET"
AUTH_JWKS_URL = "AUTH_JWKS_URL"
AUTH_ISSUER = "AUTH_ISSUER"
AUTH_AUDIENCE = "AUTH_AUDIENCE"
AUTH_LEEWAY_SECONDS = "AUTH_LEEWAY_SECONDS"
OSS_KEY_TEMPLATE = "OSS_KEY_TEMPLATE"
RATE_LIMIT_PER_MINUTE = "RATE_LIMIT_PER_MINUTE"
UPLOAD_CALLBACK_URL = "UPLOAD_CALLBACK_URL"
CALLBACK_PUBKEY_URL_PREFIXES = "CALLBACK_PUBKEY_URL_PREFIXES"
GRANT_SECRET = "GRANT_SECRET"
UPLOAD_SAMPLE_ROUTE = "UPLOAD_SAMPLE_ROUTE"
UPLOAD_ALLOWED_ACTIVE_TYPES = "UPLOAD_ALLOWED_ACTIVE_TYPES"
FC_FUNCTION_NAME = "FC_FUNCTION_NAME"

#: Every variable this module reads; deploy checks compare it with s.yaml/template.yml.
ENV_VARS: tuple[str, ...] = (
    OSS_BUCKET,
    OSS_REGION,
    OSS_HOST,
    OSS_UPLOAD_DIR,
    OSS_STS_ROLE_ARN,
    STS_ENDPOINT,
    STS_DURATION_SECONDS,
    STS_TIMEOUT_SECONDS,
    STS_REFRESH_MARGIN_SECONDS,
    STS_ROLE_SESSION_NAME,
    UPLOAD_EXPIRE_SECONDS,
    UPLOAD_MAX_BYTES,
    UPLOAD_ALLOWED_CONTENT_TYPES,
    UPLOAD_SUCCESS_ACTION_STATUS,
    CORS_ALLOWED_ORIGINS,
    AUTH_MODE,
    AUTH_JWT_SECRET,
    AUTH_JWKS_URL,
    AUTH_ISSUER,
    AUTH_AUDIENCE,
    AUTH_LEEWAY_SECONDS,
    OSS_KEY_TEMPLATE,
    RATE_LIMIT_PER_MINUTE,
    UPLOAD_CALLBACK_URL,
    CALLBACK_PUBKEY_URL_PREFIXES,
    GRANT_SECRET,
    UPLOAD_SAMPLE_ROUTE,
    UPLOAD_ALLOWED_ACTIVE_TYPES,
)
#: Set by FC itself; read only to warn about anonymous mode on the platform.
PLATFORM_MARKER_VARS: tuple[str, ...] = (FC_FUNCTION_NAME,)
#: Injected by FC from the execution role and read by ``alibabacloud_credentials``.
PLATFORM_ENV_VARS: tuple[str, ...] = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
)

MAX_OBJECT_BYTES = 5 * 1024**3  # PostObject limit
AUTH_MODES = ("none", "jwt")
DEFAULT_KEY_TEMPLATE = "{dir}{date}/{id}{ext}"
#: Where OSS publishes its callback public keys (oss-postobject.md §10.3).
DEFAULT_PUBKEY_URL_PREFIXES = ("http://gosspublic.alicdn.com/", "https://gosspublic.alicdn.com/")
MIN_HS256_SECRET_BYTES = 32  # RFC 7518 §3.2: at least the hash output size
