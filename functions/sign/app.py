"""WSGI entry point: ``gunicorn --chdir functions/sign app:app``.

``app`` reads ``os.environ`` on its first request, never at import, so importing this
module is cheap and side-effect free (FC custom runtime on port 9000, ``make dev``,
tests). Logging is set up at the same moment, for the same reason.
"""

from __future__ import annotations

import os

from uploadsign import logsetup
from uploadsign.factory import build_app
from uploadsign.web import LazyApp, SignApp


def _build() -> SignApp:
    logsetup.configure()
    return build_app(os.environ)


app = LazyApp(_build)
