"""The prefilter drops only lines that cannot change a finding: every rule's examples are
kept, and classifying a stream's picked lines finds exactly what classifying all of it finds."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import re2
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.classify.classifier import Classifier
from shared.classify.prefilter import Prefilter, needle
from shared.model import LogRecord
from shared.rulebook.load import Rulebook, builtin_rulebook
from shared.rulebook.schema import Rule

ROOT = Path(__file__).resolve().parents[1]
CLASSIFIER = Classifier()
HEALTHY = [
    "2026-11-19 12:13:21,412 [INFO ] pool-2-thread-3 ACCESS_LOG - "
    '/10.0.3.17:41236 "POST /invocations HTTP/1.1" 200 7',
    "2026-11-19 12:13:21,413 [INFO ] W-9000-model-stdout MODEL_METRICS - "
    "PredictionTime.Milliseconds:3.1|#ModelName:model",
    "2026-11-19 12:13:20,311 I [8] azmlinfsrv - Starting up app insights client",
    'INFO:     127.0.0.1:48234 - "GET / HTTP/1.1" 200 OK',
    "Booting worker with pid: 41",
    "",
    "loaded model in 3.2s",
]


def corpus_messages() -> list[str]:
    texts = []
    for path in sorted((ROOT / "tests" / "corpus").glob("*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.read_text().splitlines() if line]
    dev = ROOT.parent / "shared" / "corpus" / "dev-cases.jsonl"
    if dev.exists():
        texts += [json.loads(line)["text"] for line in dev.read_text().splitlines() if line]
    return texts


CORPUS = corpus_messages()


def findings(messages: list[str]) -> list[tuple[str, str, int]]:
    records = [LogRecord(message=m, stream="s", cloud="aws") for m in messages]
    return [(f.rule, f.title, f.count) for f in CLASSIFIER.classify(records)]


def picked(messages: list[str]) -> list[str]:
    return [messages[i] for i in CLASSIFIER.relevant(messages)]


def test_the_built_in_rulebook_has_a_prefilter() -> None:
    assert CLASSIFIER.prefilter is not None


def test_every_rule_example_is_kept() -> None:
    prefilter = CLASSIFIER.prefilter
    assert prefilter is not None
    for rule in builtin_rulebook().rules:
        for sample in rule.example_list():
            lines = [*HEALTHY, *sample.text.splitlines(), *HEALTHY]
            kept = prefilter.relevant(lines)
            assert any(len(HEALTHY) <= i < len(lines) - len(HEALTHY) for i in kept), rule.id


def test_an_error_line_alone_keeps_no_neighbours() -> None:
    died = (
        "2026-11-19 12:13:22,930 [ERROR] W-9000-model-stdout "
        "com.amazonaws.ml.mms.wlm.WorkerThread - Backend worker process died."
    )
    assert CLASSIFIER.relevant([HEALTHY[0], died, HEALTHY[1], HEALTHY[0]]) == [1]


def test_a_line_that_may_join_its_neighbours_keeps_them() -> None:
    lines = [HEALTHY[0], HEALTHY[1], "Traceback (most recent call last):", HEALTHY[0], HEALTHY[1]]
    assert CLASSIFIER.relevant(lines) == [1, 2, 3]
    announcing = "botocore.exceptions.ParamValidationError: Parameter validation failed:"
    assert CLASSIFIER.relevant([HEALTHY[0], announcing, HEALTHY[1], HEALTHY[0]]) == [0, 1, 2]


def test_indices_count_characters_outside_ascii() -> None:
    lines = ["été " * 30, "Backend worker process died.", "über " * 30, "Traceback"]
    assert CLASSIFIER.relevant(lines) == [1, 2, 3]


def test_healthy_lines_are_dropped() -> None:
    lines = [line for line in HEALTHY if line] * 50
    assert CLASSIFIER.relevant(lines) == []


@pytest.mark.parametrize("seed", range(8))
def test_corpus_messages_among_healthy_lines_give_the_same_findings(seed: int) -> None:
    rng = random.Random(seed)
    lines: list[str] = []
    for text in rng.sample(CORPUS, k=min(40, len(CORPUS))):
        lines += rng.sample(HEALTHY, k=rng.randint(0, 4))
        parts = text.splitlines() if rng.random() < 0.7 else [text]  # line by line, or whole
        lines += parts
    assert findings(picked(lines)) == findings(lines)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(HEALTHY),
            st.sampled_from(CORPUS).map(lambda t: t.splitlines()[-1] if t.strip() else t),
            st.sampled_from(
                [
                    "Traceback (most recent call last):",
                    '  File "x.py", line 1',
                    "    boom()",
                    "ValueError: bad",
                    "Error:",
                    "}",
                    "  ",
                    "... 3 more",
                    'File "y.py", line 2, in f',
                    "2026-11-19 12:13:22,930 [ERROR] W-9000-model-stdout x - ",
                    "2026-11-19 12:13:22,930 [ERROR] W-9000-model-stdout x - Backend worker"
                    " process died.",
                ]
            ),
            st.text(max_size=40),
        ),
        max_size=30,
    )
)
@example(["Traceback (most recent call last):", "  ", HEALTHY[0]])  # a blank between
@example(  # frames written without indentation, and a line that is only a prefix
    [
        HEALTHY[0],
        "Traceback (most recent call last):",
        'File "a.py", line 1, in <module>',
        HEALTHY[1],
        'File "b.py", line 2, in f',
        "2026-11-19 12:13:22,930 [ERROR] W-9000-model-stdout x - ",
        HEALTHY[0],
        "ValueError: bad",
        HEALTHY[1],
    ]
)
@example(  # prefixes only in ASCII count: one in other digits or spaces is text like any other
    [
        HEALTHY[0],
        "Traceback (most recent call last):",
        'File "a.py", line 1, in <module>',
        "\uff12\uff10\uff12\uff16-11-19 12:13:22,930 [ERROR] W-9000-model-stdout x - ",
        HEALTHY[1],
        "2026-11-19\u200312:13:22,930 [ERROR] W-9000-model-stdout x - ",
        HEALTHY[0],
        "ValueError: bad",
    ]
)
def test_any_mix_of_lines_gives_the_same_findings(lines: list[str]) -> None:
    assert findings(picked(lines)) == findings(lines)


@pytest.mark.parametrize(
    ("pattern", "inside", "outside"),
    [
        ("No module named '(?P<m>[^']+)'", "x No module named 'lightgbm'", "no module"),
        (r"(?i)CUDA out of memory", "cuda OUT of memory", "CUDA memory"),
        (r"(?:foo|bar)+baz", "barfoobaz", "foo baz"),
        (
            r"(?m)^\s*F\d{4} \d\d:\d\d:[\d.]+\s+\d+ [\w./+-]+:\d+\] ",
            "F1119 12:13:21.5 1 x.cc:9] ",
            "I1119 12:13:21.5 1 x.cc:9] ",
        ),
        (r"(?i)\bstatus[ _-]?code\b", "status-code", "status"),
        (r"[^\n]+ failed: (?P<x>\w+)", "job failed: x", "job failed\nx"),
    ],
)
def test_a_needle_is_found_in_every_match_and_not_elsewhere(
    pattern: str, inside: str, outside: str
) -> None:
    found = needle(pattern)
    assert found is not None
    compiled = re2.compile("(?i)" + found.regex)
    assert re2.search(pattern, inside) and compiled.search(inside)
    assert not compiled.search(outside)


@pytest.mark.parametrize("pattern", [r".*", r"\w+", r"[[:alpha:]]+x", r"\pL+", r"a?b?"])
def test_a_pattern_without_certain_literals_turns_the_prefilter_off(pattern: str) -> None:
    rule = Rule.model_validate(
        {
            "id": "x.y",
            "category": "model_error",
            "severity": "error",
            "title": "t",
            "match": {"any": [pattern]},
            "fix": "f",
        }
    )
    base = builtin_rulebook()
    book = Rulebook((*base.rules, rule), base.ignore, base.extractors, {})
    assert Prefilter.of(book) is None
    classifier = Classifier(book)
    assert classifier.relevant(["a", "b"]) == [0, 1]
