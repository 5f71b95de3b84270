"""FC 3.0 built-in Python runtime entry point: ``index.handler``.

Adapts the HTTP-trigger event to the WSGI ``app``; no logic of its own.
"""

from __future__ import annotations

from typing import Any

from app import app
from uploadsign.fc import handle_event


def handler(event: bytes | str | dict[str, Any], context: object) -> dict[str, Any]:
    """Answer one HTTP-trigger invocation."""
    return handle_event(app, event)
