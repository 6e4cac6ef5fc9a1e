"""Log files to records: plain text, JSON lines exported from CloudWatch or Log Analytics, and
CSV exported from CloudWatch Logs Insights; each file is its own log stream.

Files are read line by line so memory stays bounded whatever their size. A line that cannot be
used as it is (binary data, invalid UTF-8, a huge line, a broken JSON object) is reported with the
file and line number and, wherever some text can be saved, still scanned.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import IO, Any

from shared.model import LogRecord
from shared.naming import azure_resource, parse_time, sagemaker_endpoint, sagemaker_stream

#: Longer lines are cut to this many bytes (the rest is reported, not scanned).
MAX_LINE_BYTES = 64 * 1024

_LEADING_TIME = re.compile(
    r"\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
)
_COMPOSE = re.compile(r"([A-Za-z0-9][\w.-]{0,62})\s+\| (.*)\Z", re.DOTALL)
_LEVELS = frozenset({"TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"})
_CSV_EXPORT = re.compile(r'\d{10,13},"')
_CELL_TIME = re.compile(r"\d{13}|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?")
_TAIL_LINE = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) "
    r"([A-Za-z0-9][\w.-]*/i-[0-9a-f]+(?:/[\w.-]+)?) (.*)\Z",
    re.DOTALL,
)
_MESSAGE_KEYS = ("message", "Message", "@message", "msg", "log", "ResultDescription")
#: Keys that mark a JSON object as a log row (an export or a structured log line).
_ROW_KEYS = frozenset(
    {
        "logStreamName",
        "@logStream",
        "logGroupName",
        "@log",
        "_ResourceId",
        "ResourceId",
        "resourceId",
        "DeploymentName",
        "ContainerName",
        "level",
        "levelname",
        "severity",
        "logger",
    }
)
_TIME_KEYS = ("timestamp", "@timestamp", "TimeGenerated", "time", "eventTime", "ingestionTime")


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with one line of input; the line's text was still scanned if possible."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


Report = Callable[[Problem], None]


def read_records(stream: IO[bytes], name: str, report: Report) -> Iterator[LogRecord]:
    """Records of one file, in order; problems go to ``report`` and never stop the reading."""
    for number, (raw, size) in enumerate(_lines(stream, name, report), start=1):
        if b"\x00" in raw:
            report(Problem(name, number, "binary data (NUL bytes): line skipped"))
            continue
        if size > len(raw):
            report(Problem(name, number, f"line of {size} bytes cut to the first {len(raw)}"))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            report(
                Problem(name, number, f"invalid UTF-8 at byte {exc.start}: replaced with U+FFFD")
            )
            text = raw.decode("utf-8", errors="replace")
        text = text.rstrip("\r\n")
        if text.strip():
            yield parse_line(text, name, number, report)


def _lines(stream: IO[bytes], name: str, report: Report) -> Iterator[tuple[bytes, int]]:
    """Each line, at most :data:`MAX_LINE_BYTES` of it, with its full size in bytes.

    The rest of an overlong line is read and dropped in chunks, so memory stays bounded
    whatever the input.
    """
    try:
        while True:
            raw = stream.readline(MAX_LINE_BYTES)
            if not raw:
                return
            size = len(raw)
            if size == MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while True:
                    rest = stream.readline(MAX_LINE_BYTES)
                    size += len(rest)
                    if not rest or rest.endswith(b"\n"):
                        break
            yield raw, size
    except OSError as exc:
        report(Problem(name, None, f"read failed: {exc}"))


def parse_line(
    text: str, name: str, number: int, report: Report, *, compose: bool = True
) -> LogRecord:
    """One line to a record, recognising JSON-lines and CSV exports; anything else is text.
    ``compose`` is whether a ``docker compose logs`` prefix may still be in front."""
    if "|" in text:
        record = _from_table_row(text, name, number) or (
            _from_compose(text, name, number, report) if compose else None
        )
        if record is not None:
            return record
    first = text[:1]
    if first == "{" and text.rstrip().endswith("}"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            report(Problem(name, number, f"not valid JSON ({exc}): scanned as plain text"))
        except RecursionError:
            report(Problem(name, number, "JSON nested too deeply: scanned as plain text"))
        else:
            if isinstance(data, dict):
                record = _from_json(data, text, name, number)
                if record is not None:
                    return record
    elif first.isdigit():
        if _CSV_EXPORT.match(text):
            record = _from_csv(text, name, number)
            if record is not None:
                return record
        tail = _TAIL_LINE.match(text)
        if tail:
            when, stream, message = tail.groups()
            return _exported(message, when, stream, name, number)
    return LogRecord(message=text, timestamp=_leading_time(text), source=name, line=number)


def _from_table_row(text: str, name: str, number: int) -> LogRecord | None:
    """A row copied from the CloudWatch console: ``| timestamp | message | stream |``.

    The console's expanded view also glues the timestamp to the message in the first column and
    repeats the message in the next one; the stream column is optional. A row is recognised
    only when its first cell starts with a timestamp.
    """
    cells = [cell.strip() for cell in text.strip().strip("|").split("|")]
    stamp = _CELL_TIME.match(cells[0]) if len(cells) >= 2 else None
    if stamp is None:
        return None
    stream = cells[-1] if len(cells) > 2 and sagemaker_stream(cells[-1], strict=True) else None
    middle = cells[1:-1] if stream else cells[1:]
    glued = cells[0][stamp.end() :].strip()
    if glued:
        middle = [glued] + [cell for cell in middle if cell != glued]
    message = " | ".join(middle).strip()
    if not message:
        return None
    return _exported(message, stamp.group(0), stream, name, number)


def _exported(message: str, when: str, stream: str | None, name: str, number: int) -> LogRecord:
    """A line exported from CloudWatch with its time and, maybe, its SageMaker stream."""
    where = sagemaker_stream(stream, strict=True)
    return LogRecord(
        message=message,
        cloud="aws" if where else None,
        timestamp=parse_time(when),
        source=name,
        stream=stream,
        line=number,
        **where,
    )


def _from_compose(text: str, name: str, number: int, report: Report) -> LogRecord | None:
    """A line of ``docker compose logs`` (SageMaker local mode): ``algo-1-x_1  | message``.

    The prefix names the container; the rest is parsed as a line of its own, with no second
    prefix (a line of ``a | a | a | …`` would otherwise recurse once per bar).
    """
    match = _COMPOSE.match(text)
    if match is None or match.group(1).upper() in _LEVELS:
        return None
    inner = parse_line(match.group(2), name, number, report, compose=False)
    return replace(inner, container=inner.container or match.group(1), stream=match.group(1))


def _leading_time(text: str) -> Any:
    if not (text[:1].isdigit() or text[:1] == "["):
        return None
    match = _LEADING_TIME.match(text)
    return parse_time(match.group(1)) if match else None


def _from_csv(text: str, name: str, number: int) -> LogRecord | None:
    """``timestamp,"message",logStream`` as CloudWatch Logs Insights exports it."""
    try:
        row = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        return None
    if len(row) < 2:
        return None
    return _exported(row[1], row[0], row[2] if len(row) > 2 else None, name, number)


def _from_json(data: dict[str, Any], text: str, name: str, number: int) -> LogRecord | None:
    """A CloudWatch or Log Analytics export row, or an application's JSON log line."""
    message = next((data[k] for k in _MESSAGE_KEYS if isinstance(data.get(k), str)), None)
    when = next((data[k] for k in _TIME_KEYS if data.get(k) is not None), None)
    if message is None or not (when is not None or _ROW_KEYS.intersection(data)):
        # Not a log row but an error body ({"code": ..., "message": ...}): keep all of it.
        return None
    group = data.get("logGroupName") or data.get("@log") or data.get("logGroup")
    stream = data.get("logStreamName") or data.get("@logStream") or data.get("logStream")
    resource = data.get("_ResourceId") or data.get("ResourceId") or data.get("resourceId")
    fields: dict[str, Any] = {}
    if isinstance(group, str) and ":" in group and not group.startswith("/"):
        group = group.split(":", 1)[1]  # Insights' @log is "account:group"
    endpoint = sagemaker_endpoint(group if isinstance(group, str) else None)
    if endpoint or (isinstance(stream, str) and sagemaker_stream(stream, strict=True)):
        fields.update(cloud="aws", endpoint=endpoint)
        fields.update(sagemaker_stream(stream if isinstance(stream, str) else None))
    elif isinstance(resource, str) or "DeploymentName" in data:
        fields.update(
            cloud="azure", **azure_resource(resource if isinstance(resource, str) else None)
        )
        for key, field_name in (
            ("EndpointName", "endpoint"),
            ("DeploymentName", "deployment"),
            ("InstanceId", "instance"),
            ("ContainerName", "container"),
        ):
            if isinstance(data.get(key), str) and data[key]:
                fields[field_name] = data[key]
    return LogRecord(
        message=message,
        timestamp=parse_time(when),
        source=group if isinstance(group, str) else name,
        stream=stream if isinstance(stream, str) else None,
        line=number,
        **fields,
    )
