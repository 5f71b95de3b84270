"""The grant side of the upload callback: the ``callback`` and ``x:grant-*`` form fields.

With ``UPLOAD_CALLBACK_URL`` set, every exact-key grant asks OSS to POST a JSON summary
of the stored object to that URL (oss-postobject.md §10.1). The body names the system
variables (what OSS stored), the grant id, so the callback's log line can be joined to
the grant's, and the grant token (:mod:`granttoken`), so ``/callback`` can tell a
completion of this grant from any other callback OSS signed. All are pinned in the
policy by ``grants``, so a browser can neither drop the callback nor point it elsewhere.

Placeholders are written unquoted (``"size":${size}``) as OSS's samples do: OSS supplies
the JSON quoting. Whether ``size`` then arrives as a number or a string is not documented,
so ``completion`` accepts both. Pure: strings in, strings out.
"""

from __future__ import annotations

import base64
import json

CALLBACK = "callback"
GRANT_ID = "x:grant-id"
GRANT_TOKEN = "x:grant-token"
BODY_TYPE_JSON = "application/json"
BODY_TEMPLATE = (
    '{"bucket":${bucket},"object":${object},"etag":${etag},"size":${size},'
    '"mimeType":${mimeType},"grant_id":${' + GRANT_ID + '},"grant_token":${'
    + GRANT_TOKEN + "}}"
)


def callback_field(url: str) -> str:
    """Return the Base64 JSON ``callback`` form field that sends the summary to ``url``."""
    document = {
        "callbackUrl": url,
        "callbackBody": BODY_TEMPLATE,
        "callbackBodyType": BODY_TYPE_JSON,
    }
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=True)
    return base64.b64encode(text.encode("ascii")).decode("ascii")
