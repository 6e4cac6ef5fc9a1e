"""``medic scan`` of a 1,000,000-line file in a fresh process: speed, and whether memory is bounded.

``medic scan`` promises to read files of any size in bounded memory. This benchmark checks the
promise the way an operator would meet it: the real command line, in a new Python process, over a
realistic file, with the process's own peak resident set size as the figure. A file of 100,000
lines and one of 1,000,000 lines of the same kind are scanned; if the scan kept anything per line,
the bigger file's peak would be tens of MiB higher. A process that only imports the modules the
scan loaded gives the floor (interpreter plus code), so the scan's own memory shows separately.

The files are ``aws logs tail`` output of one SageMaker endpoint: four log streams (two variants,
two instances each) interleaved, each stream made of :func:`benchmarks.batch.messages` (~97%
healthy model-server lines, some errors, a Python traceback every 500 lines), so grouping keeps
several streams open at once and the same problems are found once per variant.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.batch import messages
from benchmarks.peak import PEAK_SOURCE

#: Lines in the files scanned: an empty file (start-up cost), 100k and 1M lines.
SIZES = (0, 100_000, 1_000_000)
#: Memory counts as bounded when 10x the lines raise the peak RSS by at most this many bytes. A
#: scan that kept as little as 10 bytes per line would exceed it by 2x on 900,000 more lines.
BOUND = 4 * 1024 * 1024
#: SageMaker log streams in the file, as ``aws logs tail`` names them (variant/instance).
STREAMS = (
    "AllTraffic/i-0a1b2c3d4e5f60718",
    "AllTraffic/i-0b2c3d4e5f6071829",
    "Canary/i-0c3d4e5f607182930",
    "Canary/i-0d4e5f60718293a4b",
)
#: Lines of each stream generated at a time, from a generator seeded for the stream and block;
#: not a multiple of 500 or just past one, where the last traceback would be cut short.
SHARE = 2_400
_MARK = "MEDIC-BENCH "
_MIB = 1024 * 1024

# The children run as ``python -c`` so that they load nothing but what they measure. The scan
# child calls the console script's entry point, as ``medic scan --json FILE`` would.
_SCAN_CHILD = f"""
import json, sys, time
{PEAK_SOURCE}
from shared.cli.main import main
start = time.perf_counter()
status = main(["scan", "--json", *sys.argv[1:]])
seconds = time.perf_counter() - start
peak = peak_bytes()
print({_MARK!r} + json.dumps(
    {{"status": status, "seconds": seconds, "peak_bytes": peak, "modules": sorted(sys.modules)}}
))
"""
_IMPORT_CHILD = f"""
import importlib, json, sys
{PEAK_SOURCE}
for name in sys.stdin.read().split():
    try:
        importlib.import_module(name)
    except Exception:
        pass
peak = peak_bytes()
print({_MARK!r} + json.dumps({{"peak_bytes": peak}}))
"""


@dataclass(frozen=True, slots=True)
class ScanRun:
    """One ``medic scan`` of one file in a fresh process."""

    lines: int
    #: Size of the file, in bytes.
    size: int
    #: The whole process, start-up and imports included: what the operator waits for.
    wall: float
    #: The ``medic scan`` call alone, inside the process (loading the rulebook included).
    seconds: float
    #: Peak resident set size of the process, in bytes.
    peak_rss: int
    findings: int


@dataclass(frozen=True, slots=True)
class ScanFigures:
    """The runs, smallest file first, and the peak RSS of a process that only imports the
    modules the scans loaded."""

    runs: tuple[ScanRun, ...]
    imports_rss: int
    bound: int = BOUND

    @property
    def startup(self) -> float:
        """Seconds the scan call took on an empty file (loading the rulebook); 0 if none ran."""
        return next((run.seconds for run in self.runs if run.lines == 0), 0.0)

    def lines_per_second(self, run: ScanRun) -> float:
        """Lines per second of ``run``'s scan call, start-up left out (0 for an empty file)."""
        seconds = run.seconds - self.startup
        return run.lines / seconds if run.lines and seconds > 0 else 0.0

    @property
    def growth(self) -> int:
        """How much higher the biggest file's peak RSS was than the next biggest's, in bytes."""
        return self.runs[-1].peak_rss - self.runs[-2].peak_rss

    @property
    def bounded(self) -> bool:
        """Whether the biggest file took at most :attr:`bound` more memory than the next one."""
        return self.growth <= self.bound


def log_lines(count: int, seed: int = 7) -> Iterator[str]:
    """``count`` lines of ``aws logs tail`` output: time, stream, message; the streams take
    turns at random, as CloudWatch interleaves them, and each stream's lines stay in order."""
    rng = random.Random(seed)
    clock = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
    step = timedelta(milliseconds=3)
    made = 0
    block = 0
    while made < count:
        streams = [
            (name, iter(messages(SHARE, seed * 100_003 + block * len(STREAMS) + index)))
            for index, name in enumerate(STREAMS)
        ]
        turns = [index for index in range(len(STREAMS)) for _ in range(SHARE)]
        rng.shuffle(turns)
        for index in turns[: count - made]:
            name, lines = streams[index]
            clock += step
            yield f"{clock.isoformat(timespec='microseconds')} {name} {next(lines)}"
        made += min(len(turns), count - made)
        block += 1


