"""Masked templates: what is left of a log line once its variable parts are blanked out.

Two lines that differ only in timestamps, ids, numbers or paths describe the same problem, so an
unrecognised error is reported once per template rather than once per line. Templates are part
of every problem's key, so the same line must always give the same template.
"""

from __future__ import annotations

import re
from functools import lru_cache

_DIGIT = re.compile(r"\d")
#: (pattern, replacement, characters of which every match holds at least one). Order matters:
#: wider shapes first, so a timestamp is not masked as three numbers. No replacement holds any
#: of the characters, so a pattern whose characters are missing from the line is skipped.
_MASKS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"),
        "<ts>",
        ":",
    ),
    (re.compile(r"\b\d\d:\d\d:\d\d(?:[.,]\d+)?\b"), "<ts>", ":"),
    (re.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b"), "<id>", "-"),
    (re.compile(r"\b[a-z][a-z0-9+.-]{1,15}://[^\s'\"<>]+"), "<url>", ":"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>", "."),
    (re.compile(r"(?:[A-Za-z]:\\|~?/)[\w.@+-]*(?:[/\\][\w.@+-]*)+"), "<path>", "/\\"),
    (
        re.compile(r"\b(?:0x)?[0-9a-fA-F]*\d[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b|\b0x[0-9a-fA-F]+\b"),
        "<hex>",
        "",
    ),
    (re.compile(r"\b(?:i|arn|req|sha256)[-:][\w:/.-]+"), "<id>", "-:"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>", ""),
)
_SPACES = re.compile(r"\s+")
MAX_TEMPLATE_CHARS = 200
#: Characters of a line that are masked (the template keeps far fewer).
MAX_LINE_CHARS = 2000


def mask(line: str) -> str:
    """The line's template: variable parts replaced by ``<ts>``, ``<id>``, ``<n>`` and so on."""
    return _masked(line.strip()[:MAX_LINE_CHARS])


@lru_cache(maxsize=1024)
def _masked(text: str) -> str:
    """Remembered per line, an incident repeating the same error line many times; keys are
    clipped lines, so the cache stays within a few MB whatever the log holds."""
    digits = _DIGIT.search(text) is not None
    for pattern, replacement, needs in _MASKS:
        if needs and not any(char in text for char in needs):
            continue
        if not needs and not digits:
            continue  # the two patterns without a character test match only with a digit
        text = pattern.sub(replacement, text)
    return _SPACES.sub(" ", text)[:MAX_TEMPLATE_CHARS]
