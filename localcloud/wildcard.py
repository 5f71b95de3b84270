"""Wildcard matching as RAM policies and OSS CORS rules write it.

Owns one rule: ``*`` is any run of characters, ``?`` one character, and nothing else is
special (``[...]`` classes, which ``fnmatch`` would honour, are not part of either syntax).
Pure, standard library only.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable


def matches_any(patterns: Iterable[str], value: str, *, case_insensitive: bool) -> bool:
    """Tell whether ``value`` matches at least one of ``patterns``."""
    if case_insensitive:
        value = value.lower()
    for pattern in patterns:
        pat = pattern.replace("[", "[[]")
        if case_insensitive:
            pat = pat.lower()
        if fnmatch.fnmatchcase(value, pat):
            return True
    return False
