"""Masked templates: what is left of a log line once its variable parts are blanked out.

Two lines that differ only in timestamps, ids, numbers or paths describe the same problem, so an
unrecognised error is reported once per template rather than once per line. Templates are part
of every problem's key, so the same line must always give the same template.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

_DIGIT = re.compile(r"\d")


class _Mask(NamedTuple):
    """One variable shape and its marker, with what every match of it contains: each of
    ``chars``, one of ``substrings`` (when given) and a digit (when ``digit``). Text without
    them cannot match, so the pattern is not run on it: most error lines skip most patterns,
    and each pattern skipped is a scan of the line saved."""

    pattern: re.Pattern[str]
    replacement: str
    chars: str = ""
    substrings: tuple[str, ...] = ()
    digit: bool = False


#: Order matters: wider shapes first, so a timestamp is not masked as three numbers.
_MASKS: tuple[_Mask, ...] = (
    _Mask(
        re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"),
        "<ts>",
        chars="-:",
        digit=True,
    ),
    _Mask(re.compile(r"\b\d\d:\d\d:\d\d(?:[.,]\d+)?\b"), "<ts>", chars=":", digit=True),
    _Mask(
        re.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b"), "<id>", chars="-"
    ),
    _Mask(re.compile(r"\b[a-z][a-z0-9+.-]{1,15}://[^\s'\"<>]+"), "<url>", substrings=("://",)),
    _Mask(re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>", chars=".", digit=True),
    _Mask(
        re.compile(r"(?:[A-Za-z]:\\|~?/)[\w.@+-]*(?:[/\\][\w.@+-]*)+"),
        "<path>",
        substrings=("/", "\\"),
    ),
    _Mask(
        re.compile(r"\b(?:0x)?[0-9a-fA-F]*\d[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b|\b0x[0-9a-fA-F]+\b"),
        "<hex>",
        digit=True,
    ),
    # The prefix and the separator that follows it: "i-", "arn:", "req-", "sha256:" and so on.
    _Mask(
        re.compile(r"\b(?:i|arn|req|sha256)[-:][\w:/.-]+"),
        "<id>",
        substrings=("i-", "i:", "n-", "n:", "q-", "q:", "6-", "6:"),
    ),
    _Mask(re.compile(r"\d+(?:\.\d+)?"), "<n>", digit=True),
)
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
    digits = _DIGIT.search(text) is not None  # masking removes digits, never adds one
    for pattern, replacement, chars, substrings, digit in _MASKS:
        if digit and not digits:
            continue
        if chars and not all(map(text.__contains__, chars)):
            continue
        if substrings and not any(map(text.__contains__, substrings)):
            continue
        text = pattern.sub(replacement, text)
    return collapse_spaces(text)[:MAX_TEMPLATE_CHARS]


def collapse_spaces(text: str) -> str:
    """Every run of whitespace as one space, as ``re.sub(r"\\s+", " ", text)`` gives (both
    take whitespace to be what ``str.isspace`` says), without building a match per space."""
    words = " ".join(text.split())
    if not words:
        return " " if text else ""
    before = " " if text[0].isspace() else ""
    after = " " if text[-1].isspace() else ""
    return f"{before}{words}{after}"