def write_log(path: Path, count: int, seed: int = 7) -> int:
    """Write :func:`log_lines` to ``path``; returns the file's size in bytes."""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.writelines(f"{line}\n" for line in log_lines(count, seed))
    return path.stat().st_size


def _child(
    code: str, args: Sequence[str] = (), stdin: str = ""
) -> tuple[float, dict[str, object], list[str]]:
    """Run ``python -c code args`` in a clean environment; returns its wall time, the report
    it printed last, and the lines it printed before."""
    env = {key: value for key, value in os.environ.items() if key != "MEDIC_CONFIG"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    wall = time.perf_counter() - start
    lines = done.stdout.splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith(_MARK):
        raise RuntimeError(f"benchmark child failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(lines[-1][len(_MARK) :])
    return wall, result, lines[:-1]


def scan_once(path: Path, lines: int) -> tuple[ScanRun, list[str]]:
    """``medic scan --json`` of ``path`` in a fresh process, and the modules it loaded."""
    wall, result, out = _child(_SCAN_CHILD, [str(path)])
    if result["status"] != 0:
        raise RuntimeError(f"medic scan {path} exited with status {result['status']}")
    seconds, peak, modules = result["seconds"], result["peak_bytes"], result["modules"]
    assert isinstance(seconds, float) and isinstance(peak, int) and isinstance(modules, list)
    run = ScanRun(
        lines=lines,
        size=path.stat().st_size,
        wall=wall,
        seconds=seconds,
        peak_rss=peak,
        findings=sum(1 for line in out if line.startswith("{")),
    )
    return run, [str(name) for name in modules]


def imports_rss(modules: Sequence[str]) -> int:
    """Peak RSS, in bytes, of a fresh process that imports ``modules`` and does nothing else."""
    names = [name for name in modules if not name.startswith("__main__")]
    _, result, _ = _child(_IMPORT_CHILD, stdin="\n".join(names))
    peak = result["peak_bytes"]
    assert isinstance(peak, int)
    return peak


def measure(sizes: Sequence[int] = SIZES, seed: int = 7) -> ScanFigures:
    """Scan a file of each size (at least two, growing) in a fresh process, then measure the
    import floor with every module any of the scans loaded."""
    if len(sizes) < 2:
        raise ValueError("measure() compares at least two file sizes")
    runs = []
    loaded: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="medic-bench-") as directory:
        for count in sizes:
            path = Path(directory) / f"endpoint-{count}.log"
            write_log(path, count, seed)
            run, modules = scan_once(path, count)
            path.unlink()
            runs.append(run)
            loaded.update(modules)
    return ScanFigures(runs=tuple(runs), imports_rss=imports_rss(sorted(loaded)))


def _label(lines: int) -> str:
    if lines >= 1_000_000 and lines % 1_000_000 == 0:
        return f"{lines // 1_000_000}M lines"
    if lines >= 1_000 and lines % 1_000 == 0:
        return f"{lines // 1_000}k lines"
    return f"{lines} lines" if lines else "empty file"


def report(figures: ScanFigures) -> str:
    """The figures as the section ``make bench`` prints."""
    floor = figures.imports_rss
    rows = [
        "medic scan (fresh process): `aws logs tail` output of one endpoint, "
        f"{len(STREAMS)} streams interleaved, one run each",
        f"  {'file':<12} {'size':>9} {'wall':>8} {'lines/s':>10} {'peak RSS':>10} "
        f"{'scan own':>10} {'findings':>9}",
    ]
    for run in figures.runs:
        speed = f"{figures.lines_per_second(run):,.0f}" if run.lines else "-"
        rows.append(
            f"  {_label(run.lines):<12} {run.size / _MIB:6.1f} MiB {run.wall:6.2f} s {speed:>10} "
            f"{run.peak_rss / _MIB:6.1f} MiB {(run.peak_rss - floor) / _MIB:+6.1f} MiB "
            f"{run.findings:>9}"
        )
    rows.append(
        f"  imports only (python + every module the scans loaded): {floor / _MIB:.1f} MiB"
        " (scan own = peak RSS - this)"
    )
    rows.append(
        f"  lines/s leaves out the scan's start-up ({figures.startup:.2f} s: config, rulebook);"
        " wall: whole process"
    )
    small, large = figures.runs[-2], figures.runs[-1]
    verdict = "yes" if figures.bounded else "NO"
    growth = round(figures.growth / _MIB, 1) + 0.0  # + 0.0: no "-0.0"
    rows.append(
        f"  memory bounded: {verdict} ({_label(large.lines)} peaked {growth:+.1f} MiB above"
        f" {_label(small.lines)}; limit {figures.bound / _MIB:+.0f} MiB)"
    )
    return "\n".join(rows)


def main() -> None:
    """Print the ``medic scan`` section of ``make bench``."""
    print(report(measure()))
