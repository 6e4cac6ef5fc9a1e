"""Checks that a built Lambda package loads without compiling: ``python3.12 check_bytecode.py DIR``.

Run with the Python of the Lambda runtime, against the directory ``sam build`` wrote. It imports
the handler from there as Lambda would, with bytecode writing off (the deployed files are
read-only), and fails naming every module of the package that had to be compiled from source,
and every bytecode file that Python would check against its source's timestamp: a zip keeps
file times to two seconds, so after deployment such a file could look stale and be ignored.
"""

from __future__ import annotations

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
        __import__(module)
    finally:
        loader.source_to_code = real  # type: ignore[method-assign]
    return compiled


def main(argv: list[str]) -> int:
    """Check the package directory given as the only argument; 0 when it is all bytecode."""
    if len(argv) != 1:
        print("usage: check_bytecode.py PACKAGE_DIR", file=sys.stderr)
        return 2
    package = Path(argv[0]).resolve()
    stale = timestamped(package)
    problems = [f"timestamp-checked bytecode: {pyc.relative_to(package)}" for pyc in stale]
    problems += [f"compiled from source: {f}" for f in compiled_on_import(package, HANDLER_MODULE)]
    if problems:
        print(f"{package}: the Lambda package is not all bytecode:", file=sys.stderr)
        print("\n".join(f"  {p}" for p in problems[:20]), file=sys.stderr)
        if len(problems) > 20:
            print(f"  ... and {len(problems) - 20} more", file=sys.stderr)
        return 1
    print(f"{package}: {HANDLER_MODULE} and what it imports load from bytecode")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
