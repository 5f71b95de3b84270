"""Object keys: the server, not the browser, decides where an upload lands.

A key is ``<upload dir><YYYY>/<MM>/<DD>/<32 hex random>[.<ext>]``. The original
filename never enters the key (no traversal, no collisions, no homoglyph tricks); it
is kept only as URL-encoded metadata. Pure: the date and the random source are
injected.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import datetime, timezone
from urllib.parse import quote

from uploadsign.errors import InvalidFilename

MAX_FILENAME_CHARS = 255
RANDOM_BYTES = 16
_EXTENSION_RE = re.compile(r"^[a-z0-9]{1,10}$")

RandomSource = Callable[[int], bytes]


def validate_filename(filename: str) -> str:
    """Return ``filename`` if a browser could plausibly have sent it, else raise 422."""
    if not filename or not filename.strip():
        raise InvalidFilename("filename must not be empty")
    if len(filename) > MAX_FILENAME_CHARS:
        raise InvalidFilename(f"filename must be at most {MAX_FILENAME_CHARS} characters")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp") for char in filename):
        raise InvalidFilename("filename must not contain control or format characters")
    if "/" in filename or "\\" in filename or filename.strip() in (".", ".."):
        # Browsers send a base name only; a path here is a client bug or an attack.
        raise InvalidFilename("filename must be a base name without path separators")
    return filename


def extension(filename: str) -> str:
    """Return a safe lower-case extension (``"png"``) or ``""`` when there is none."""
    stem, dot, ext = filename.rpartition(".")
    if not dot or not stem.strip("."):
        return ""  # no dot, or a dot-file such as ".env"
    ext = ext.lower()
    return ext if _EXTENSION_RE.match(ext) else ""


def choose_key(
    upload_dir: str,
    filename: str,
    now: datetime,
    random_source: RandomSource = secrets.token_bytes,
) -> str:
    """Return a fresh, unguessable key under ``upload_dir`` for ``filename``."""
    day = now.astimezone(timezone.utc).strftime("%Y/%m/%d")
    name = random_source(RANDOM_BYTES).hex()
    ext = extension(filename)
    return f"{upload_dir}{day}/{name}" + (f".{ext}" if ext else "")


def metadata_value(filename: str) -> str:
    """Encode the original filename for an ``x-oss-meta-*`` field (ASCII, header-safe)."""
    return quote(filename, safe="")
