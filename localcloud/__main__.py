"""``python -m localcloud``: run the whole product locally, in the foreground, until Ctrl-C.

Owns the command line only: settings from the environment (via :mod:`localcloud.config`),
one clear line and exit code 2 for a busy port or bad settings, never a traceback for
those. The stack itself is :mod:`localcloud.stack`.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence

from localcloud.config import ConfigError, Settings
from localcloud.ports import PortInUse
from localcloud.stack import LocalCloud

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Start the stack, print where everything is, and wait for Ctrl-C or SIGTERM."""
    del argv
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        return EXIT_USAGE
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
        )
    except PortInUse as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except RuntimeError as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(f"OSS emulator   {cloud.oss_url}  "
              f"(upload bucket {cloud.bucket}, POST {cloud.post_url})")
        print(f"STS stub       {cloud.sts_url}")
        print(f"Function       {cloud.function_url}")
        print(f"Endpoints      {cloud.state_dir / 'endpoints.json'}")
        print(f"Upload page    {cloud.website_url}  "
              f"(page bucket {cloud.web_bucket}, website hosting)", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        cloud.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
