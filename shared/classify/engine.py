"""Matching one event text against the whole rulebook in one pass.

Every pattern of every rule (``any``, ``all`` and ``none``) goes into a single RE2 set, so an
event is scanned once whatever the number of rules, and the set's answer alone says which rules
apply; only the winner is searched again for its evidence line and fields. RE2 runs in time
linear in the text, so neither built-in nor user patterns can backtrack catastrophically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import re2

from shared.classify.program import Program
from shared.rulebook.load import Rulebook
from shared.rulebook.schema import IgnoreRule, Rule

_SET_MEMORY = 512 << 20
#: Rank of an ignore rule inside a multi-line event: below every other rule, the catch-all too.
IGNORE_IN_MULTILINE = -1001
#: Set answers whose decision is remembered (about 1 kB each). Events of one problem give the
#: same answer, so a few dozen cover a fleet's usual errors; the memory is emptied when full.
MAX_DECISIONS = 1024


def _options(max_mem: int | None = None) -> Any:
    options = re2.Options()
    options.log_errors = False
    if max_mem:
        options.max_mem = max_mem
    return options


@dataclass(slots=True)  # one per event: frozen fields cost more to set
class Verdict:
    """The rule that won an event, the fields its patterns extracted, and the evidence line
    (empty when an ignore rule won: nothing is reported, so nothing is searched for)."""

    rule: Rule | IgnoreRule
    fields: dict[str, str]
    evidence: str


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One rule ready for matching: its patterns, and their indices in the set (``*_ids``)."""

    rule: Rule | IgnoreRule
    order: int
    any: tuple[str, ...]
    any_ids: tuple[int, ...]
    all: tuple[str, ...]
    all_ids: frozenset[int]
    none_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A rule a set answer leaves in the running, with what to search for its evidence and
    fields: the first of its ``any`` patterns that matched, and its ``all`` patterns that name
    groups (the others give no fields)."""

    compiled: _Compiled
    first: Program
    named: tuple[Program, ...]


@dataclass(frozen=True, slots=True)
class _Decision:
    """What one set answer decides: the ignore rule that silences the event, or the candidate
    rules of the highest priority and the extractors that matched, in rulebook order."""

    silenced_by: IgnoreRule | None
    candidates: tuple[_Candidate, ...] = ()
    extractors: tuple[Program, ...] = ()


class Engine:
    """A rulebook compiled for matching: one RE2 set holding every rule's ``any``, ``all`` and
    ``none`` patterns and every extractor, plus, compiled the first time they are needed, the
    patterns searched alone for evidence and fields."""

    def __init__(self, rulebook: Rulebook) -> None:
        self._options = _options()
        self._set = re2.Set.SearchSet(_options(_SET_MEMORY))
        self._rules: list[_Compiled] = []
        #: For each ``any`` pattern in the set, by index: its rule and its place in the list.
        self._owner: dict[int, tuple[_Compiled, int]] = {}
        candidates: Sequence[Rule | IgnoreRule] = (*rulebook.rules, *rulebook.ignore)
        for order, rule in enumerate(candidates):
            compiled = _Compiled(
                rule=rule,
                order=order,
                any=tuple(rule.match.any),
                any_ids=tuple(self._set.Add(p) for p in rule.match.any),
                all=tuple(rule.match.all),
                all_ids=frozenset(self._set.Add(p) for p in rule.match.all),
                none_ids=frozenset(self._set.Add(p) for p in rule.match.none),
            )
            self._rules.append(compiled)
            self._owner.update(
                {index: (compiled, place) for place, index in enumerate(compiled.any_ids)}
            )
        self._any_ids = frozenset(self._owner)
        # Extractors go into the same set, so the same pass says which of them to search.
        self._extractors = {self._set.Add(x.pattern): x.pattern for x in rulebook.extractors}
        self._extractor_ids = frozenset(self._extractors)
        #: Patterns compiled on their own, for the searches that give evidence and fields.
        #: A pattern is compiled the first time it is searched: in one process most rules never
        #: win, and compiling all of them would cost every cold start a tenth of a second.
        self._programs: dict[str, Program] = {}
        #: What each set answer (with whether the event has several lines) decides: see
        #: :meth:`_decide`. It depends on the answer alone, so it is worked out once per answer.
        self._decisions: dict[tuple[int | bool, ...], _Decision] = {}
        try:
            self._set.Compile()
        except re2.error:
            raise ValueError(
                "the rulebook's patterns do not fit in the matcher's memory budget"
            ) from None

    @property
    def size(self) -> int:
        """Number of rules (alerting and ignore) compiled into the engine."""
        return len(self._rules)

    def match(self, text: str) -> Verdict | None:
        """The winning rule for an event text, or ``None`` when no rule applies.

        One pass of the set says which patterns match, and so which rules apply; only the rules
        of the highest priority among those are searched again, for evidence and fields, each
        with its first pattern the set found. ASCII text (nearly all logs) is searched as bytes,
        whose offsets are its character offsets, sparing the binding a conversion per search.
        """
        data: str | bytes = text.encode("ascii") if text.isascii() else text
        hits = self._set.Match(data)
        if not hits:
            return None
        multiline = "\n" in text
        # Keyed by the answer as given: the same matches listed in another order would only
        # take a second entry with the same decision.
        key = (*hits, multiline)
        decision = self._decisions.get(key)
        if decision is None:
            if len(self._decisions) >= MAX_DECISIONS:
                self._decisions.clear()
            decision = self._decisions[key] = self._decide(frozenset(hits), multiline)
        if decision.silenced_by is not None:
            # Silenced: which harmless pattern it was does not matter, so no second search.
            return Verdict(rule=decision.silenced_by, fields={}, evidence="")
        best: tuple[int, int] | None = None
        winner: tuple[_Candidate, dict[str, str], int] | None = None
        for candidate in decision.candidates:
            found = candidate.first.find(data)
            if found is None:
                continue
            start, own = found
            rank = (start, -candidate.compiled.order)
            if best is None or rank > best:
                best, winner = rank, (candidate, own, start)
        if winner is None:
            return None
        candidate, own, start = winner
        rule = candidate.compiled.rule
        return Verdict(
            rule=rule,
            fields={}
            if isinstance(rule, IgnoreRule)
            else _fields(rule, candidate.named, decision.extractors, own, data),
            evidence=_line_at(text, start),
        )

    def _decide(self, matched: frozenset[int], multiline: bool) -> _Decision:
        """Which rules a set answer makes candidates: those of the highest priority whose
        ``all`` patterns matched and ``none`` patterns did not, each with the first of its
        ``any`` patterns that matched; and the extractors that matched."""
        tier: list[tuple[_Compiled, int]] = []
        top = -(10**9)
        last: _Compiled | None = None
        # Patterns enter the set rule by rule, each rule's ``any`` list in order, so in
        # ascending order the ``any`` hits meet rules in rulebook order and each rule first at
        # the first of its patterns that matched. (Most hits are ``all`` and ``none`` words.)
        for index in sorted(matched & self._any_ids):
            entry = self._owner[index]
            if entry[0] is last:
                continue
            compiled = last = entry[0]
            if not compiled.all_ids <= matched or not compiled.none_ids.isdisjoint(matched):
                continue
            rule = compiled.rule
            priority = rule.priority
            if multiline and isinstance(rule, IgnoreRule) and not rule.whole_event:
                # A harmless line inside a traceback or error body does not make it harmless:
                # there an ignore rule only wins when nothing else, not even the fallback, does.
                priority = min(priority, IGNORE_IN_MULTILINE)
            if priority < top:
                continue
            if priority > top:
                top, tier = priority, []
            tier.append(entry)
        first = tier[0][0].rule if tier else None
        if isinstance(first, IgnoreRule) and all(
            isinstance(compiled.rule, IgnoreRule) for compiled, _ in tier
        ):
            return _Decision(silenced_by=first)
        candidates = tuple(
            _Candidate(
                compiled,
                self._program(compiled.any[place]),
                tuple(named for named in map(self._program, compiled.all) if named.names),
            )
            for compiled, place in tier
        )
        extractors = tuple(
            self._program(self._extractors[index])
            for index in sorted(matched & self._extractor_ids)
        )
        return _Decision(silenced_by=None, candidates=candidates, extractors=extractors)

    def _program(self, pattern: str) -> Program:
        """``pattern`` compiled on its own, the first time it is needed."""
        program = self._programs.get(pattern)
        if program is None:
            program = self._programs[pattern] = Program(pattern, self._options)
        return program


def _fields(
    rule: Rule,
    named: tuple[Program, ...],
    extractors: tuple[Program, ...],
    own: dict[str, str],
    data: str | bytes,
) -> dict[str, str]:
    """Extractor fields, overridden by those of the rule's ``all`` patterns that name groups,
    then by the rule's own groups (``own``: those of the pattern that won), then its constant
    fields. ``extractors`` are those the set found in ``data``: the ones worth searching."""
    fields: dict[str, str] = {}
    for program in (*extractors, *named):
        found = program.find(data)
        if found is not None:
            fields.update(found[1])
    fields.update(own)
    fields.update(rule.fields)
    return fields


def _line_at(text: str, position: int) -> str:
    """The whole line of ``text`` that contains ``position``."""
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return text[start : end if end >= 0 else len(text)]
