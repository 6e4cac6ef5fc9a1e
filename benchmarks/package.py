"""Cold-start import of the Lambda handler from the package ``sam build`` wrote, by the
runtime's Python, with the bytecode the build ships and without it.

Lambda cannot write bytecode next to the deployed files, so whatever the package does not ship
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

_CHILD = """\
import sys, time
sys.dont_write_bytecode = True
sys.path.insert(0, {package!r})
start = time.perf_counter()
import functions.aws.app
print(repr(time.perf_counter() - start))
"""


def runtime_python() -> str | None:
    """A Python of the Lambda runtime's version, found as the build finds it."""
    found = subprocess.run(
        ["sh", str(ROOT / "infra" / "aws" / "lambda-python.sh"), RUNTIME],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return found or None


def time_import(python: str, package: Path) -> float:
    """Seconds ``import functions.aws.app`` takes from ``package`` in a fresh interpreter."""
    child = [python, "-I", "-c", _CHILD.format(package=str(package))]
    return seconds_printed(child, f"import from {package}")


def main() -> None:
    """Print the section, or why it was skipped."""
    print(f"Lambda package: import of the handler by Python {RUNTIME}, fresh interpreter")
    python = runtime_python()
    if not PACKAGE.is_dir() or python is None:
        missing = "the built package (make infra)" if python else f"a Python {RUNTIME}"
        print(f"  skipped: needs {missing}")
        return
    with tempfile.TemporaryDirectory() as scratch:
        bare = Path(scratch) / "package"
        shutil.copytree(PACKAGE, bare, ignore=shutil.ignore_patterns("__pycache__"))
        times: dict[str, list[float]] = {"shipped": [], "bare": []}
        for _ in range(ROUNDS):
            times["shipped"].append(time_import(python, PACKAGE))
            times["bare"].append(time_import(python, bare))
    shipped, bare_time = (statistics.median(times[k]) for k in ("shipped", "bare"))
    print(f"  as built (with its bytecode):  {shipped * 1000:7.1f} ms   (median of {ROUNDS})")
    print(f"  the same without bytecode:     {bare_time * 1000:7.1f} ms   (compiled on import)")


if __name__ == "__main__":
    main()
