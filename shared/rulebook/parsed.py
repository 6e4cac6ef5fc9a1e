"""The rule files of a directory, already parsed: a JSON copy a build ships beside the YAML.

Parsing the YAML of the built-in rulebook is the largest part of a cold start's first
invocation, and JSON of the same data loads in a fraction of that time. Each file's entry
carries the SHA-256 of the text it was parsed from, so a file changed since is parsed from its
YAML again; a copy that is missing, unreadable or of another format makes loading slower, never
different.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: The copy's file name, in the directory of the rule files it holds.
NAME = "parsed.json"
FORMAT = 1


def digest(text: str) -> str:
    """What a file's entry is keyed by: the SHA-256 of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write(directory: Path, parse: Callable[[str, str], Any]) -> Path:
    """Parse every ``*.yaml`` file of ``directory`` with ``parse(text, where)`` and write the
    copy there. A file whose data JSON cannot hold as it is (a YAML date, a number as a key) is
    left out, to be parsed from its YAML."""
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        data = parse(text, str(path))
        try:
            exact = json.loads(json.dumps(data)) == data
        except (TypeError, ValueError):
            exact = False
        if exact:
            files[path.name] = {"sha256": digest(text), "data": data}
    target = directory / NAME
    target.write_text(json.dumps({"format": FORMAT, "files": files}), encoding="utf-8")
    return target


def read(directory: Path) -> dict[str, tuple[str, Any]]:
    """The copy in ``directory``, as file name to (SHA-256 of its text, data); empty when there
    is none or it cannot be used."""
    try:
        copy = json.loads((directory / NAME).read_text(encoding="utf-8"))
        if copy["format"] != FORMAT:
            return {}
        return {name: (entry["sha256"], entry["data"]) for name, entry in copy["files"].items()}
    except (OSError, ValueError, LookupError, TypeError, AttributeError):
        return {}


def is_current(copy: Mapping[str, tuple[str, Any]], name: str, text: str) -> bool:
    """Whether ``copy`` (as :func:`read` gives it) holds the file ``name`` parsed from the
    very ``text`` it holds now."""
    known = copy.get(name)
    return known is not None and known[0] == digest(text)
