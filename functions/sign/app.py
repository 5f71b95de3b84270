"""WSGI entry point: ``gunicorn --chdir functions/sign app:app``.

``app`` reads ``os.environ`` on its first request, never at import, so importing this
module is cheap and side-effect free (FC custom runtime on port 9000, ``make dev``,
tests).
"""

from __future__ import annotations

import os

from uploadsign.factory import build_app
from uploadsign.web import LazyApp

app = LazyApp(lambda: build_app(os.environ))
