"""WSGI entry point: ``gunicorn --chdir functions/sign app:app``.

``app`` reads ``os.environ`` on its first request, never at import, so importing this
module is cheap and side-effect free (FC custom runtime on port 9000, ``make dev``,
tests). The application itself (and logging) is imported and set up at that moment
too: ``import app`` loads only the small ``lazy`` module, so the FC runtime's import
of ``index`` costs next to nothing.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from uploadsign.lazy import LazyApp

if TYPE_CHECKING:
    from uploadsign.web import SignApp


def _build() -> SignApp:
    from uploadsign import logsetup
    from uploadsign.factory import build_app

    logsetup.configure()
    return build_app(os.environ)


app = LazyApp(_build)
