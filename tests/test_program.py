"""Spans from the compiled program agree with the ``re2`` package's own answers: the same
matches, offsets and groups, within bounds too, for bytes and for text outside ASCII."""

from __future__ import annotations

import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.classify.program import NO_SPAN, Program

PATTERNS = [
    r"(?P<code>[45]\d\d) (?P<word>[a-z]+)?",
    r"(?m)^(?P<head>Traceback)|:\s*$",
    r"(?i)out of (?P<what>memory|disk)",
    r"\bkey=(?P<key>\w*)",
    r"(?P<a>x)|(?P<b>y)",
    r"(?m)^$",
]
TEXT = st.text(alphabet="xy abc:=\n45 0TracebkOUTofmemorydisk", max_size=60)


def _options() -> object:
    options = re2.Options()
    options.log_errors = False
    return options


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATTERNS), TEXT, st.data())
def test_spans_are_the_packages_spans(pattern: str, text: str, data: st.DataObject) -> None:
    program = Program(pattern, _options())
    subject = text.encode()
    start = data.draw(st.integers(0, len(subject)))
    end = data.draw(st.integers(start, len(subject)))
    found = program.regex.search(subject, start, end)
    spans = program.spans(subject, start, end)
    if found is None:
        assert spans == []
    else:
        assert spans == [found.span(i) for i in range(program.regex.groups + 1)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATTERNS), TEXT | st.text(max_size=30))
def test_find_gives_the_start_and_the_groups_that_took_part(pattern: str, text: str) -> None:
    """ASCII text is searched as bytes, other text as characters; both give the same answer."""
    program = Program(pattern, _options())
    data: str | bytes = text.encode("ascii") if text.isascii() else text
    found = program.regex.search(data)
    expected = None
    if found is not None:
        groups = {name: found.group(index) for name, index in program.names}
        expected = (
            found.start(),
            {k: v if isinstance(v, str) else v.decode() for k, v in groups.items() if v},
        )
    assert program.find(data) == expected


def test_a_group_that_took_no_part_spans_nothing() -> None:
    program = Program(r"(?P<a>x)|(?P<b>y)", _options())
    assert program.spans(b"--y") == [(2, 3), NO_SPAN, (2, 3)]
    assert program.find(b"--y") == (2, {"b": "y"})
    assert program.find(b"---") is None
