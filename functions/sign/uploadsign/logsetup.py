"""Make the function's INFO lines (access log, ``upload.completed``) reach stdout/stderr.

FC's Python runtime installs its own root handler; gunicorn and ``python -m`` runs have
none, and Python then drops INFO records. Called once by the entry point's lazy build,
never at import and never by ``build_app`` (tests keep their own logging set-up).
Depends on the standard library only.
"""

from __future__ import annotations

import logging
import sys

PACKAGE_LOGGER = "uploadsign"


def configure() -> None:
    """Send ``uploadsign`` records at INFO and above somewhere visible, once."""
    package = logging.getLogger(PACKAGE_LOGGER)
    if package.level == logging.NOTSET:
        package.setLevel(logging.INFO)
    if logging.getLogger().handlers or package.handlers:
        return  # the platform (FC) or the host application already writes records
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package.addHandler(handler)
