"""Checks what a built Lambda package ships for its cold starts: ``check_package.py DIR``.

Run with the Python of the Lambda runtime, against the directory ``sam build`` wrote. It
imports the handler from there as Lambda would, with bytecode writing off (the deployed files
are read-only), then loads the built-in rulebook. It fails naming:
- every module of the package compiled from source on import;
- every bytecode file Python would check against its source's time (a zip keeps file times to
  two seconds, so after deployment such a file could look stale and be ignored);
- every built-in rule file whose parsed copy is missing or out of date (it would be parsed from
  its YAML on the first invocation).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from pathlib import Path
from typing import Any

#: The bytecode header's flags for a hash-based file whose source is not checked (PEP 552).
UNCHECKED_HASH = 0b01
HANDLER_MODULE = "functions.aws.app"


def timestamped(package: Path) -> list[Path]:
    """Bytecode files of this Python under ``package`` that are not unchecked hash-based."""
    tag = sys.implementation.cache_tag
    found = []
    for pyc in package.rglob(f"*.{tag}.pyc"):
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        if flags != UNCHECKED_HASH:
            found.append(pyc)
    return found


def compiled_on_import(package: Path, module: str) -> list[str]:
    """Files under ``package`` compiled from source while ``module`` is imported from it."""
    compiled: list[str] = []
    loader = importlib.machinery.SourceFileLoader
    real = loader.source_to_code

    def recording(self: Any, data: Any, path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path).startswith(str(package)):
            compiled.append(str(Path(path).relative_to(package)))
        return real(self, data, path, *args, **kwargs)

    sys.dont_write_bytecode = True
    sys.path.insert(0, str(package))
    loader.source_to_code = recording  # type: ignore[method-assign]
    try:
        importlib.import_module(module)
    finally:
        loader.source_to_code = real  # type: ignore[method-assign]
    return compiled


def unparsed_rule_files(package: Path) -> list[str]:
    """Built-in rule files of the package without a current parsed copy (imported from the
    package: call after :func:`compiled_on_import`)."""
    load = importlib.import_module("shared.rulebook.load")
    parsed = importlib.import_module("shared.rulebook.parsed")
    copy = parsed.read(load.RULES_DIR)
    return [
        str(path.relative_to(package))
        for path in sorted(Path(load.RULES_DIR).glob("*.yaml"))
        if not parsed.is_current(copy, path.name, path.read_text(encoding="utf-8"))
    ]


def main(argv: list[str]) -> int:
    """Check the package directory given as the only argument; 0 when it ships everything."""
    if len(argv) != 1:
        print("usage: check_package.py PACKAGE_DIR", file=sys.stderr)
        return 2
    package = Path(argv[0]).resolve()
    stale = timestamped(package)
    problems = [f"timestamp-checked bytecode: {pyc.relative_to(package)}" for pyc in stale]
    problems += [f"compiled from source: {f}" for f in compiled_on_import(package, HANDLER_MODULE)]
    problems += [f"no parsed copy: {f}" for f in unparsed_rule_files(package)]
    if problems:
        print(f"{package}: the Lambda package is not ready for cold starts:", file=sys.stderr)
        print("\n".join(f"  {p}" for p in problems[:20]), file=sys.stderr)
        if len(problems) > 20:
            print(f"  ... and {len(problems) - 20} more", file=sys.stderr)
        return 1
    print(f"{package}: {HANDLER_MODULE} loads from bytecode; the rulebook from its parsed copy")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
