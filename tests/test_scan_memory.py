"""``medic scan`` keeps nothing per line: ten times the lines must not take more memory.

`make bench` shows this for 1,000,000 lines in a fresh process (benchmarks/scan.py); this test
catches a regression in seconds, with tracemalloc around the real ``run_scan``.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from shared.cli import scan
from shared.config import classifier_from_config

#: One stream's worth of model-server lines: healthy ones, errors and a traceback.
PATTERN = (
    '2026-11-19 12:13:21,412 [INFO ] pool-2-thread-3 ACCESS_LOG - "POST /invocations" 200 {n}',
    "2026-11-19 12:13:22,930 [ERROR] W-9000-model-stdout WorkerThread - queue {n} failed: "
    "connection reset by peer",
    "2026-11-19 12:13:21,413 [INFO ] W-9000-model-stdout MODEL_METRICS - PredictionTime:{n}",
    "Traceback (most recent call last):",
    '  File "/opt/ml/model/code/inference.py", line 41, in predict_fn',
    "ValueError: Input contains NaN in row {n}",
    "2026-11-19 12:13:22,931 [INFO ] W-9000-model-stdout WorkerLifeCycle - torch.cuda."
    "OutOfMemoryError: CUDA out of memory. Tried to allocate {n}.00 MiB",
)
STREAMS = ("AllTraffic/i-0a1b2c3d4e5f60718", "Canary/i-0c3d4e5f607182930")
#: A scan that kept 16 bytes per line would exceed this by 2x on 9,000 more lines (a record
#: kept per line takes hundreds); the peak varies by about 1 KiB from run to run.
BOUND = 64 * 1024


def write_log(path: Path, lines: int) -> None:
    """``aws logs tail`` output: two streams taking turns, each one its own copy of PATTERN.
    The numbers cycle, so the small file has every message the large one has: a cache keyed by
    message is as full after one as after the other."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            stream = STREAMS[i % 2]
            message = PATTERN[(i // 2) % len(PATTERN)].format(n=i % 10)
            out.write(f"2026-11-19T12:00:{i % 60:02d}.{i % 1000:03d}000+00:00 {stream} {message}\n")


def scan_peak(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, int]:
    """Bytes allocated at the peak of ``medic scan`` of ``path`` over what was allocated
    before it, and how many findings it printed."""
    capsys.readouterr()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    status = scan.run_scan([str(path)], as_json=True, config_path=None)
    _, peak = tracemalloc.get_traced_memory()
    assert status == 0
    found = sum(1 for line in capsys.readouterr().out.splitlines() if line.startswith("{"))
    return peak - before, found


def test_scan_memory_does_not_grow_with_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    classifier = classifier_from_config(None)
    monkeypatch.setattr(scan, "classifier_from_config", lambda _path: classifier)
    small, large = tmp_path / "small.log", tmp_path / "large.log"
    write_log(small, 1_000)
    write_log(large, 10_000)
    # Traced throughout: a cache entry made in one scan and evicted in the next is counted both
    # ways, so a bounded cache does not look like growth.
    tracemalloc.start()
    try:
        scan_peak(small, capsys)  # fills whatever the scan caches
        (first, found), (tenfold, found_tenfold) = (
            scan_peak(small, capsys),
            scan_peak(large, capsys),
        )
    finally:
        tracemalloc.stop()
    assert found == found_tenfold == 6  # 3 problems in each variant
    assert tenfold - first < BOUND, f"{first=} {tenfold=}"
