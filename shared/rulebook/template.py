"""Templates of rule titles, fixes and commands: ``{field}`` placeholders, nothing more.

Templates come from rule files (possibly a user's), values come from log text. Placeholders are
restricted to plain names so a template cannot reach into objects, and values inserted into shell
commands are quoted so a crafted log line cannot turn a pasted command into another one.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from string import Formatter

_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
_SHELL_SAFE = re.compile(r"[A-Za-z0-9_\-.:/@=,+]+\Z")
_FORMATTER = Formatter()


def template_fields(template: str) -> set[str]:
    """The field names a template uses; ``ValueError`` if it is not a plain-name template."""
    names: set[str] = set()
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValueError(f"bad template {template!r}: {exc}") from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not _NAME.match(name) or spec or conversion:
            raise ValueError(
                f"placeholder {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}} in {template!r}: only plain {{field}} names"
                " are allowed"
            )
        names.add(name)
    return names


def render(template: str, values: Mapping[str, str | None], *, shell: bool = False) -> str:
    """Fill a template; unknown values become ``<name>``, shell values are quoted if needed."""
    out: list[str] = []
    for literal, name, _spec, _conversion in _FORMATTER.parse(template):
        out.append(literal)
        if name is None:
            continue
        value = values.get(name)
        if not value:
            out.append(f"<{name}>")
        elif shell and not _SHELL_SAFE.match(value):
            out.append(shlex.quote(value))
        else:
            out.append(value)
    return "".join(out)
