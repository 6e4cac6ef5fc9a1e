"""Peak memory of a Lambda instance: a fresh process that imports the handler and runs it on the
10,000-event delivery, as a new instance does on its first invocation (the rulebook compiled,
the store opened, alerts posted), then on a second delivery. The figure is the process's peak
resident set size, which is what Lambda counts against the function's memory size.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.batch import EVENTS
from benchmarks.peak import PEAK_SOURCE

#: The smallest Lambda memory size; the target is to fit in it.
LIMIT_MB = 128

_CHILD = (
    PEAK_SOURCE
    + """
import json
from benchmarks.batch import make_batch
from benchmarks.handler import Context, deployed, quiet

def peak():
    return peak_bytes() / 2**20

first, second = make_batch({events}), make_batch({events}, seed=8, first_id=10**21)
with deployed(), quiet():
    import functions.aws.app as app
    imported = peak()
    app.handler(first, Context())
    app.handler(second, Context())
print(json.dumps({{"imported": imported, "peak": peak()}}))
"""
)


@dataclass(frozen=True)
class MemoryFigures:
    """Peak resident set sizes in MB: after imports, and after two deliveries."""

    imported: float
    peak: float


def measure(events: int = EVENTS) -> MemoryFigures:
    """Run the child described in the module docstring and read its figures."""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", _CHILD.format(events=events)],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    return MemoryFigures(imported=figures["imported"], peak=figures["peak"])


def main() -> None:
    """Print the memory figures."""
    figures = measure()
    print(f"Peak memory (fresh process, first and second {EVENTS:,}-event deliveries)")
    print(f"  after importing the handler:              {figures.imported:8.1f} MB")
    print(
        f"  peak resident set:                        {figures.peak:8.1f} MB"
        f"   ({'within' if figures.peak <= LIMIT_MB else 'over'} the {LIMIT_MB} MB Lambda size)"
    )


if __name__ == "__main__":
    main()
