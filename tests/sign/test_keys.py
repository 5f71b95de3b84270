"""Object key choice and filename checks."""

from __future__ import annotations

import re

import pytest
from uploadsign import keys
from uploadsign.envvars import DEFAULT_KEY_TEMPLATE
from uploadsign.errors import InvalidFilename

from .support import FIXED_NOW


@pytest.mark.parametrize(
    ("filename", "ext"),
    [
        ("photo.PNG", "png"),
        ("archive.tar.gz", "gz"),
        ("README", ""),
        (".env", ""),
        ("..png", ""),
        ("weird.ex t", ""),
        ("long.abcdefghijk", ""),
        ("trailing.", ""),
        ("ünïcode.jpg", "jpg"),
        ("x.j\u00e9g", ""),
    ],
)
def test_extension_is_kept_only_when_short_and_alphanumeric(filename: str, ext: str) -> None:
    assert keys.extension(filename) == ext


def test_key_is_dir_date_random_and_extension() -> None:
    key = keys.render_key(
        DEFAULT_KEY_TEMPLATE, upload_dir="uploads/", subject=None,
        filename="../../etc/passwd.png", now=FIXED_NOW, random_source=lambda n: b"\xab" * n,
    )
    assert key == "uploads/2024/05/01/" + "ab" * 16 + ".png"


def test_default_random_source_gives_distinct_unguessable_names() -> None:
    first, second = (
        keys.render_key(
            DEFAULT_KEY_TEMPLATE, upload_dir="u/", subject=None, filename="a.png", now=FIXED_NOW
        )
        for _ in range(2)
    )
    assert first != second
    assert re.fullmatch(r"u/2024/05/01/[0-9a-f]{32}\.png", first)


@pytest.mark.parametrize(
    "filename",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("a" * 10_000, id="10KB"),
        pytest.param("a\x00b.png", id="nul"),
        pytest.param("a\nb.png", id="newline"),
        pytest.param("a\u202egnp.exe", id="rtl-override"),
        pytest.param("../../etc/passwd", id="traversal"),
        pytest.param("..\\..\\boot.ini", id="backslash-traversal"),
        pytest.param("dir/file.png", id="slash"),
        pytest.param("..", id="dotdot"),
    ],
)
def test_absurd_filenames_are_refused(filename: str) -> None:
    with pytest.raises(InvalidFilename):
        keys.validate_filename(filename)


@pytest.mark.parametrize("filename", ["photo.png", "Résumé 2024 (final).pdf", "日本語.txt"])
def test_ordinary_filenames_pass_and_encode_to_ascii(filename: str) -> None:
    assert keys.validate_filename(filename) == filename
    assert keys.metadata_value(filename).isascii()
    assert " " not in keys.metadata_value(filename)
