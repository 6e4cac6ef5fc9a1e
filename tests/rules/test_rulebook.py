"""Every built-in rule proves itself: its examples are won by it with the fields it promises,
its near misses are not, and the rulebook as a whole loads and validates."""

from __future__ import annotations

import pytest

from shared.classify.classifier import Classifier
from shared.rulebook.load import builtin_rulebook
from shared.rulebook.schema import IgnoreRule, Rule
from tests.helpers import scan_text

BOOK = builtin_rulebook()
CLASSIFIER = Classifier(BOOK)
RULES = [pytest.param(rule, id=rule.id) for rule in BOOK.rules]
IGNORES = [pytest.param(rule, id=rule.id) for rule in BOOK.ignore]


def test_rulebook_covers_every_category() -> None:
    from shared.model import CATEGORIES

    used = {rule.category for rule in BOOK.rules}
    assert set(CATEGORIES) - used == set()


@pytest.mark.parametrize("rule", RULES)
def test_rule_has_positive_and_near_miss_examples(rule: Rule) -> None:
    assert rule.examples, f"{rule.id} has no example"
    assert rule.counterexamples, f"{rule.id} has no counterexample"
    assert rule.docs or rule.category == "unclassified", f"{rule.id} has no docs link"


@pytest.mark.parametrize("rule", RULES)
def test_rule_wins_its_examples(rule: Rule) -> None:
    for example in rule.example_list():
        findings = scan_text(CLASSIFIER, example.text)
        mine = [f for f in findings if f.rule == rule.id]
        assert mine, (
            f"{rule.id} did not win its example {example.text!r}; got "
            f"{[(f.rule, f.category) for f in findings]}"
        )
        for name, expected in example.expect.items():
            got = mine[0].fields.get(name)
            assert got == expected, f"{rule.id}: field {name} is {got!r}, expected {expected!r}"


@pytest.mark.parametrize("rule", RULES)
def test_rule_does_not_win_its_near_misses(rule: Rule) -> None:
    for text in rule.counterexamples:
        findings = scan_text(CLASSIFIER, text)
        assert rule.id not in {f.rule for f in findings}, f"{rule.id} won near miss {text!r}"


@pytest.mark.parametrize("rule", IGNORES)
def test_ignore_rule_silences_its_examples_only(rule: IgnoreRule) -> None:
    assert rule.examples and rule.counterexamples, f"{rule.id} needs examples and counterexamples"
    for text in rule.examples:
        assert scan_text(CLASSIFIER, text) == [], f"{rule.id} did not silence {text!r}"
    for text in rule.counterexamples:
        verdict = CLASSIFIER.engine.match(text)
        assert verdict is None or verdict.rule.id != rule.id, f"{rule.id} swallowed {text!r}"


@pytest.mark.parametrize("extractor", [pytest.param(x, id=x.id) for x in BOOK.extractors])
def test_extractor_examples(extractor: object) -> None:
    import re2

    for example in extractor.examples:  # type: ignore[attr-defined]
        found = re2.compile(extractor.pattern).search(example.text)  # type: ignore[attr-defined]
        groups = {k: v for k, v in found.groupdict().items() if v} if found else {}
        # An example with no expected fields is a near miss: the extractor must name nothing.
        assert groups == example.expect, f"{extractor.id} on {example.text!r}"  # type: ignore[attr-defined]
