"""The benchmark input: a realistic CloudWatch Logs subscription delivery, and a timer."""

from __future__ import annotations

import base64
import gzip
import json
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

K = TypeVar("K")

#: Events in the standard batch.
EVENTS = 10_000
#: Timed runs per figure; the fastest is kept, so a busy machine shows up as noise, not as a
#: slow result.
REPEATS = 9
HEALTHY = [
    '2026-11-19 12:13:21,412 [INFO ] pool-2-thread-3 ACCESS_LOG - /10.0.3.17:41236 "POST /invocations HTTP/1.1" 200 {ms}',
    "2026-11-19 12:13:21,413 [INFO ] W-9000-model-stdout MODEL_METRICS - PredictionTime.Milliseconds:{ms}|#ModelName:model",
    '2026-11-19 12:13:21,414 [INFO ] pool-2-thread-3 ACCESS_LOG - /10.0.3.17:41236 "GET /ping HTTP/1.1" 200 1',
    "2026-11-19 12:13:21,415 [INFO ] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerLifeCycle - batch of {ms} rows scored",
    "2026-11-19 12:13:21,416 [WARN ] W-9000-model-stderr com.amazonaws.ml.mms.wlm.WorkerLifeCycle - UserWarning: X does not have valid feature names",
]
ERRORS = [
    "2026-11-19 12:13:22,930 [ERROR] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerThread - Backend worker process died.",
    "2026-11-19 12:13:22,931 [INFO ] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerLifeCycle - torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate {ms}.00 MiB",
    "2026-11-19 12:13:22,932 [ERROR] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerLifeCycle - queue {ms} failed: connection reset by peer",
]
TRACEBACK = [
    "Traceback (most recent call last):",
    '  File "/opt/ml/model/code/inference.py", line 41, in predict_fn',
    "    return model.predict(data)",
    "ValueError: Input contains NaN, infinity or a value too large for dtype('float32').",
]


def messages(events: int, seed: int = 7) -> list[str]:
    """Log lines of one stream: ~97% healthy, some errors, a traceback every 500 lines."""
    rng = random.Random(seed)
    lines: list[str] = []
    while len(lines) < events:
        if len(lines) % 500 == 499:
            lines.extend(TRACEBACK)
        elif rng.random() < 0.02:
            lines.append(rng.choice(ERRORS).format(ms=rng.randint(1, 900)))
        else:
            lines.append(rng.choice(HEALTHY).format(ms=rng.randint(1, 900)))
    return lines[:events]


def make_batch(events: int = EVENTS, seed: int = 7, first_id: int = 10**20) -> dict[str, Any]:
    """A subscription delivery of ``events`` lines as Lambda receives it. ``seed`` picks the
    lines (the same mix, other numbers) and ``first_id`` the event ids."""
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/sagemaker/Endpoints/bench-endpoint",
        "logStream": "AllTraffic/i-0a1b2c3d4e5f60718",
        "subscriptionFilters": ["medic"],
        "logEvents": [
            {"id": str(first_id + i), "timestamp": 1795580000000 + i, "message": m}
            for i, m in enumerate(messages(events, seed))
        ],
    }
    packed = gzip.compress(json.dumps(payload).encode())
    return {"awslogs": {"data": base64.b64encode(packed).decode()}}


def deliveries(events: int, count: int, first_id: int = 10**20) -> list[dict[str, Any]]:
    """``count`` deliveries of ``events`` lines for timed runs, none of them seen before: each
    has its own event ids, so the event-id memory skips none, and its own lines (the same mix,
    other numbers), so nothing remembered of lines already read makes a run cheaper."""
    return [
        make_batch(events, seed=1000 + run, first_id=first_id + (run + 1) * 10**7)
        for run in range(count)
    ]


def interleaved(
    runs: Mapping[K, Callable[[int], object]], repeats: int = REPEATS
) -> dict[K, float]:
    """Fastest wall time of each callable (given the round number), the callables taking turns
    round after round: a busy spell on the machine slows every side of a ratio alike."""
    times: dict[K, list[float]] = {key: [] for key in runs}
    for round_ in range(repeats):
        for key, fn in runs.items():
            start = time.perf_counter()
            fn(round_)
            times[key].append(time.perf_counter() - start)
    return {key: min(values) for key, values in times.items()}
