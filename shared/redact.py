"""Removing credentials from log text before it is stored or leaves for chat.

Patterns are RE2, so redaction time stays linear in the text whatever a log line contains.
Each match is replaced by a marker naming what was removed, keeping enough context (the key
name, the URL's host) for the reader to know what the line was about.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import re2

from shared.model import utf8_safe

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
#: (pattern, replacement). Replacements may use ``\1`` for a kept prefix such as a key name.
BUILTIN: tuple[tuple[str, str], ...] = (
    # Passwords in URLs: scheme://user:password@host
    (r"(?i)([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+@", r"\1[REDACTED]@"),
    # Slack tokens and webhook URLs
    (r"xox[abposr]-[A-Za-z0-9-]{8,}", "[REDACTED:slack-token]"),
    (
        r"(?i)hooks\.slack\.com/(services|workflows|triggers)/[A-Za-z0-9/_-]+",
        r"hooks.slack.com/\1/[REDACTED]",
    ),
    # Teams / Power Automate workflow URLs carry their signature in the query
    (r"(?i)([?&]sig=)[A-Za-z0-9%/+_=-]+", r"\1[REDACTED]"),
    # Azure connection strings and SAS tokens
    (
        r"(?i)((?:AccountKey|SharedAccessKey|SharedAccessSignature|ApiKey)\s*=\s*)[^;\s\"']+",
        r"\1[REDACTED]",
    ),
    # AWS access key ids and secret keys
    (r"\b(?:AKIA|ASIA|AROA|AIDA|ANPA|AGPA)[A-Z0-9]{16}\b", "[REDACTED:aws-key-id]"),
    (
        r"(?i)((?:aws_?)?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{20,}",
        r"\1[REDACTED]",
    ),
    (r"(?i)(x-amz-security-token[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=%]{16,}", r"\1[REDACTED]"),
    # JSON Web Tokens and bearer/basic credentials
    (r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", "[REDACTED:jwt]"),
    (r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{12,}", r"\1[REDACTED]"),
    # key=value secrets: password=..., api_key: ..., "token": "..."
    (
        r"(?i)((?:password|passwd|pwd|api[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]{4,}",
        r"\1[REDACTED]",
    ),
)


def _compile(pattern: str) -> object:
    return re2.compile(pattern, _OPTIONS)


@dataclass(frozen=True)
class Redactor:
    """Applies the built-in patterns, then the config's own (``redact:``), to text."""

    extra: Sequence[str] = ()

    def __post_init__(self) -> None:
        rules = [*BUILTIN, *((p, "[REDACTED]") for p in self.extra)]
        compiled = [(_compile(p), r) for p, r in rules]
        # One scan of the set tells which patterns occur at all; most log text holds no
        # credential, and then no pattern has to be run on its own.
        screen = re2.Set.SearchSet(_OPTIONS)
        for pattern, _ in rules:
            screen.Add(pattern)
        screen.Compile()
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_screen", screen)

    def __call__(self, text: str) -> str:
        """``text`` with every credential the patterns recognise replaced."""
        text = utf8_safe(text)
        hits = self._screen.Match(text)  # type: ignore[attr-defined]
        if not hits:
            return text
        found = set(hits)
        changed = False
        for index, (pattern, replacement) in enumerate(self._compiled):  # type: ignore[attr-defined]
            # The screen judged the original text; once a replacement has changed it, every
            # later pattern runs, so the result is the same as running them all in order.
            if changed or index in found:
                replaced = pattern.sub(replacement, text)
                changed = changed or replaced != text
                text = replaced
        return text


@lru_cache(maxsize=8)
def redactor(extra: tuple[str, ...] = ()) -> Redactor:
    """The redactor for a config's ``redact:`` patterns, compiled once per process: every
    invocation of a warm function redacts with the same patterns."""
    return Redactor(extra)
