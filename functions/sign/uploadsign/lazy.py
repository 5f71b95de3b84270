"""Build the configured app on its first request, never at import.

``app.py`` and ``index.py`` import only this module (plus ``fc``), so a cold start pays
for the application's imports at the first request, and a misconfigured environment is
answered instead of crashing the import. Depends on the standard library,
``errors`` and ``responses`` only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from uploadsign.errors import SignError
from uploadsign.responses import error_response, send

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
else:
    StartResponse = WSGIApplication = WSGIEnvironment = Any

log = logging.getLogger("uploadsign.web")


class LazyApp:
    """Build the real app on the first request, once, under a lock.

    A configuration error is answered as a JSON 500 naming every problem, and the build
    is retried on the next request, so fixing the environment needs no redeploy of code.
    """

    def __init__(self, factory: Callable[[], WSGIApplication]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._app: WSGIApplication | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        app = self._app
        if app is None:
            try:
                app = self._build()
            except SignError as error:
                log.error("cannot start: %s", error.message)
                return send(error_response(error), start_response)
        return app(environ, start_response)

    def _build(self) -> WSGIApplication:
        with self._lock:
            if self._app is None:
                self._app = self._factory()
            return self._app
