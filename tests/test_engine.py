"""Matching semantics: specificity, all/none, ignore rules, where fields come from, and the
unclassified fallback with masked templates."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from shared.classify.classifier import Classifier, FindingSet, events
from shared.classify.engine import Engine
from shared.config import load_config
from shared.model import LogRecord
from shared.rulebook.load import Rulebook
from shared.rulebook.schema import Rule
from tests.helpers import scan_text
from tests.test_prefilter import CORPUS

RULES = """
rules:
  - id: t.model-error
    category: model_error
    severity: error
    priority: 30
    title: "{container} answered {status}"
    match:
      any: ['Received server error \\((?P<status>5\\d\\d)\\) from (?P<container>[\\w.-]+)']
    fix: Read the log of {container}.
  - id: t.cuda-oom
    category: out_of_memory
    severity: error
    priority: 70
    title: CUDA out of memory in {container}
    match:
      any: ['CUDA out of memory\\. Tried to allocate (?P<size>[\\d.]+ [GM]iB)']
    fix: Use a bigger GPU than the one that ran out at {size}.
  - id: t.needs-all
    category: platform_error
    severity: error
    title: both parts
    match:
      any: ['PartA']
      all: ['PartB']
      none: ['retrying']
    fix: x
ignore:
  - id: t.harmless
    reason: expected at start-up
    match:
      any: ['Error handler registered']
