"""``make bench``: speed, memory, import time and cost, each printed with how it was measured.

Where the machine's speed would dominate a figure, it is given as a ratio to a floor measured
in the same run (decoding the same batch, importing boto3). Timed figures are the best of
several runs, so a busy machine shows up as noise on one run, not as a slow result.
"""

from __future__ import annotations

import sys

from benchmarks import classify, handler, imports, memory, package, scan


def main() -> int:
    """Run every section in turn."""
    for section in (
        handler.main,
        classify.main,
        imports.main,
        package.main,
        memory.main,
        scan.main,
    ):
        section()
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
