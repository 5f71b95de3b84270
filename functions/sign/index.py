"""The signing function's one entry module: ``index.handler`` (FC 3.0) and ``index.app`` (WSGI).

FC's built-in runtime calls ``index.handler``; gunicorn serves ``index:app``
(``gunicorn.conf.py``). ``app`` reads ``os.environ`` on its first request, never at
import, so importing this module is cheap and side-effect free: the application (and
logging) is imported and set up at that moment, and a misconfigured environment is
answered instead of crashing the import.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from uploadsign.fc import handle_event
from uploadsign.wsgi import LazyApp

if TYPE_CHECKING:
    from uploadsign.routes import SignApp


def _build() -> SignApp:
    from uploadsign import logsetup
    from uploadsign.factory import build_app

    logsetup.configure()
    return build_app(os.environ)


app = LazyApp(_build)


def handler(event: bytes | str | dict[str, Any], context: object) -> dict[str, Any]:
    """Answer one HTTP-trigger invocation."""
    return handle_event(app, event)
