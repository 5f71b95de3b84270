"""One structured JSON log line per request, on the ``uploadsign.access`` logger.

Fields: ``event`` (``request``), ``request_id`` (FC's ``x-fc-request-id`` when present and
plausible, else a fresh one), ``method``, ``route`` (the matched route, never the raw
path of an unknown URL), ``status``, ``latency_ms``, ``caller`` (``sub:…``/``ip:…``),
``grant_id``, ``sts_cache`` (``hit``/``miss``/``stale``) and ``error`` (the error code).
Nothing here ever holds a token, a signature or a credential: only these fields are
written. Depends on the standard library only.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ACCESS_LOGGER = "uploadsign.access"
FC_REQUEST_ID = "HTTP_X_FC_REQUEST_ID"
UNMATCHED_ROUTE = "(unmatched)"
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

log = logging.getLogger(ACCESS_LOGGER)


@dataclass
class RequestRecord:
    """What the request did, filled in as it goes; written once at the end."""

    request_id: str
    method: str
    route: str = UNMATCHED_ROUTE
    status: int = 0
    latency_ms: float = 0.0
    caller: str | None = None
    grant_id: str | None = None
    sts_cache: str | None = None
    error: str | None = None

    def line(self) -> str:
        """Return the JSON line (compact, stable key order)."""
        return json.dumps({
            "event": "request",
            "request_id": self.request_id,
            "method": self.method,
            "route": self.route,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "caller": self.caller,
            "grant_id": self.grant_id,
            "sts_cache": self.sts_cache,
            "error": self.error,
        }, separators=(",", ":"), ensure_ascii=True)


def request_id(environ: Mapping[str, Any]) -> str:
    """Use FC's request id when it looks like one; otherwise make one up."""
    given = str(environ.get(FC_REQUEST_ID) or "")
    # fullmatch, not match with $: "$" also matches before a trailing newline.
    return given if _REQUEST_ID_RE.fullmatch(given) else "local-" + os.urandom(8).hex()


def emit(record: RequestRecord) -> None:
    """Write the record's line at INFO."""
    log.info(record.line())
