"""``medic scan``'s reader on hostile files: garbage lines around a traceback are reported with
the file and line number, never stop the reading, and the traceback is still diagnosed."""

from __future__ import annotations

import io
import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.classify.classifier import Classifier
from shared.sources.files import MAX_LINE_BYTES, Problem, read_records
from tests.robustness.strategies import (
    BAD_BODIES,
    GOOD_RULE,
    GOOD_TRACEBACK,
    JSON_VALUES,
    assert_well_typed,
    nasty_texts,
    pick,
    shaped,
)

CLASSIFIER = Classifier()
NAME = "mixed.log"


def garbage_lines() -> st.SearchStrategy[bytes]:
    """One line of a file (no newline): binary, invalid UTF-8, huge, nested, or odd JSON."""
    row = shaped(("message", "@message", "logStreamName", "@log", "timestamp", "level"))
    return st.one_of(
        BAD_BODIES,
        nasty_texts().map(lambda text: text.encode("utf-8", "surrogatepass")),
        st.one_of(JSON_VALUES, row).map(lambda value: json.dumps(value).encode()),
        pick(
            (b"x" * 1_000_000, b"\xff" * 100_000, b"a | " * 30_000, b"2026-01-01T00:00:00Z |" * 9)
        ),
    ).map(lambda raw: raw.replace(b"\n", b" "))


def _expected(raw: bytes) -> list[str]:
    """What the reader must say about a line, judged from its first MAX_LINE_BYTES bytes."""
    head = raw[:MAX_LINE_BYTES]
    if b"\x00" in head:
        return ["binary data"]
    said = ["cut to the first"] if len(raw) >= MAX_LINE_BYTES else []
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        said.append("invalid UTF-8")
    return said


@settings(max_examples=60, deadline=None)
@given(
    before=st.lists(garbage_lines(), max_size=4),
    after=st.lists(garbage_lines(), max_size=4),
)
@example(before=[b'{"message": "ERROR \\ud800", "level": "error"}', b"a | " * 5_000], after=[])
def test_garbage_lines_are_reported_by_line_and_the_traceback_is_still_found(
    before: list[bytes], after: list[bytes]
) -> None:
    lines = [*before, *(line.encode() for line in GOOD_TRACEBACK), *after]
    problems: list[Problem] = []
    stream = io.BytesIO(b"\n".join(lines) + b"\n")

    records = list(read_records(stream, NAME, problems.append))

    assert_well_typed(records)
    findings = CLASSIFIER.classify(records, file=NAME)
    assert any(f.rule == GOOD_RULE and "lightgbm" in f.title for f in findings)
    assert all(p.file == NAME and p.line is not None for p in problems)
    assert all(1 <= p.line <= len(lines) for p in problems if p.line is not None)
    for number, raw in enumerate(lines, start=1):
        said = [p.message for p in problems if p.line == number]
        for expected in _expected(raw):
            assert any(expected in message for message in said), (number, expected, said)
