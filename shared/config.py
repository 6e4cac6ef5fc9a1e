"""The user's configuration file (``MEDIC_CONFIG``): validated like the rulebook, with every
problem reported as ``file:line: path: reason`` and nothing used until all of it is valid.

The model is built on every cold start, like the rule schema: annotations are objects rather
than strings and empty defaults are plain values (see :mod:`shared.rulebook.schema`).
"""

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Self

from pydantic import ConfigDict, Field, ValidationError, model_validator

from shared.alerts.settings import AlertSettings, ReceiverName
from shared.rulebook.errors import RulebookError, describe
from shared.rulebook.load import Rulebook, builtin_rulebook, parse_yaml, without_extensions
from shared.rulebook.schema import Extractor, IgnoreRule, Rule, RuleFile

if TYPE_CHECKING:
    from shared.classify.classifier import Classifier

CONFIG_ENV = "MEDIC_CONFIG"


class ConfigError(RulebookError):
    """A configuration file that cannot be used; lists every problem."""


#: Receivers a config may name without declaring them: the ones the environment defines.
ENV_RECEIVER_NAMES = ("slack", "slack-webhook", "teams")


class Config(AlertSettings):
    """Everything a user can tune (see ``docs/config.md``). Rules here add to, or replace by
    id, the built-in ones; the alerting keys come from :class:`AlertSettings`."""

    # Validated on every invocation, so built at import (unlike its base, AlertSettings).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=False)

    version: Literal[1] = 1
    rules: list[Rule] = Field(default=[])
    ignore: list[IgnoreRule] = Field(default=[])
    extractors: list[Extractor] = Field(default=[])

    @model_validator(mode="after")
    def _receivers_exist(self) -> Self:
        known = set(self.receivers) or set(ENV_RECEIVER_NAMES)
        named: list[tuple[str, ReceiverName]] = [
            (f"routes[{i}].receivers[{j}]", name)
            for i, route in enumerate(self.routes)
            for j, name in enumerate(route.receivers)
        ]
        named += [
            (f"default_receivers[{j}]", name) for j, name in enumerate(self.default_receivers or [])
        ]
        for where, name in named:
            if name not in known:
                raise ValueError(
                    f"{where}: no receiver named {name!r}; declared: {', '.join(sorted(known))}"
                )
        return self

    def classifier(self, where: str | None) -> "Classifier":
        """A classifier for this config's rulebook and redaction patterns."""
        from shared.classify.classifier import Classifier
        from shared.redact import redactor

        return Classifier(self.rulebook(where or "config"), redactor(tuple(self.redact)))

    def rulebook(self, where: str) -> Rulebook:
        """The built-in rulebook with this config's rules added or overriding; rule ids named
        by overrides, mutes and routes must exist in it."""
        extra = RuleFile(rules=self.rules, ignore=self.ignore, extractors=self.extractors)
        book = builtin_rulebook().with_overrides(extra, where)
        known = {rule.id for rule in book.rules}
        named = [(f"overrides.rules.{rule_id}", rule_id) for rule_id in self.overrides.rules]
        selectors = [(f"mutes[{i}]", m.match) for i, m in enumerate(self.mutes)]
        selectors += [(f"routes[{i}]", r.match) for i, r in enumerate(self.routes)]
        for where_, selector in selectors:
            named += [(f"{where_}.match.rule", rule_id) for rule_id in selector.rule or []]
        problems = [
            f"{where}: {path}: no rule {rule_id!r} (see `medic rules`)"
            for path, rule_id in named
            if rule_id not in known
        ]
        if problems:
            raise ConfigError(problems)
        return book


def classifier_from_config(explicit: str | None = None) -> "Classifier":
    """A classifier for the built-in rulebook plus the rules of the config in force."""
    config, where = config_from_env(explicit)
    return config.classifier(where)


def load_config(path: str | Path) -> Config:
    """Read and validate a config file, or raise :class:`ConfigError` listing every problem."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{where}: cannot read: {exc}"]) from None
    return parse_config(text, where)


def parse_config(text: str, where: str) -> Config:
    """Validate config text read from ``where`` (a file, an SSM parameter), or raise
    :class:`ConfigError` listing every problem; rule ids it names must exist."""
    config = _parse(text, where)
    config.rulebook(where)
    return config


def _parse(text: str, where: str) -> Config:
    try:
        data = parse_yaml(text, where)
    except RulebookError as exc:
        raise ConfigError(exc.problems) from None
    if data is None:
        return Config()
    if not isinstance(data, dict):
        raise ConfigError([f"{where}: the top level must be a mapping of settings"])
    try:
        return Config.model_validate(without_extensions(data))
    except ValidationError as exc:
        raise ConfigError(describe(exc, data, where, text)) from None


@lru_cache(maxsize=1)
def _defaults() -> Config:
    """The zero-config defaults, one object: a warm instance keeps the classifier built for
    the config object in force, so a fresh object per call would rebuild it every time."""
    return Config()


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> Config:
    return load_config(path)


def config_from_env(explicit: str | None = None) -> tuple[Config, str | None]:
    """The config named by ``explicit`` or ``MEDIC_CONFIG`` (loaded once per file version)."""
    path = explicit or os.environ.get(CONFIG_ENV)
    if not path:
        return _defaults(), None
    try:
        mtime = os.stat(path).st_mtime
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    return _cached(path, mtime), path
