"""RE2 searches that answer with spans, for the searches made many times per delivery.

The ``re2`` package answers a search with a match object built in Python: a generator, the
object, and a check of the group count on every ``start()`` or ``group()``. On one log line
that costs more than the search. The prefilter's line scan and the engine's searches of the
winning rule need only offsets, so they ask the compiled program under the pattern object
(the package's own extension type, which its pattern objects call the same way) for the spans
of a match in UTF-8 bytes. Text outside ASCII still goes through the pattern object, whose
offsets are in characters. The package is pinned below 1.2, and ``tests/test_program.py``
checks the spans against its public API.
"""

from __future__ import annotations

from typing import Any

import re2

_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED
#: What a group that took no part in a match spans.
NO_SPAN = (-1, -1)


class Program:
    """One pattern compiled once, searched through its compiled program."""

    __slots__ = ("_match", "names", "regex")

    def __init__(self, pattern: str, options: Any) -> None:
        self.regex: Any = re2.compile(pattern, options)
        #: Named groups and their numbers, read once (the package rebuilds the mapping on
        #: every call that names a group).
        self.names: tuple[tuple[str, int], ...] = tuple(self.regex.groupindex.items())
        self._match = self.regex._regexp.Match

    def spans(self, data: bytes, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        """Byte spans of the first match in ``data[start:end]``: the whole match, then each
        group (``NO_SPAN`` for a group that took no part); ``[]`` when nothing matches. The
        bounds limit where a match may lie, while ``^``, ``$`` and ``\\b`` still see the bytes
        around them."""
        spans: list[tuple[int, int]] = self._match(
            _UNANCHORED, data, start, len(data) if end is None else end
        )
        return spans if spans[0] != NO_SPAN else []

    def find(self, data: str | bytes) -> tuple[int, dict[str, str]] | None:
        """Where the first match in ``data`` starts (in characters, which for ASCII bytes are
        bytes) and the named groups that took part in it, as text; ``None`` if none matches."""
        if isinstance(data, bytes):
            spans = self.spans(data)
            if not spans:
                return None
            fields = {}
            for name, index in self.names:
                begin, finish = spans[index]
                if finish > begin:
                    fields[name] = data[begin:finish].decode()
            return spans[0][0], fields
        found = self.regex.search(data)
        if found is None:
            return None
        named = {name: found.group(index) for name, index in self.names}
        return found.start(), {name: value for name, value in named.items() if value}
