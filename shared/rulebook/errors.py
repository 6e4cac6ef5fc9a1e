"""Turning schema violations into messages that say which file, line, rule and field."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import yaml
from pydantic import ValidationError


class RulebookError(ValueError):
    """A rule file or config that cannot be used; the message lists every problem found."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def format_loc(loc: Iterable[int | str]) -> str:
    """``('routes', 2, 'match')`` → ``routes[2].match``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def clean_message(message: str) -> str:
    """Pydantic prefixes custom errors with their type; the reader only needs the reason."""
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def item_lines(text: str) -> dict[tuple[str, int], int]:
    """1-based line of each item of the top-level sequences of a YAML document.

    Only called when something is wrong, so the happy path parses the file once.
    """
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return {}
    lines: dict[tuple[str, int], int] = {}
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(value, yaml.SequenceNode):
                for index, item in enumerate(value.value):
                    lines[(str(key.value), index)] = item.start_mark.line + 1
    return lines


_KIND = {"rules": "rule", "ignore": "ignore rule", "extractors": "extractor"}


def describe(error: ValidationError, data: Any, where: str, text: str | None = None) -> list[str]:
    """One line per problem: ``file:line: rule 'id': field.path: reason``."""
    lines = item_lines(text) if text is not None else {}
    problems = []
    for err in error.errors():
        loc = list(err["loc"])
        prefix, label = where, format_loc(loc) or "(top level)"
        if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
            line = lines.get((loc[0], loc[1]))
            prefix = f"{where}:{line}" if line else where
            rule_id = _item_id(data, loc[0], loc[1])
            if rule_id is not None:
                kind = _KIND.get(loc[0], loc[0])
                label = f"{kind} {rule_id!r}: {format_loc(loc[2:]) or '(the entry itself)'}"
        problems.append(f"{prefix}: {label}: {clean_message(err['msg'])}")
    return problems


def _item_id(data: Any, section: str, index: int) -> str | None:
    """The ``id`` of ``data[section][index]`` if there is one."""
    seq = data.get(section) if isinstance(data, dict) else None
    if isinstance(seq, list) and 0 <= index < len(seq) and isinstance(seq[index], dict):
        rule_id = seq[index].get("id")
        return str(rule_id) if rule_id is not None else None
    return None
