"""OSS errors as the service reports them: HTTP status, ``Code``, ``Message`` and ``EC``.

Owns the one exception type the emulator raises for a refusal and its XML rendering.
Pure: no HTTP server, no storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from xml.sax.saxutils import escape


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