"""


def rulebook(directory: Path, config: str) -> Rulebook:
    """The built-in rulebook plus the rules of ``config``, written as a config file."""
    path = directory / "medic.yaml"
    path.write_text(textwrap.dedent(config))
    return load_config(path).rulebook(str(path))


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Classifier:
    return Classifier(rulebook(tmp_path_factory.mktemp("cfg"), RULES))


def test_most_specific_rule_wins_and_keeps_the_wrappers_container(classifier: Classifier) -> None:
    text = (
        "ModelError: An error occurred (ModelError) when calling the InvokeEndpoint operation: "
        'Received server error (500) from container-2 with message "CUDA out of memory. '
        'Tried to allocate 2.00 GiB"'
    )
    [finding] = scan_text(classifier, text)
    assert finding.category == "out_of_memory"
    assert finding.container == "container-2"
    assert "2.00 GiB" in finding.fix


def test_container_named_in_message_beats_the_stream(classifier: Classifier) -> None:
    record = LogRecord(
        message="Received server error (500) from primary with message x",
        cloud="aws",
        endpoint="ep",
        variant="AllTraffic",
        container="container-1",
        source="/aws/sagemaker/Endpoints/ep",
        stream="AllTraffic/i-0abc/container-1",
    )
    [finding] = classifier.classify([record])
    assert (finding.container, finding.variant, finding.endpoint) == ("primary", "AllTraffic", "ep")
    stream_only = LogRecord(message="worker exploded: fatal error", container="container-1")
    [fallback] = classifier.classify([stream_only])
    assert fallback.container == "container-1"


def test_all_and_none_conditions(classifier: Classifier) -> None:
    assert [f.rule for f in scan_text(classifier, "PartA and PartB")] == ["t.needs-all"]
    assert "t.needs-all" not in [f.rule for f in scan_text(classifier, "PartA only")]
    assert "t.needs-all" not in [f.rule for f in scan_text(classifier, "PartA PartB retrying")]


def test_ignore_rule_silences_a_harmless_line_that_looks_like_an_error(
    classifier: Classifier,
) -> None:
    assert scan_text(classifier, "ERROR Error handler registered for /score") == []


def test_unrecognised_errors_group_by_masked_template(classifier: Classifier) -> None:
    text = "\n".join(
        [
            "2026-01-01T00:00:01Z worker 17 failed: queue 0x7f3a2b1c full at /opt/app/q.py",
            "2026-01-01T00:00:09Z worker 23 failed: queue 0x7f3a99ff full at /opt/app/r.py",
            "2026-01-01T00:00:10Z INFO all good",
        ]
    )
    [finding] = scan_text(classifier, text)
    assert finding.category == "unclassified"
    assert finding.count == 2
    assert finding.title == "Unrecognised error: worker <n> failed: queue <hex> full at <path>"
    assert finding.first_seen and finding.last_seen and finding.first_seen < finding.last_seen


def test_the_template_is_taken_from_the_evidence_as_shown(classifier: Classifier) -> None:
    """The masked template comes from the evidence line as the finding shows it: redacted,
    and for a traceback its exception line, not the line the event opens with."""
    prefix = "2026-11-19 12:13:22,930 [ERROR] W-9000-model-stdout org.x.Worker - "
    [secret] = scan_text(classifier, f"{prefix}worker 7 failed with password=hunter2secret")
    assert secret.fields["template"] == "worker <n> failed with password=[REDACTED]"
    traceback = "\n".join(
        [
            f"{prefix}Traceback (most recent call last):",
            '  File "/x.py", line 3, in f',
            "    g()",
            "FrobError: widget 42 exploded",
        ]
    )
    [raised] = scan_text(classifier, traceback)
    assert raised.fields["template"] == "FrobError: widget <n> exploded"
    assert raised.title.endswith("FrobError: widget <n> exploded")


def test_traceback_yields_one_finding_on_its_exception_line(classifier: Classifier) -> None:
    text = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "/var/azureml-app/score.py", line 12, in run',
            "    return model.predict(data)",
            "ValueError: could not convert string to float: 'abc'",
        ]
    )
    [finding] = scan_text(classifier, text)
    assert finding.evidence == ["ValueError: could not convert string to float: 'abc'"]


def test_harmless_lines_yield_nothing_whatever_their_level(classifier: Classifier) -> None:
    text = "WARN cache warm\n2026-01-01 INFO GET /ping 200\nWARNING: retries=0 failures=none"
    assert scan_text(classifier, text) == []


def test_findings_are_ordered_by_severity_then_first_occurrence(tmp_path: Path) -> None:
    config = """
        rules:
          - id: t.warn
            category: throttled
            severity: warning
            title: slow down
            match: {any: ['ZorkSlow']}
            fix: x
          - id: t.crit
            category: container_crashed
            severity: critical
            title: crashed
            match: {any: ['ZorkCrash']}
            fix: x
        """
    classifier = Classifier(rulebook(tmp_path, config))
    text = "ZorkSlow on invoke\nweird failure here\naccess denied to bucket x\nZorkCrash seen"
    assert [f.rule for f in scan_text(classifier, text)] == [
        "t.crit",
        "fallback.permission-denied",
        "unclassified",
        "t.warn",
    ]


def test_prefilter_cost_does_not_depend_on_rule_count_for_quiet_lines() -> None:
    """A thousand rules still compile into one set; a healthy line matches none of them."""
    rules = tuple(
        Rule.model_validate(
            {
                "id": f"r{i}",
                "category": "model_error",
                "severity": "error",
                "title": "t",
                "match": {"any": [f"distinct-failure-{i} code (?P<code>\\d+)"]},
                "fix": "f",
            }
        )
        for i in range(1000)
    )
    engine = Engine(Rulebook(rules, (), (), {}))
    assert engine.size == 1000
    assert engine.match("INFO healthy request served in 12 ms") is None
    verdict = engine.match("distinct-failure-731 code 42")
    assert verdict is not None and verdict.rule.id == "r731" and verdict.fields == {"code": "42"}


def test_nested_quantifiers_run_in_linear_time() -> None:
    """RE2 has no backtracking: the classic (a+)+$ blow-up input is answered at once."""
    rule = Rule.model_validate(
        {
            "id": "t.evil",
            "category": "model_error",
            "severity": "error",
            "title": "t",
            "match": {"any": ["^(a+)+$"]},
            "fix": "f",
        }
    )
    engine = Engine(Rulebook((rule,), (), (), {}))
    assert engine.match("a" * 200_000 + "!") is None


def test_events_from_many_streams_keep_their_own_places() -> None:
    recs = [
        LogRecord(message="fatal error in a", container="a", source="g", stream="1"),
        LogRecord(message="fatal error in a", container="b", source="g", stream="2"),
    ]
    assert len(list(events(recs))) == 2
    assert {f.container for f in Classifier().classify(recs)} == {"a", "b"}


def test_an_ignored_line_does_not_silence_the_error_it_is_grouped_with(
    classifier: Classifier,
) -> None:
    text = "Error handler registered: Traceback (most recent call last):\n  boom\nValueError: x"
    [finding] = scan_text(classifier, text)
    assert finding.rule != "t.harmless" and finding.evidence == ["ValueError: x"]


@pytest.mark.parametrize("before", ["", "prédiction échouée: ", "\ud800 "])
def test_fields_and_evidence_are_text_whatever_the_characters(
    classifier: Classifier, before: str
) -> None:
    """ASCII text is searched as bytes and other text as characters; both give the same
    verdict, its offsets in characters and its fields as text."""
    line = f"{before}Received server error (503) from model-a.svc"
    verdict = classifier.engine.match("healthy line\n" + line.replace("\ud800", "\ufffd"))
    assert verdict is not None
    assert verdict.fields["status"] == "503"
    assert verdict.fields["container"] == "model-a.svc"
    assert all(isinstance(value, str) for value in verdict.fields.values())
    assert verdict.evidence == line.replace("\ud800", "\ufffd")


def test_a_rule_is_searched_with_its_first_pattern_that_matched(tmp_path: Path) -> None:
    config = """
        rules:
          - id: t.two
            category: model_error
            severity: error
            title: "{which}"
            match:
              any: ['first (?P<which>alpha)', 'second (?P<which>beta)']
            fix: x
        """
    engine = Engine(rulebook(tmp_path, config))
    for text, which in [("second beta", "beta"), ("first alpha then second beta", "alpha")]:
        verdict = engine.match(text)
        assert verdict is not None and verdict.fields["which"] == which


def test_repeats_merged_early_give_the_findings_built_one_by_one() -> None:
    """A repeat of a known problem is merged before its finding is built; the result is the
    same as building every event's finding and merging those."""
    classifier = Classifier()
    records = [
        LogRecord(message=line, stream="s", cloud="aws", endpoint=f"ep-{n % 2}")
        for n, text in enumerate(CORPUS * 2)
        for line in text.splitlines()
    ]
    one_by_one = FindingSet()
    for event in events(records):
        finding = classifier.classify_event(event)
        if finding is not None:
            one_by_one.add(finding)
    merged = classifier.classify(records)
    assert sum(f.count for f in merged) > len(merged) > 10
    assert [f.to_json() | {"fields": f.fields} for f in merged] == [
        f.to_json() | {"fields": f.fields} for f in one_by_one.ordered()
    ]


