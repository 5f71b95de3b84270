"""Make the function's INFO lines (access log, ``upload.completed``) reach stdout/stderr.

FC's Python runtime installs its own root handler; gunicorn and ``python -m`` runs have
none, and Python then drops INFO records. Called once by the entry point's lazy build,
never at import and never by ``build_app`` (tests keep their own logging set-up).
Depends on the standard library only.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

PACKAGE_LOGGER = "uploadsign"


def configure(stream: TextIO | None = None) -> None:
    """Send ``uploadsign`` records at INFO and above somewhere visible, once.

    ``stream`` defaults to ``sys.stderr``; the benchmark passes ``/dev/null`` so it pays
    for exactly the production handler and formatter without filling a terminal.
    """
    package = logging.getLogger(PACKAGE_LOGGER)
    if package.level == logging.NOTSET:
        package.setLevel(logging.INFO)
    if logging.getLogger().handlers or package.handlers:
        return  # the platform (FC) or the host application already writes records
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package.addHandler(handler)
