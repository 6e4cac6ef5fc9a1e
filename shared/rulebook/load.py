"""Loading the rulebook: the built-in YAML files plus a user's additions and overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from shared.rulebook import parsed
from shared.rulebook.errors import RulebookError, describe
from shared.rulebook.schema import Extractor, IgnoreRule, Rule, RuleFile

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"


@dataclass(frozen=True)
class Rulebook:
    """The rules in force, in priority-tie order, and where each came from (``file:line``)."""

    rules: tuple[Rule, ...]
    ignore: tuple[IgnoreRule, ...]
    extractors: tuple[Extractor, ...]
    origin: dict[str, str]

    def with_overrides(self, extra: RuleFile, where: str) -> Rulebook:
        """A rulebook where ``extra``'s rules replace same-id rules and the others are added."""
        rules = _merge(self.rules, extra.rules)
        ignore = _merge(self.ignore, extra.ignore)
        extractors = _merge(self.extractors, extra.extractors)
        origin = dict(self.origin)
        items: tuple[Rule | IgnoreRule | Extractor, ...] = (
            *extra.rules,
            *extra.ignore,
            *extra.extractors,
        )
        for item in items:
            origin[item.id] = where
        return Rulebook(rules, ignore, extractors, origin)


_Item = TypeVar("_Item", Rule, IgnoreRule, Extractor)


def _merge(base: tuple[_Item, ...], extra: list[_Item]) -> tuple[_Item, ...]:
    replaced = {item.id: item for item in extra}
    merged = [replaced.pop(item.id, item) for item in base]
    merged.extend(item for item in extra if item.id in replaced)
    return tuple(item for item in merged if getattr(item, "enabled", True))


def parse_yaml(text: str, where: str) -> Any:
    """YAML text to data, or a :class:`RulebookError` naming the file and line."""
    import yaml  # imported where YAML is read, not by every module that imports this one

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise RulebookError([f"{where}{line}: not valid YAML: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise RulebookError([f"{where}: not valid YAML: {exc}"]) from None


def without_extensions(data: Any) -> Any:
    """Top-level ``x-…`` keys hold YAML anchors shared by several rules; they are not settings."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if not str(k).startswith("x-")}
    return data


def validate_rule_file(data: Any, where: str, text: str | None = None) -> RuleFile:
    """Check one file's data against the schema; every problem is reported, not just the first."""
    if data is None:
        return RuleFile()
    try:
        return RuleFile.model_validate(without_extensions(data))
    except ValidationError as exc:
        raise RulebookError(describe(exc, data, where, text)) from None


def load_rule_file(path: Path, copy: Mapping[str, tuple[str, Any]] | None = None) -> RuleFile:
    """Read and validate one rule file. ``copy`` is its directory's parsed copy (see
    :mod:`shared.rulebook.parsed`): the file's data is taken from there when it was parsed
    from the very text the file holds now."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulebookError([f"{path}: cannot read: {exc}"]) from None
    if copy and parsed.is_current(copy, path.name, text):
        data = copy[path.name][1]
    else:
        data = parse_yaml(text, str(path))
    return validate_rule_file(data, str(path), text)


def write_parsed(directory: Path = RULES_DIR) -> Path:
    """Write the parsed copy of ``directory``'s rule files (a build does, for the built-in
    rulebook), so that loading them parses no YAML."""
    return parsed.write(directory, parse_yaml)


def load_rulebook(directory: Path = RULES_DIR) -> Rulebook:
    """All rule files of a directory (in name order), checked for duplicate ids across files."""
    problems: list[str] = []
    rules: list[Rule] = []
    ignore: list[IgnoreRule] = []
    extractors: list[Extractor] = []
    origin: dict[str, str] = {}
    copy = parsed.read(directory)
    for path in sorted(directory.glob("*.yaml")):
        try:
            part = load_rule_file(path, copy)
        except RulebookError as exc:
            problems.extend(exc.problems)
            continue
        shown = _display(path)
        items: tuple[Rule | IgnoreRule | Extractor, ...] = (
            *part.rules,
            *part.ignore,
            *part.extractors,
        )
        for item in items:
            if item.id in origin:
                problems.append(f"{shown}: id {item.id!r} is already used in {origin[item.id]}")
            origin[item.id] = shown
        rules.extend(part.rules)
        ignore.extend(part.ignore)
        extractors.extend(part.extractors)
    if problems:
        raise RulebookError(problems)
    return Rulebook(tuple(rules), tuple(ignore), tuple(extractors), origin)


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(RULES_DIR.parent.parent))
    except ValueError:
        return str(path)


@lru_cache(maxsize=1)
def builtin_rulebook() -> Rulebook:
    """The rulebook shipped with medic, loaded once per process."""
    return load_rulebook(RULES_DIR)