def test_extractors_share_the_set_but_never_make_a_rule_apply(tmp_path: Path) -> None:
    """Extractors are matched in the same pass as the rules: one that matches fills its field
    on the event a rule wins, and alone wins nothing."""
    config = """
        extractors:
          - id: t.region
            pattern: 'region=(?P<region>[a-z]{2}-[a-z]+-\\d)'
            examples:
              - text: region=eu-west-1
                expect: {region: eu-west-1}
        rules:
          - id: t.boom
            category: model_error
            severity: error
            title: boom in {region}
            match:
              any: ['boom happened']
              all: ['boom']
            fix: x
        """
    engine = Engine(rulebook(tmp_path, config))
    verdict = engine.match("boom happened region=eu-west-1")
    assert verdict is not None and verdict.rule.id == "t.boom"
    assert verdict.fields["region"] == "eu-west-1"
    assert engine.match("region=eu-west-1 and nothing else of note") is None


def test_a_decision_is_remembered_per_set_answer_and_line_count(
    classifier: Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a set answer decides is worked out once and reused, but whether the event has
    several lines is part of it: the same patterns that silence a line do not silence a
    multi-line event. The memory is emptied when full, and verdicts do not change."""
    line = "ERROR Error handler registered for /score"
    engine = Engine(classifier.rulebook)
    monkeypatch.setattr("shared.classify.engine.MAX_DECISIONS", 2)
    texts = [line, f"{line}\n{line}", line, "PartA and PartB", f"{line}\n{line}"]
    verdicts = [engine.match(text) for text in texts]
    assert [v.rule.id if v else None for v in verdicts] == [
        "t.harmless",
        "unclassified",
        "t.harmless",
        "t.needs-all",
        "unclassified",
    ]
    assert verdicts[1] is not None and verdicts[1].evidence == line
    assert len(engine._decisions) <= 2


def test_a_pattern_is_compiled_alone_only_once_its_rule_is_a_candidate(
    classifier: Classifier,
) -> None:
    """Building an engine compiles the set, not each pattern on its own: that happens when a
    rule first becomes a candidate, and only for the patterns its search needs."""
    engine = Engine(classifier.rulebook)
    assert engine._programs == {}
    verdict = engine.match("PartA and PartB")
    assert verdict is not None and verdict.rule.id == "t.needs-all"
    assert set(engine._programs) == {"PartA", "PartB"}
    assert engine.match("PartA and PartB, again") is not None
    assert set(engine._programs) == {"PartA", "PartB"}
