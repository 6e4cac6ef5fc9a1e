"""A cold start of the Lambda handler from the package ``sam build`` wrote, by the runtime's
Python: as built, and without what the build adds for cold starts (bytecode, the parsed copy of
the built-in rule files).

Two figures for each: importing the handler, and that plus the work of the first invocation
before it reads any event (loading the built-in rulebook and building the classifier). Lambda
cannot write bytecode next to the deployed files, so whatever the package does not ship
compiled is compiled again on every cold start. This section needs the built package (``make
infra`` writes it) and a Python of the runtime's version; without either it says so and skips.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from benchmarks.imports import seconds_printed

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / ".aws-sam" / "build" / "MedicFunction"
RUNTIME = "3.12"
#: Fresh interpreters per variant; the median is kept.
ROUNDS = 9

_IMPORT = """\
import sys, time
sys.dont_write_bytecode = True
sys.path.insert(0, {package!r})
start = time.perf_counter()
import functions.aws.app
"""
_CHILDREN = {
    "import": _IMPORT + "print(repr(time.perf_counter() - start))\n",
    "first": _IMPORT
    + "from shared.classify.classifier import Classifier\n"
    + "Classifier()\n"
    + "print(repr(time.perf_counter() - start))\n",
}


def runtime_python() -> str | None:
    """A Python of the Lambda runtime's version, found as the build finds it."""
    found = subprocess.run(
        ["sh", str(ROOT / "infra" / "aws" / "lambda-python.sh"), RUNTIME],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return found or None


def seconds(python: str, package: Path, child: str) -> float:
    """Seconds the ``child`` program (``import`` or ``first``) measures, from ``package``, in a
    fresh interpreter."""
    program = _CHILDREN[child].format(package=str(package))
    return seconds_printed([python, "-I", "-c", program], f"{child} from {package}")


def main() -> None:
    """Print the section, or why it was skipped."""
    print(f"Lambda package: a cold start by Python {RUNTIME}, fresh interpreter")
    python = runtime_python()
    if not PACKAGE.is_dir() or python is None:
        missing = "the built package (make infra)" if python else f"a Python {RUNTIME}"
        print(f"  skipped: needs {missing}")
        return
    with tempfile.TemporaryDirectory() as scratch:
        bare = Path(scratch) / "package"
        shutil.copytree(PACKAGE, bare, ignore=shutil.ignore_patterns("__pycache__", "parsed.json"))
        runs = [
            (name, root, child)
            for name, root in (("built", PACKAGE), ("bare", bare))
            for child in _CHILDREN
        ]
        times: dict[tuple[str, str], list[float]] = {(n, c): [] for n, _, c in runs}
        for _ in range(ROUNDS):
            for name, root, child in runs:
                times[name, child].append(seconds(python, root, child))
    median = {key: statistics.median(values) * 1000 for key, values in times.items()}
    print(f"  {f'(median of {ROUNDS}, ms)':<35}  import  import, rulebook and classifier")
    for name, label in (("built", "as built"), ("bare", "no bytecode, YAML parsed")):
        shown = f"{median[name, 'import']:7.1f}  {median[name, 'first']:7.1f}"
        print(f"  {label + ':':<35}{shown}")


if __name__ == "__main__":
    main()
