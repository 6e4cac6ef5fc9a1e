"""The classifier on arbitrary text: it returns findings and never raises, streams are
classified independently of each other, and credentials never reach a finding."""

from __future__ import annotations

import io
import string
import time

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from shared.classify.classifier import Classifier
from shared.model import Finding, LogRecord
from shared.redact import Redactor
from shared.rulebook.load import builtin_rulebook
from shared.sources.files import read_records
from tests.robustness.strategies import (
    GOOD_RULE,
    GOOD_TRACEBACK,
    PATHOLOGICAL,
    nasty_texts,
    pick,
)

CLASSIFIER = Classifier()
EXAMPLES = tuple(e.text for rule in builtin_rulebook().rules for e in rule.example_list())


def _check(findings: list[Finding]) -> None:
    assert isinstance(findings, list)
    for finding in findings:
        assert isinstance(finding, Finding) and isinstance(finding.title, str)
        assert all(isinstance(line, str) for line in finding.evidence)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.tuples(nasty_texts(), st.integers(0, 2)), max_size=6))
def test_any_text_gives_a_list_of_findings(lines: list[tuple[str, int]]) -> None:
    records = [LogRecord(text, source="s", stream=f"stream-{n}") for text, n in lines]
    _check(CLASSIFIER.classify(records))


@settings(max_examples=100, deadline=None)
@given(messages=st.lists(st.one_of(nasty_texts(), pick(EXAMPLES), pick(GOOD_TRACEBACK))))
def test_the_prefilter_takes_any_text_and_drops_nothing_that_matters(messages: list[str]) -> None:
    picked = CLASSIFIER.relevant(messages)
    assert picked == sorted(set(picked)) and set(picked) <= set(range(len(messages)))

    def found(texts: list[str]) -> set[tuple[str, str, int]]:
        records = [LogRecord(text, source="s", stream="x") for text in texts]
        return {(f.rule, f.title, f.count) for f in CLASSIFIER.classify(records)}

    assert found([messages[i] for i in picked]) == found(messages)


# Records are grouped into events only within one stream (source, stream and location), so
# records of distinct streams are classified alone whether they come in one batch or one by
# one, and the batch merely merges equal findings. Within one stream the property does not
# hold: grouping is the point (see the next test).
@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.one_of(nasty_texts(), pick(EXAMPLES)), max_size=6))
def test_distinct_streams_give_the_same_findings_alone_as_in_one_batch(texts: list[str]) -> None:
    records = [LogRecord(text, source="s", stream=f"stream-{i}") for i, text in enumerate(texts)]
    batch = CLASSIFIER.classify(records)
    alone = [finding for record in records for finding in CLASSIFIER.classify([record])]
    assert {f.rule for f in batch} == {f.rule for f in alone}
    assert {f.key() for f in batch} == {f.key() for f in alone}
    assert sum(f.count for f in batch) == sum(f.count for f in alone)


def test_one_stream_groups_lines_so_per_line_results_differ() -> None:
    lines = ["2026-01-01 00:00:00,000 E [8] azmlinfsrv - User's init function failed"]
    lines += GOOD_TRACEBACK
    records = [LogRecord(line, source="s", stream="one") for line in lines]
    batch = CLASSIFIER.classify(records)
    alone = {f.rule for record in records for f in CLASSIFIER.classify([record])}
    assert [f.rule for f in batch] == [GOOD_RULE]
    assert alone > {GOOD_RULE}  # the intro line alone is a finding of its own


_AWS_PREFIXES = ("AKIA", "ASIA", "AROA", "AIDA", "ANPA", "AGPA")
_ALNUM = string.ascii_letters + string.digits
#: What may stand on each side of a credential (besides the space it is placed after and
#: before): never a character that could be part of it.
_SEPARATORS = st.sampled_from(("", " ", "\t", "\n", ",", ";", '"', "'", "(", ")", ": ", "="))
CREDENTIALS = st.one_of(
    st.builds(
        lambda prefix, body: (prefix + body, prefix + body),
        st.sampled_from(_AWS_PREFIXES),
        st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16),
    ),
    st.builds(
        lambda kind, body: (f"xox{kind}-{body}", f"xox{kind}-{body}"),
        st.sampled_from("abposr"),
        st.text(_ALNUM + "-", min_size=8, max_size=40),
    ),
    st.builds(
        lambda word, token: (f"{word} {token}", token),
        st.sampled_from(("Bearer", "bearer", "BEARER")),
        st.text(_ALNUM + "._~+/=-", min_size=12, max_size=40),
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    host=st.one_of(pick(EXAMPLES), nasty_texts()),
    at=st.integers(min_value=0),
    credential=CREDENTIALS,
    before=_SEPARATORS,
    after=_SEPARATORS,
)
@example(  # a group that captures the token alone, without the "Bearer" that marks it
    host="OSError: 'bert-base-uncasd' is not a local folder and is not a valid model identifier",
    at=2,
    credential=("Bearer QwErTyUiOp1234zx", "QwErTyUiOp1234zx"),
    before="",
    after="",
)
def test_credentials_never_reach_a_finding(
    host: str, at: int, credential: tuple[str, str], before: str, after: str
) -> None:
    written, secret = credential
    assume(secret not in host)
    words = host.split(" ")  # placed between words, where a rule's groups may pick it up
    cut = at % (len(words) + 1)
    text = " ".join([*words[:cut], f"{before}{written}{after}", *words[cut:]])
    for records in (
        [LogRecord(text, source="s", stream="x")],
        [LogRecord(line, source="s", stream="x") for line in text.splitlines()],
        [LogRecord(f"Traceback (most recent call last):\nRuntimeError: failed with {text}")],
    ):
        for finding in CLASSIFIER.classify(records):
            shown = [
                finding.title,
                finding.fix,
                *finding.evidence,
                *finding.commands,
                *finding.fields.values(),
            ]
            assert not any(secret in part for part in shown), finding


@pytest.mark.parametrize("index", range(len(PATHOLOGICAL)))
def test_pathological_text_is_read_classified_and_redacted_quickly(index: int) -> None:
    text = PATHOLOGICAL[index]
    started = time.perf_counter()
    raw = text.encode("utf-8", "surrogatepass")
    records = list(read_records(io.BytesIO(raw), "bad.log", lambda problem: None))
    _check(CLASSIFIER.classify(records))
    _check(CLASSIFIER.classify([LogRecord(text, source="s", stream="x")]))
    Redactor()(text)
    # A sanity guard, not a benchmark: backtracking would take minutes, not seconds.
    assert time.perf_counter() - started < 2
