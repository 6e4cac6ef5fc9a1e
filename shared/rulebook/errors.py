"""Turning schema violations into messages that say which file, line, rule and field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    import yaml


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


def _compose(text: str) -> yaml.Node | None:
    import yaml  # only a config or rule file with a problem gets here

    try:
        return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None


def node_line(root: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """1-based line of the deepest node of the YAML tree that ``loc`` reaches.

    Only called when something is wrong, so the happy path parses the file once.
    """
    import yaml

    line, node = None, root
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if str(k.value) == str(part)), None)
            if child is not None:
                key = next(k for k, v in node.value if v is child)
                line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if 0 <= part < len(node.value) else None
            if child is not None:
                line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


_PATH = re.compile(r"^([A-Za-z_]\w*(?:\[\d+\]|\.[A-Za-z_]\w*)*): ")


def parse_loc(path: str) -> list[int | str]:
    """``routes[2].match`` → ``['routes', 2, 'match']`` (the inverse of :func:`format_loc`)."""
    return [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]


_KIND = {"rules": "rule", "ignore": "ignore rule", "extractors": "extractor"}


def describe(error: ValidationError, data: Any, where: str, text: str | None = None) -> list[str]:
    """One line per problem: ``file:line: rule 'id': field.path: reason``."""
    root = _compose(text) if text is not None else None
    problems = []
    for err in error.errors():
        loc: list[int | str] = list(err["loc"])
        message = clean_message(err["msg"])
        # A check of the whole document names its own path at the head of the message.
        named = _PATH.match(message) if not loc else None
        if named:
            loc, message = parse_loc(named.group(1)), message[named.end() :]
        label = format_loc(loc) or "(top level)"
        line = node_line(root, loc)
        if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
            if loc[0] in _KIND:
                line = node_line(root, loc[:2])
            rule_id = _item_id(data, loc[0], loc[1])
            if rule_id is not None:
                kind = _KIND.get(loc[0], loc[0])
                label = f"{kind} {rule_id!r}: {format_loc(loc[2:]) or '(the entry itself)'}"
        prefix = f"{where}:{line}" if line else where
        problems.append(f"{prefix}: {label}: {message}")
    return problems


def _item_id(data: Any, section: str, index: int) -> str | None:
    """The ``id`` of ``data[section][index]`` if there is one."""
    seq = data.get(section) if isinstance(data, dict) else None
    if isinstance(seq, list) and 0 <= index < len(seq) and isinstance(seq[index], dict):
        rule_id = seq[index].get("id")
        return str(rule_id) if rule_id is not None else None
    return None
