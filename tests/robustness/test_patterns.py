"""Every pattern — built-in rules, a config's rules, ignore rules, extractors and ``redact:``
entries — is compiled by RE2, so none can backtrack: a classic catastrophic pattern runs in
linear time, and a pattern RE2 cannot run is refused at load, naming the rule and the line."""

from __future__ import annotations

import time
from typing import Any

import pytest
import re2

from shared.config import ConfigError, parse_config
from shared.model import LogRecord
from shared.redact import BUILTIN
from shared.rulebook.schema import IgnoreRule, Rule, _groups

#: A config whose every kind of pattern is backtracking bait (``(a+)+$`` and friends).
BAIT = r"""
redact: ['(a+)+$', 'ACME-[0-9]+']
rules:
  - id: user.backtrack
    category: model_error
    severity: error
    title: Backtracking bait
    match:
      any: ['(a+)+$', '(x+x+)+y', 'a!']
      all: ['(a|aa)+!']
      none: ['(a+)+b$']
    fix: Nothing to fix.
ignore:
  - id: user.bait-ignored
    reason: never matches the bait
    match: {any: ['(a*)*c$']}
extractors:
  - id: user.bait-extractor
    pattern: '(?P<run>(a+)+)$'
"""


def test_every_pattern_is_handed_to_re2(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: set[str] = set()
    in_set: set[str] = set()
    real_compile, real_add = re2.compile, re2.Set.Add

    def compile_(pattern: str, *args: Any, **kwargs: Any) -> Any:
        compiled.add(pattern)
        return real_compile(pattern, *args, **kwargs)

    def add(self: Any, pattern: str) -> Any:
        in_set.add(pattern)
        return real_add(self, pattern)

    monkeypatch.setattr(re2, "compile", compile_)
    monkeypatch.setattr(re2.Set, "Add", add)
    _groups.cache_clear()  # what an earlier test compiled is not compiled again
    config = parse_config(BAIT, "medic.yaml")
    book = config.classifier("medic.yaml").rulebook

    assert {"user.backtrack"} <= {rule.id for rule in book.rules}
    rules: list[Rule | IgnoreRule] = [*book.rules, *book.ignore]
    for rule in rules:
        match = rule.match
        # Every pattern is matched in the RE2 set; the config's own were also compiled by RE2
        # when it was loaded (the built-in ones when the built-in rulebook was).
        assert {*match.any, *match.all, *match.none} <= in_set, rule.id
        if rule.id.startswith("user."):
            assert {*match.any, *match.all, *match.none} <= compiled, rule.id
    assert {extractor.pattern for extractor in book.extractors} <= compiled | in_set
    assert {pattern for pattern, _ in BUILTIN} | set(config.redact) <= compiled
    # The searches for a winner's evidence and fields run RE2 programs too.
    compiled.clear()
    classifier = config.classifier("medic.yaml")
    [finding] = classifier.classify([LogRecord("aaaa!", source="s", stream="x")])
    assert finding.rule == "user.backtrack"
    assert {"a!", "(a|aa)+!"} <= compiled


def test_a_catastrophic_user_pattern_runs_in_linear_time() -> None:
    classifier = parse_config(BAIT, "medic.yaml").classifier("medic.yaml")
    text = "a" * 100_000 + "!"
    started = time.perf_counter()
    [finding] = classifier.classify([LogRecord(text, source="s", stream="x")])
    elapsed = time.perf_counter() - started
    assert finding.rule == "user.backtrack"
    # A backtracking engine would not finish this in a lifetime; 2 s is only a sanity guard.
    assert elapsed < 2, elapsed


@pytest.mark.parametrize(
    ("config", "where"),
    [
        (
            "cooldown_minutes: 5\nrules:\n  - id: user.bad\n    category: model_error\n"
            "    severity: error\n    title: Bad\n    match:\n      any: ['(a)\\1']\n"
            "    fix: Nothing.\n",
            "medic.yaml:3: rule 'user.bad': match.any[0]: ",
        ),
        (
            "rules:\n  - id: user.peek\n    category: model_error\n    severity: error\n"
            "    title: Peek\n    match: {any: [boom], none: ['boom(?=x)']}\n    fix: Nothing.\n",
            "medic.yaml:2: rule 'user.peek': match.none[0]: ",
        ),
        (
            "ignore:\n  - id: user.quiet\n    reason: r\n    match: {any: [ok, '(?<=x)y']}\n",
            "medic.yaml:2: ignore rule 'user.quiet': match.any[1]: ",
        ),
        (
            "extractors:\n  - id: user.where\n    pattern: '(?P<name>a)(?!b)'\n",
            "medic.yaml:2: extractor 'user.where': pattern: ",
        ),
        ("redact:\n  - fine\n  - '(a)\\1'\n", "medic.yaml:3: redact[1]: "),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_naming_rule_and_line(config: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config, "medic.yaml")
    [problem] = caught.value.problems
    assert problem.startswith(where + "not valid RE2 syntax"), problem
    assert "RE2 has no lookaround or backreferences" in problem
