"""Object keys: the server, not the browser, decides where an upload lands.

By default a key is ``<upload dir><YYYY>/<MM>/<DD>/<32 hex random>[.<ext>]``, the
extension taken from the stored media type, never from the client's file name;
``OSS_KEY_TEMPLATE`` may put the caller's subject in it (``{dir}{sub}/{date}/{id}{ext}``)
so each user writes only under their own prefix, which the policy then pins. The original
filename never enters the key (no traversal, no collisions, no homoglyph tricks); it
is kept only as URL-encoded metadata. Pure: the date and the random source are
injected.
"""

from __future__ import annotations

import hashlib
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
_SAFE_SUBJECT_RE = re.compile(r"^[A-Za-z0-9_@.-]{1,64}$")

RandomSource = Callable[[int], bytes]


#: Explicit bidirectional formatting (embeddings, overrides, isolates): they make
#: ``gpj.exe`` display as ``exe.jpg``. The marks U+200E, U+200F and U+061C stay allowed.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Controls, and the line/paragraph separators that act as line breaks in a header.
_CONTROL_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def validate_filename(filename: str) -> str:
    """Return ``filename`` if a browser could plausibly have sent it, else raise 422.

    Names in any script are granted, emoji sequences with zero-width joiners and
    non-joiners included; refused are only controls, bidirectional overrides, lone
    surrogates and path separators, each with a message naming the code point.
    """
    if not filename or not filename.strip():
        raise InvalidFilename("filename must not be empty")
    if len(filename) > MAX_FILENAME_CHARS:
        raise InvalidFilename(f"filename must be at most {MAX_FILENAME_CHARS} characters")
    # Printable ASCII has none of the refused characters: skip the per-character look-up.
    if not (filename.isascii() and filename.isprintable()):
        for position, char in enumerate(filename):
            _check_char(char, position)
    if "/" in filename or "\\" in filename or filename.strip() in (".", ".."):
        # Browsers send a base name only; a path here is a client bug or an attack.
        raise InvalidFilename("filename must be a base name without path separators (/ or \\)")
    return filename


def _check_char(char: str, position: int) -> None:
    where = f"U+{ord(char):04X} at position {position}"
    category = unicodedata.category(char)
    if category == "Cs":
        raise InvalidFilename(f"filename has an unpaired surrogate ({where})")
    if category in _CONTROL_CATEGORIES:
        raise InvalidFilename(f"filename must not contain control characters ({where})")
    if char in _BIDI_CONTROLS:
        raise InvalidFilename(
            f"filename must not contain bidirectional override characters ({where})"
        )


def _key_date(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime("%Y/%m/%d")


def metadata_value(filename: str) -> str:
    """Encode the original filename for an ``x-oss-meta-*`` field (ASCII, header-safe)."""
    return quote(filename, safe="")


def safe_subject(subject: str) -> str:
    """Return a key segment for ``subject``: itself when plainly safe, else a digest.

    A digest rather than character replacement, so ``a/b`` and ``a_b`` can never share a
    prefix; ``.``/``..`` and anything over 64 characters are digested too.
    """
    if _SAFE_SUBJECT_RE.match(subject) and subject.strip(".") and not subject.startswith("h-"):
        return subject
    return "h-" + hashlib.sha256(subject.encode("utf-8")).hexdigest()[:32]


def render_key(
    template: str,
    *,
    upload_dir: str,
    subject: str | None,
    extension: str,
    now: datetime,
    random_source: RandomSource = secrets.token_bytes,
) -> str:
    """Fill ``template`` (validated by ``config``) for one upload.

    ``extension`` (``"png"``, or ``""`` for none) comes from the stored media type
    (:func:`uploadsign.mediatypes.extension`), never from the client's file name.
    """
    ext = extension if _EXTENSION_RE.match(extension) else ""
    values = {
        "dir": upload_dir,
        "sub": safe_subject(subject or "anonymous"),
        "date": _key_date(now),
        "id": random_source(RANDOM_BYTES).hex(),
        "ext": f".{ext}" if ext else "",
    }
    return template.format_map(values)


def key_prefix(template: str, *, upload_dir: str, subject: str | None) -> str:
    """Return the fixed start of every key ``template`` yields for ``subject``.

    It runs up to the last ``/`` before the first per-upload placeholder, so the sample
    route's ``starts-with`` condition keeps a user inside their own folder.
    """
    cut = min(
        (template.index(p) for p in ("{date}", "{id}", "{ext}") if p in template),
        default=len(template),
    )
    head = template[:cut]
    head = head[: head.rfind("/") + 1] if "/" in head.replace("{dir}", "") else "{dir}"
    return head.format_map({"dir": upload_dir, "sub": safe_subject(subject or "anonymous")})


_TEMPLATE_LITERAL_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")
_PLACEHOLDER_RE = re.compile(r"\{([a-z]+)\}")
KEY_PLACEHOLDERS = ("dir", "sub", "date", "id", "ext")


def is_key_template(template: str) -> bool:
    """Say whether ``template`` is a safe ``OSS_KEY_TEMPLATE``.

    It must start with ``{dir}``, hold ``{id}`` once, use each placeholder at most once,
    keep ``{sub}`` as a whole segment and ``{ext}`` last, and its literal parts must be
    unable to form ``.``/``..`` segments or ``//``.
    """
    names = _PLACEHOLDER_RE.findall(template)
    # {dir} always ends with "/": keep that, so "{dir}../" shows up as a ".." segment.
    literal = _PLACEHOLDER_RE.sub("x", template.replace("{dir}", "d/", 1))
    return (
        template.startswith("{dir}")
        and names.count("id") == 1
        and all(name in KEY_PLACEHOLDERS and names.count(name) == 1 for name in names)
        and _TEMPLATE_LITERAL_RE.match(literal) is not None
        and "//" not in literal
        and not {".", ".."} & set(literal.split("/"))
        and ("{sub}" not in template or "{sub}/" in template)
        and ("{ext}" not in template or template.endswith("{ext}"))
    )
