"""The rule schema: what a rule file may contain, checked when it is loaded.

Rules are data. This module holds only the *kinds* of rules (alerting rules, ignore rules and
field extractors) and the checks that make a broken rule fail at load time rather than at 3 a.m.:
patterns must compile as RE2 (linear-time, so no catastrophic backtracking), templates may only
name fields the rule can know, categories come from the closed vocabulary.

These models are built on every cold start, so their annotations are objects rather than strings
(no ``from __future__ import annotations``: pydantic would evaluate each one) and empty defaults
are plain values (pydantic copies them per instance) rather than ``default_factory=list``, whose
signature pydantic would inspect, field by field.
"""

from functools import lru_cache
from typing import Annotated, Literal, Self

import re2
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shared.model import CATEGORIES, LOCATION_FIELDS, Severity
from shared.rulebook.template import template_fields

RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")]


def _category(value: str) -> str:
    if value not in CATEGORIES:
        raise ValueError(f"{value!r} is not a category; use one of: {', '.join(CATEGORIES)}")
    return value


Category = Annotated[str, AfterValidator(_category)]

#: Fields the engine supplies to every template in addition to the location fields.
ENGINE_FIELDS = frozenset({"template", "log_group", "stream", "rule"})
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


@lru_cache(maxsize=4096)
def _groups(pattern: str) -> tuple[str, ...]:
    """The names of the capture groups of ``pattern`` as RE2 compiles it (``re2.error`` if it
    cannot). Remembered: a rule's patterns are compiled once to check them, and their groups
    are asked for again to check its templates, on every cold start."""
    return tuple(re2.compile(pattern, _OPTIONS).groupindex)


def _compile(pattern: str) -> str:
    """Accept a pattern only if RE2 compiles it and its group names are lowercase identifiers."""
    try:
        names = _groups(pattern)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(
            f"not valid RE2 syntax ({reason}); RE2 has no lookaround or backreferences"
        ) from None
    for name in names:
        if not name.islower() or not name.isidentifier():
            raise ValueError(f"group name {name!r} must be a lowercase identifier")
    return pattern


Pattern = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_compile)]


def group_names(patterns: list[str]) -> set[str]:
    """Names of the capture groups of some (already validated) patterns."""
    return {name for p in patterns for name in _groups(p)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    """How a rule recognises an event: any of ``any``, all of ``all``, none of ``none``."""

    any: list[Pattern] = Field(min_length=1)
    all: list[Pattern] = []
    none: list[Pattern] = []


class Example(_Strict):
    """A log text the rule must win, with the fields it must extract from it."""

    text: str = Field(min_length=1)
    expect: dict[str, str] = {}


class CloudCommand(_Strict):
    """A command that only makes sense on one cloud (shown when the finding's cloud matches)."""

    cloud: Literal["aws", "azure"]
    run: str = Field(min_length=1)


class Rule(_Strict):
    """A diagnosis: which events it recognises and what the alert says about them."""

    id: RuleId
    category: Category
    severity: Severity
    priority: int = Field(default=0, ge=-1000, le=1000)
    title: str = Field(min_length=1, max_length=150)
    match: Match
    fields: dict[str, str] = {}
    fix: str = Field(min_length=1, max_length=2000)
    commands: list[str | CloudCommand] = Field(default=[], max_length=6)
    docs: str | None = Field(default=None, pattern=r"^https://\S+$")
    examples: list[Example | str] = []
    counterexamples: list[str] = []
    enabled: bool = True

    @model_validator(mode="after")
    def _templates_name_known_fields(self) -> Self:
        known = (
            set(LOCATION_FIELDS)
            | ENGINE_FIELDS
            | set(self.fields)
            | group_names(self.match.any + self.match.all)
        )
        templates = [("title", self.title), ("fix", self.fix)] + [
            (f"commands[{i}]", c if isinstance(c, str) else c.run)
            for i, c in enumerate(self.commands)
        ]
        for where, text in templates:
            try:
                used = template_fields(text)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
            unknown = sorted(used - known)
            if unknown:
                raise ValueError(
                    f"{where}: unknown field(s) {', '.join(unknown)}; a template may name the "
                    "location fields, the rule's constant fields and its patterns' groups"
                )
        return self

    def commands_for(self, cloud: str | None) -> list[str]:
        """Command templates that apply to a finding on ``cloud`` (all of them if unknown)."""
        return [
            c if isinstance(c, str) else c.run
            for c in self.commands
            if isinstance(c, str) or cloud is None or c.cloud == cloud
        ]

    def example_list(self) -> list[Example]:
        """Examples with the string shorthand expanded."""
        return [e if isinstance(e, Example) else Example(text=e) for e in self.examples]


class IgnoreRule(_Strict):
    """A known-harmless message: when it wins, the event yields no finding."""

    id: RuleId
    priority: int = Field(default=100, ge=-1000, le=1000)
    reason: str = Field(min_length=1)
    #: Whether the rule describes a whole multi-line event (a known-harmless traceback). Other
    #: ignore rules only silence single lines: grouped with an error, they do not hide it.
    whole_event: bool = False
    match: Match
    examples: list[str] = []
    counterexamples: list[str] = []
    enabled: bool = True


class Extractor(_Strict):
    """A pattern that names where an event happened, whatever rule wins it."""

    id: RuleId
    pattern: Pattern
    examples: list[Example] = []

    @model_validator(mode="after")
    def _has_groups(self) -> Self:
        if not group_names([self.pattern]):
            raise ValueError("pattern: an extractor needs at least one named group")
        return self


class RuleFile(_Strict):
    """One YAML file of the rulebook, or the ``rules``/``ignore`` part of a user's config."""

    rules: list[Rule] = []
    ignore: list[IgnoreRule] = []
    extractors: list[Extractor] = []
