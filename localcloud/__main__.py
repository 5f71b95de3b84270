"""``python -m localcloud``: run the whole product locally, in the foreground, until stopped.

Owns the command line only: settings from the environment (via :mod:`localcloud.config`),
one clear line and exit code 2 for a busy port, a state directory another instance holds
or bad settings, never a traceback for those; what it prints (the page's URL first, every
other endpoint said for what it is); the function's log lines echoed below; and stopping.
Ctrl-C, SIGTERM, SIGHUP and SIGQUIT, alone, together or repeated, only ask for one stop
that then runs to its end: no signal interrupts the stop itself, so nothing is left
running. The stack itself is :mod:`localcloud.stack`.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from localcloud.config import ENV_EXTRA_ORIGINS, ConfigError, Settings
from localcloud.functionenv import CORS_ORIGINS_VAR
from localcloud.functionproc import ECHO_PREFIX, LogEcho, StartCancelled
from localcloud.ports import PortInUse
from localcloud.stack import LocalCloud, StateDirInUse

EXIT_USAGE = 2
#: What a shell reports for a command ended by Ctrl-C.
EXIT_INTERRUPTED = 130
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def banner(cloud: LocalCloud, settings: Settings) -> list[str]:
    """Return the lines printed once the stack is up: the page first, then what else runs."""
    page_origins = ", ".join(cloud.page_origins)
    if CORS_ORIGINS_VAR in cloud.inherited_env:
        cors = (f"function {cloud.function_cors_origins or '(none)'} ({CORS_ORIGINS_VAR} "
                f"from the environment); upload bucket {page_origins}")
    else:
        cors = f"{page_origins}  (function and upload bucket; more: {ENV_EXTRA_ORIGINS})"
    return [
        f"Upload page    {cloud.website_url}  <- open this in a browser",
        f"Function       {cloud.function_url}  (POST /uploads; its log lines follow below, "
        f"starting {ECHO_PREFIX.strip()!r})",
        f"Upload bucket  {cloud.bucket}, browsers POST to {cloud.post_url}  (private)",
        f"OSS API        {cloud.oss_url}  (signed requests only, not a page: a browser "
        "gets AccessDenied)",
        f"STS stub       {cloud.sts_url}",
        f"CORS origins   {cors}",
        f"State          {settings.state_dir}  (endpoints.json, function.log)",
        "Press Ctrl-C to stop.",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Start the stack, print where everything is, and run until a stop signal."""
    del argv
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        return EXIT_USAGE
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in STOP_SIGNALS}
    try:
        return _run(settings, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(settings: Settings, stop: threading.Event) -> int:
    try:
        cloud = LocalCloud.start(
            settings.state_dir,
            host=settings.host,
            oss_port=settings.oss_port,
            sts_port=settings.sts_port,
            function_port=settings.function_port,
            bucket=settings.bucket,
            web_bucket=settings.web_bucket,
            inherited_env=os.environ,
            extra_origins=settings.extra_origins,
            cancel=stop,
        )
    except (PortInUse, StateDirInUse) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except StartCancelled:
        print("localcloud: stopped during start-up.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except RuntimeError as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        return 1
    echo: LogEcho | None = None
    try:
        print("\n".join(banner(cloud, settings)), flush=True)
        if cloud.function is not None and cloud.log_path is not None:
            echo = LogEcho(cloud.log_path, cloud.function.log_offset, sys.stdout).start()
        while not stop.wait(0.5):
            pass
    finally:
        cloud.stop()
        if echo is not None:
            echo.stop()
    try:
        print("localcloud: stopped.", flush=True)
    except OSError:
        pass  # the terminal went away (SIGHUP): the stop itself is what matters
    return 0


if __name__ == "__main__":
    sys.exit(main())
