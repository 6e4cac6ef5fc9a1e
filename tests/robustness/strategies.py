"""Hypothesis strategies for hostile input: corrupt encodings, wrong shapes, invalid UTF-8,
huge lines, deep nesting, control characters and texts built to make regexes backtrack."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from shared.model import LogRecord

#: A traceback every rulebook version must diagnose: the known-good event mixed into bad batches.
GOOD_TRACEBACK = (
    "Traceback (most recent call last):",
    '  File "/opt/ml/code/inference.py", line 3, in <module>',
    "    import lightgbm",
    "ModuleNotFoundError: No module named 'lightgbm'",
)
GOOD_RULE = "python.module-not-found"

#: Texts built to hurt a parser or a backtracking regex engine, or just to be very large.
PATHOLOGICAL: tuple[str, ...] = (
    "a" * 50_000 + "!",
    "ERROR " + "a" * 50_000 + "!",
    "(" * 20_000,
    "((((a" * 5_000 + ")",
    " " * 100_000 + "x",
    "ERROR" + "\t \u00a0\u3000" * 10_000 + "!",
    "\\" * 50_000,
    'ERROR "' + '\\"' * 20_000,
    "x" * 1_000_000,  # a 1 MB line
    "[" * 10_000 + "]" * 10_000,
    '{"a":' * 10_000 + "1" + "}" * 10_000,
    "{" * 10_000,
    "1a" * 20_000 + "g",
    "ERROR " + "1" * 50_000 + "x",
    "ERROR " + "/a" * 20_000 + "\x00",
    "a | " * 20_000 + "x",
    "2026-01-01T00:00:00Z " * 5_000,
    "2026-01-01 00:00:00,000 [INFO ] " + "x " * 20_000,
    "Traceback (most recent call last):\n" * 500,
    "".join(map(chr, range(32))) * 500,
    "\x00" * 1_000,
    "ERROR \ud800 lone surrogates \udfff",
    "error: " + "\u202e\u200b\ufeff" * 5_000,
)

#: The record fields that must hold text (or nothing).
TEXT_FIELDS = (
    "cloud",
    "endpoint",
    "variant",
    "deployment",
    "instance",
    "container",
    "source",
    "stream",
    "event_id",
    "region",
    "account",
)

_CHARS = st.one_of(st.characters(), st.characters(categories=["Cs"]))  # surrogates too
_CONTROL = st.characters(min_codepoint=0, max_codepoint=31)


def pick(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """``sampled_from`` for large values: the strategy's repr does not print them."""
    return st.integers(0, len(values) - 1).map(values.__getitem__)


def nasty_texts() -> st.SearchStrategy[str]:
    """Any text: random, with control characters or lone surrogates, pathological, or a mix."""
    short = st.text(_CHARS, max_size=40)
    return st.one_of(
        st.text(max_size=200),
        st.text(_CHARS, max_size=60),
        st.text(st.one_of(_CONTROL, st.sampled_from("aE \\({[|:\n")), max_size=80),
        pick(PATHOLOGICAL),
        st.builds(lambda a, b, c: a + b + c, short, pick(PATHOLOGICAL), short),
    )


def _small_texts() -> st.SearchStrategy[str]:
    return st.one_of(st.text(_CHARS, max_size=20), st.sampled_from(("", "FAILED", "\x00", "{")))


#: JSON values of any shape: what a field may hold when a producer gets it wrong.
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=10**20, max_value=10**400),
        st.floats(),
        _small_texts(),
    ),
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=12,
)


def shaped(
    keys: tuple[str, ...], values: st.SearchStrategy[Any] = JSON_VALUES
) -> st.SearchStrategy[dict[str, Any]]:
    """Objects that use the field names a decoder looks for, with values of any shape."""
    return st.dictionaries(st.one_of(st.sampled_from(keys), st.text(max_size=6)), values)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _gz(raw: bytes) -> bytes:
    return gzip.compress(raw, mtime=0)


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def packed(value: Any) -> str:
    """``value`` as CloudWatch Logs packs a subscription payload: base64 of gzip of JSON."""
    return _b64(_gz(_dumps(value)))


#: Raw bodies that are not (usable) JSON: random or invalid UTF-8 bytes, deep nesting.
BAD_BODIES: st.SearchStrategy[bytes] = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda b: b"\xff\xfe" + b, st.binary(max_size=50)),
    st.builds(
        lambda b: b'{"records": ["' + b + b'"]}', st.sampled_from((b"\xc3\x28", b"\xed\xa0\x80"))
    ),
    pick(
        (
            b"[" * 10_000 + b"]" * 10_000,
            b'{"records":' * 10_000 + b"[]" + b"}" * 10_000,
            b'{"records": [' + b"[" * 100_000,
            b"\x00" * 1_000,
            b"NaN",
            b"",
        )
    ),
    st.builds(lambda text: text.encode("utf-8", "surrogatepass"), nasty_texts()),
)


def log_events() -> st.SearchStrategy[Any]:
    """Entries of ``logEvents``: well-formed or not, with any message."""
    entry = st.fixed_dictionaries(
        {},
        optional={
            "id": JSON_VALUES,
            "timestamp": st.one_of(JSON_VALUES, st.integers()),
            "message": st.one_of(nasty_texts(), JSON_VALUES),
        },
    )
    return st.one_of(entry, JSON_VALUES)


def logs_payloads() -> st.SearchStrategy[Any]:
    """Subscription payloads of every shape, from nearly right to nonsense."""
    return st.fixed_dictionaries(
        {},
        optional={
            "messageType": st.one_of(
                st.sampled_from(("DATA_MESSAGE", "CONTROL_MESSAGE")), JSON_VALUES
            ),
            "owner": JSON_VALUES,
            "logGroup": st.one_of(st.just("/aws/sagemaker/Endpoints/ep"), JSON_VALUES),
            "logStream": st.one_of(st.just("AllTraffic/i-0abc123/model"), JSON_VALUES),
            "logEvents": st.one_of(st.lists(log_events(), max_size=4), JSON_VALUES),
        },
    )


def _truncated(raw: bytes, cut: int) -> bytes:
    packed_ = _gz(raw)
    return packed_[: cut % max(1, len(packed_))]


def awslogs_data() -> st.SearchStrategy[Any]:
    """What ``awslogs.data`` or a Kinesis record's ``data`` may hold, corrupt at every layer."""
    return st.one_of(
        st.text(max_size=80),  # not base64 (mostly)
        st.builds(_b64, st.binary(max_size=120)),  # not gzip
        st.builds(lambda raw: _b64(_gz(raw)), BAD_BODIES),  # not JSON, or not UTF-8
        st.builds(
            lambda raw, cut: _b64(_truncated(raw, cut)), st.binary(max_size=80), st.integers()
        ),
        st.builds(packed, JSON_VALUES),  # JSON of any shape
        st.builds(packed, logs_payloads()),  # payloads of wrong shapes
        JSON_VALUES,  # not even a string
    )


def assert_well_typed(records: list[LogRecord]) -> None:
    """Every record carries text where the model says text: nothing a later stage (grouping
    keys, templates, JSON) could trip over."""
    for record in records:
        assert isinstance(record.message, str)
        for name in TEXT_FIELDS:
            value = getattr(record, name)
            assert value is None or isinstance(value, str), (name, value)
        assert record.timestamp is None or isinstance(record.timestamp, datetime)
