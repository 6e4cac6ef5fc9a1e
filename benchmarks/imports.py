"""Cold-start import cost of the two entry points, against ``import boto3``.

Every new Lambda container and every new Azure Functions worker imports its entry module before
the first event is handled, so that import is paid on each cold start. The product budget is at
most 1.5x the import of boto3 (the SDK any Python Lambda pays for anyway), which keeps the figure
independent of the machine's speed.

Each time is the median of several runs, each in a fresh interpreter (an import already in
``sys.modules`` costs nothing), timing only the ``import`` statement inside the child, so
interpreter start-up is left out. The modules take turns within every round, so a busy machine
slows all of them alike instead of whichever happened to run at the time; each ratio is the
median of the ratios within a round, which a slow spell spanning several rounds cannot tilt.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: The reference: what the budget is measured against.
REFERENCE = "boto3"
#: The entry points: the Lambda handler's module and the Azure Functions app root.
ENTRY_POINTS = ("functions.aws.app", "function_app")
#: Shown for context, not judged: the Functions library the Azure app cannot do without.
CONTEXT = ("azure.functions",)
#: Fresh interpreters per module; the median is kept.
ROUNDS = 15
#: The most an entry point's import may cost, as a multiple of the reference's.
BUDGET = 1.5
#: The repository root: the children's working directory and first ``sys.path`` entry, as on
#: both clouds (the function package root is the import root).
ROOT = Path(__file__).resolve().parent.parent

_CHILD = """\
import sys, time
sys.path.insert(0, {root!r})
start = time.perf_counter()
import {module}
print(repr(time.perf_counter() - start))
"""


@dataclass(frozen=True)
class ImportTimes:
    """Median import times in seconds per module (the reference included), and the median of
    each module's per-round ratios to the reference, over ``rounds``."""

    seconds: Mapping[str, float]
    ratios: Mapping[str, float]
    rounds: int
    reference: str = REFERENCE
    budget: float = BUDGET

    def ratio(self, module: str) -> float:
        """``module``'s import time as a multiple of the reference's."""
        return self.ratios[module]

    def within(self, module: str) -> bool:
        """Whether ``module`` keeps to the budget."""
        return self.ratio(module) <= self.budget


def time_import(module: str, root: Path = ROOT) -> float:
    """Seconds that ``import module`` takes in a fresh interpreter (interpreter start-up not
    counted), run from ``root``. Bytecode is cached as usual (``PYTHONDONTWRITEBYTECODE`` is
    dropped): installed packages come compiled, so compiling only our modules would be unfair."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    child = [sys.executable, "-c", _CHILD.format(root=str(root), module=module)]
    return seconds_printed(child, f"import {module}", cwd=root, env=env)


def seconds_printed(
    argv: Sequence[str], what: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> float:
    """Run a child process that prints the seconds it measured as its last line; that figure.
    ``what`` names the measurement in the error raised when the child fails."""
    done = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr.strip()}")
    return float(done.stdout.strip().splitlines()[-1])


def measure(
    rounds: int = ROUNDS,
    modules: Sequence[str] = (REFERENCE, *ENTRY_POINTS, *CONTEXT),
    reference: str = REFERENCE,
    root: Path = ROOT,
) -> ImportTimes:
    """Median import times of ``modules`` (run from ``root``: another checkout compares two
    versions) over ``rounds`` interleaved rounds. One unrecorded round comes first, so bytecode
    caches written by a first import do not count."""
    order = list(dict.fromkeys([reference, *modules]))
    samples: dict[str, list[float]] = {module: [] for module in order}
    for index in range(rounds + 1):
        shift = index % len(order)  # rotate the order, so no module always runs first
        for module in order[shift:] + order[:shift]:
            seconds = time_import(module, root)
            if index:
                samples[module].append(seconds)
    medians = {module: statistics.median(times) for module, times in samples.items()}
    ratios = {
        module: statistics.median(
            mine / theirs for mine, theirs in zip(times, samples[reference], strict=True)
        )
        for module, times in samples.items()
    }
    return ImportTimes(medians, ratios, rounds, reference)


def report(times: ImportTimes) -> list[str]:
    """The figures as printed lines."""
    lines = [
        f"Import time (fresh interpreter, median of {times.rounds} runs; ratio: median of the"
        " ratios within a round)"
    ]
    width = max(len(module) for module in times.seconds) + len("import ") + 1
    for module, seconds in times.seconds.items():
        label = f"import {module}:".ljust(width + 1)
        note = (
            "(the reference)"
            if module == times.reference
            else "(part of function_app's figure)"
            if module in CONTEXT
            else ""
        )
        lines.append(f"  {label} {seconds * 1000:7.1f} ms  {times.ratio(module):5.2f}x  {note}")
    verdicts = [
        f"{module} {'yes' if times.within(module) else 'NO'} ({times.ratio(module):.2f}x)"
        for module in times.seconds
        if module in ENTRY_POINTS
    ]
    lines.append(f"  within {times.budget:g}x of {times.reference}: {', '.join(verdicts)}")
    return [line.rstrip() for line in lines]


def main() -> None:
    """Print the import-time section of ``make bench``."""
    print("\n".join(report(measure())))


if __name__ == "__main__":
    main()
