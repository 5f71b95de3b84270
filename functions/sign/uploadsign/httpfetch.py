"""Small bounded HTTP GETs: the JWKS document and OSS's callback public key.

The adapter behind the injectable ``Fetch`` callables of ``jwtauth`` (JWKS) and ``callback_verify``:
stdlib ``urllib`` with a timeout and a size cap, so a slow or huge answer can neither
hang a request nor fill memory. Tests inject their own fetcher or point this one at a
loopback server. ``urllib.request`` (with ``http.client`` and ``email``) is imported on
the first fetch, not at import: most instances never fetch anything. Every failure,
a malformed URL included, is a ``FetchError``. Depends on the standard library and
``errors`` only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from uploadsign.errors import FetchError

if TYPE_CHECKING:
    import urllib.request

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
