"""Grouping consecutive records of one stream into multi-line events.

Model servers write a Python traceback, a Java stack trace or a pretty-printed JSON error body as
many log records, one per line. Classifying them line by line would give one finding per frame;
grouping first gives one event whose last line is the exception that was raised. Log levels are
not trusted here: a traceback is a traceback whether it was logged at INFO or ERROR.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field

from shared.model import LogRecord

#: An event stops growing at this many lines or characters; the rest starts a new event.
MAX_EVENT_LINES = 200
MAX_EVENT_CHARS = 64 * 1024

_TB_HEADER = "Traceback (most recent call last):"
_CHAIN_MARKERS = (
    "During handling of the above exception",
    "The above exception was the direct cause",
)
_CONTINUATION_STARTS = (*_CHAIN_MARKERS, "Caused by:", "... ")

# Log-line prefixes written by model servers and loggers in front of the text that matters:
# TorchServe/MMS ("2021-02-25 16:56:38,031 [INFO ] W-9000-x-stdout org.x.WorkerLifeCycle - ", the
# logger name sometimes missing),
# the Azure ML inference server ("2023-11-14 10:33:03,120 E [70] azmlinfsrv - "), and a leading
# timestamp with an optional level ("2020-02-14T11:11:07.17Z ", "[2019-01-03 15:50:02,376] ").
# Loggers write them in ASCII, so ``\d`` and ``\s`` are ASCII only: the prefilter scans every
# byte of a delivery for this prefix, and Unicode digit and space classes make that scan slower.
_TS = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[,.]\d+)?"
_PREFIX = re.compile(
    rf"(?:{_TS}\s\[\s?[A-Z]{{1,8}}\s?\]\s(?:\S+\s)?\S+\s-\s"
    rf"|{_TS}\s[A-Z]\s\[\d+\]\s\S+\s-\s"
    rf"|\[?{_TS}(?:Z|[+-]\d\d:?\d\d)?\]?\s+"
    r"(?:(?:\[\s?(?:TRACE|DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL)\s?\]"
    r"|(?:TRACE|DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL))\s+)?)",
    re.ASCII,
)
#: A preceding event this short, that reads like an error, may be the message a traceback was
#: logged with ("User's init function failed", "Exception on /ping [GET]").
_INTRO_LINES = 3
_INTRO = re.compile(r"(?i)error|exception|fail|could not|unable|cannot|traceback")


def body(line: str) -> str:
    """The part of a log line after a known timestamp/level/logger prefix."""
    if line[:1].isdigit() or line[:1] == "[":
        match = _PREFIX.match(line)
        if match:
            return line[match.end() :]
    return line


@dataclass(slots=True)
class Event:
    """One or more records of one stream that belong together, with their lines.

    ``headline`` is the index in ``lines`` of the exception line that ends a Python traceback,
    when the event holds one: the line a finding about the traceback is built on. ``opening``
    is the first line's :func:`body`, worked out while grouping and kept so it is not worked
    out again.
    """

    records: list[LogRecord]
    lines: list[str]
    headline: int | None = None
    opening: str | None = None

    @property
    def text(self) -> str:
        """The event's lines joined by newlines: what rules are matched against."""
        return "\n".join(self.lines)


@dataclass(slots=True)
class _Open:
    """An event still growing, with the little state needed to decide on the next line."""

    event: Event
    chars: int = 0
    in_traceback: bool = False
    seen_traceback: bool = False
    announces: bool = False
    after_chain_marker: bool = False
    depth: int = 0

    def add(self, record: LogRecord, lines: list[str], first: str) -> None:
        """Append a record whose first line's body (``first``) the caller already computed."""
        self.event.records.append(record)
        for number, line in enumerate(lines):
            self.event.lines.append(line)
            self.chars += len(line)
            self._observe(body(line) if number else first, len(self.event.lines) - 1)
        if len(lines) > 1:
            # A source that writes multi-line records writes a whole traceback in one record.
            self.in_traceback = False

    def _observe(self, text: str, index: int) -> None:
        stripped = text.strip()
        # "ParamValidationError: Parameter validation failed:" announces the line that follows.
        self.announces = stripped.endswith(":") and _INTRO.search(stripped) is not None
        if stripped.endswith(_TB_HEADER):
            self.in_traceback, self.after_chain_marker = True, False
            self.seen_traceback = True
        elif (
            self.in_traceback
            and stripped
            and text[0] not in " \t"
            and not stripped.startswith('File "')
        ):
            self.event.headline, self.in_traceback = index, False
        if stripped.startswith(_CHAIN_MARKERS):
            self.after_chain_marker = True
        if "{" in text or "[" in text or "}" in text or "]" in text:
            opened = text.count("{") + text.count("[")
            self.depth = max(0, self.depth + opened - text.count("}") - text.count("]"))

    def continues_with(self, first: str) -> bool:
        """Whether a record whose first line body is ``first`` belongs to this event."""
        if len(self.event.lines) >= MAX_EVENT_LINES or self.chars >= MAX_EVENT_CHARS:
            return False
        if self.in_traceback or self.announces or first[:1] in (" ", "\t", "}", "]"):
            return True
        if first.startswith(_CONTINUATION_STARTS):
            return True
        if self.depth > 0 and first[:1] == '"':
            return True
        if first.rstrip().endswith(_TB_HEADER):
            # A traceback continues a chained exception, or follows the short message it was
            # logged with ("User's init function failed" then the traceback).
            return self.after_chain_marker or (
                not self.seen_traceback
                and len(self.event.lines) <= _INTRO_LINES
                and _INTRO.search(self.event.lines[-1]) is not None
            )
        return False


def stream_key(record: LogRecord) -> Hashable:
    """Records with the same key come from one stream and may be grouped together."""
    return (
        record.source,
        record.stream,
        record.endpoint,
        record.variant,
        record.deployment,
        record.instance,
        record.container,
    )


@dataclass
class Grouper:
    """Takes records in arrival order; hands back each event once the next one has started."""

    _open: dict[Hashable, _Open] = field(default_factory=dict)

    def feed(self, record: LogRecord) -> Event | None:
        """Add a record; returns the event it closed, if any. (Called once per record kept,
        so it returns rather than yields: a generator per record costs more than the rest.)"""
        lines = record.message.splitlines()
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            return None
        key = stream_key(record)
        current = self._open.get(key)
        first = body(lines[0])
        if current is not None and current.continues_with(first):
            current.add(record, lines, first)
            return None
        fresh = _Open(Event([], [], opening=first))
        fresh.add(record, lines, first)
        self._open[key] = fresh
        return current.event if current is not None else None

    def flush(self) -> Iterator[Event]:
        """Yield every event still open (end of a batch or file)."""
        for current in self._open.values():
            yield current.event
        self._open.clear()
