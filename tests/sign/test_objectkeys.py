"""Object key choice and filename checks."""

from __future__ import annotations

import re

import pytest
from uploadsign import objectkeys
from uploadsign.config import DEFAULT_KEY_TEMPLATE
from uploadsign.errors import InvalidFilename

from .support import FIXED_NOW


def test_key_is_dir_date_random_and_the_extension_it_is_given() -> None:
    key = objectkeys.render_key(
        DEFAULT_KEY_TEMPLATE, upload_dir="uploads/", subject=None,
        extension="png", now=FIXED_NOW, random_source=lambda n: b"\xab" * n,
    )
    assert key == "uploads/2024/05/01/" + "ab" * 16 + ".png"


@pytest.mark.parametrize("extension", ["", "ex t", "abcdefghijk", "../x", "HTML", "j\u00e9g"])
def test_an_extension_that_is_not_short_lowercase_alphanumeric_is_left_out(
    extension: str,
) -> None:
    key = objectkeys.render_key(
        DEFAULT_KEY_TEMPLATE, upload_dir="uploads/", subject=None,
        extension=extension, now=FIXED_NOW, random_source=lambda n: b"\xab" * n,
    )
    assert key == "uploads/2024/05/01/" + "ab" * 16


def test_default_random_source_gives_distinct_unguessable_names() -> None:
    first, second = (
        objectkeys.render_key(
            DEFAULT_KEY_TEMPLATE, upload_dir="u/", subject=None, extension="png", now=FIXED_NOW
        )
        for _ in range(2)
    )
    assert first != second
    assert re.fullmatch(r"u/2024/05/01/[0-9a-f]{32}\.png", first)


REFUSED = [
    pytest.param("", "must not be empty", id="empty"),
    pytest.param("   ", "must not be empty", id="blank"),
    pytest.param("a" * 10_000, "at most 255 characters", id="10KB"),
    pytest.param("a\x00b.png", r"control characters \(U\+0000 at position 1\)", id="nul"),
    pytest.param("a\nb.png", r"control characters \(U\+000A at position 1\)", id="newline"),
    pytest.param("a\rb.png", r"control characters \(U\+000D", id="carriage-return"),
    pytest.param("a\x7fb.png", r"control characters \(U\+007F", id="delete"),
    pytest.param("a\x85b.png", r"control characters \(U\+0085", id="c1-next-line"),
    pytest.param("a\u2028b.png", r"control characters \(U\+2028", id="line-separator"),
    pytest.param("a\u2029b.png", r"control characters \(U\+2029", id="paragraph-separator"),
    pytest.param("a\u202egnp.exe", r"bidirectional override characters \(U\+202E",
                 id="rtl-override"),
    pytest.param("a\u202dx.png", r"bidirectional override characters \(U\+202D",
                 id="ltr-override"),
    pytest.param("a\u202bx.png", r"bidirectional override characters \(U\+202B",
                 id="rtl-embedding"),
    pytest.param("a\u2067x.png", r"bidirectional override characters \(U\+2067",
                 id="rtl-isolate"),
    pytest.param("a\u2069x.png", r"bidirectional override characters \(U\+2069",
                 id="pop-isolate"),
    pytest.param("a\ud800.png", r"unpaired surrogate \(U\+D800 at position 1\)",
                 id="lone-high-surrogate"),
    pytest.param("\udfff.png", r"unpaired surrogate \(U\+DFFF at position 0\)",
                 id="lone-low-surrogate"),
    pytest.param("../../etc/passwd", "without path separators", id="traversal"),
    pytest.param("..\\..\\boot.ini", "without path separators", id="backslash-traversal"),
    pytest.param("dir/file.png", "without path separators", id="slash"),
    pytest.param("..", "without path separators", id="dotdot"),
    pytest.param(".", "without path separators", id="dot"),
]


@pytest.mark.parametrize(("filename", "message"), REFUSED)
def test_dangerous_filenames_are_refused_with_a_precise_message(
    filename: str, message: str
) -> None:
    with pytest.raises(InvalidFilename, match=message):
        objectkeys.validate_filename(filename)


GRANTED = [
    pytest.param("photo.png", id="ascii"),
    pytest.param("Résumé 2024 (final).pdf", id="latin"),
    pytest.param("日本語.txt", id="cjk"),
    pytest.param("отчёт.docx", id="cyrillic"),
    pytest.param("تقرير.pdf", id="arabic"),
    pytest.param("שלום.txt", id="hebrew"),
    pytest.param("नमस्ते.png", id="devanagari"),
    pytest.param("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.txt", id="persian-zwnj"),
    pytest.param("family \U0001f468\u200d\U0001f469\u200d\U0001f467.jpg", id="emoji-zwj"),
    pytest.param("\u2764\ufe0f love.png", id="emoji-variation-selector"),
    pytest.param("\U0001f44d\U0001f3fd.gif", id="emoji-skin-tone"),
    pytest.param("\U0001f1ef\U0001f1f5 flag.png", id="emoji-flag"),
    pytest.param("mark\u200fed.txt", id="right-to-left-mark"),
    pytest.param("soft\u00adhyphen.txt", id="soft-hyphen"),
    pytest.param("model.blend", id="unknown-extension"),
    pytest.param(".env", id="dot-file"),
    pytest.param("a" * 255, id="255-chars"),
]


@pytest.mark.parametrize("filename", GRANTED)
def test_real_world_filenames_are_granted_and_encode_to_ascii(filename: str) -> None:
    assert objectkeys.validate_filename(filename) == filename
    assert objectkeys.metadata_value(filename).isascii()
    assert " " not in objectkeys.metadata_value(filename)
