"""``make bench``: classification cost on a realistic CloudWatch batch, against the decode floor.

Figures are ratios where the machine's speed would otherwise dominate: the full pipeline over a
10,000-event batch is compared with merely decoding that batch (base64 + gunzip + JSON), and
classification at 50, 200 and 1,000 rules is compared with itself. Each figure is the best of
several runs, so a busy machine shows up as noise on one run, not as a slow result.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from functions.aws.events import decode_awslogs, records_from_logs
from shared.classify.classifier import Classifier
from shared.rulebook.load import Rulebook, builtin_rulebook
from shared.rulebook.schema import Rule

EVENTS = 10_000
REPEATS = 5
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


def make_batch(events: int, seed: int = 7) -> dict[str, Any]:
    """A subscription delivery: ~97% healthy lines, some errors, a traceback every 500 lines."""
    rng = random.Random(seed)
    messages: list[str] = []
    while len(messages) < events:
        if len(messages) % 500 == 499:
            messages.extend(TRACEBACK)
        elif rng.random() < 0.02:
            messages.append(rng.choice(ERRORS).format(ms=rng.randint(1, 900)))
        else:
            messages.append(rng.choice(HEALTHY).format(ms=rng.randint(1, 900)))
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/sagemaker/Endpoints/bench-endpoint",
        "logStream": "AllTraffic/i-0a1b2c3d4e5f60718",
        "subscriptionFilters": ["medic"],
        "logEvents": [
            {"id": str(10**20 + i), "timestamp": 1795580000000 + i, "message": m}
            for i, m in enumerate(messages[:events])
        ],
    }
    packed = gzip.compress(json.dumps(payload).encode())
    return {"awslogs": {"data": base64.b64encode(packed).decode()}}


def best(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Fastest wall time of ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def synthetic_rules(count: int) -> tuple[Rule, ...]:
    """``count`` distinct rules shaped like real ones (a literal phrase plus captured fields)."""
    return tuple(
        Rule.model_validate(
            {
                "id": f"bench.r{i}",
                "category": "model_error",
                "severity": "error",
                "title": "synthetic {code}",
                "match": {"any": [f"(?i)synthetic failure {i} in (?P<code>[a-z]+) handler"]},
                "fix": "none",
            }
        )
        for i in range(count)
    )


def main() -> int:
    event = make_batch(EVENTS)
    classifier = Classifier()
    size = len(event["awslogs"]["data"])
    decode = best(lambda: decode_awslogs(event))
    relevant = classifier.relevant
    pipeline = best(lambda: classifier.classify(records_from_logs(decode_awslogs(event), relevant)))
    findings = classifier.classify(records_from_logs(decode_awslogs(event), relevant))
    unfiltered = best(lambda: classifier.classify(records_from_logs(decode_awslogs(event))))
    assert [f.key() for f in findings] == [
        f.key() for f in classifier.classify(records_from_logs(decode_awslogs(event)))
    ], "the prefilter changed what was found"
    kept = len(relevant([e["message"] for e in decode_awslogs(event)["logEvents"]]))
    print(
        f"Batch: {EVENTS} CloudWatch events, {size / 1024:.0f} KiB encoded, best of {REPEATS} runs"
    )
    print(f"  decode only (base64 + gunzip + JSON):     {decode * 1000:8.1f} ms")
    print(
        f"  decode + prefilter + group + classify:    {pipeline * 1000:8.1f} ms"
        f"   ({EVENTS / pipeline:,.0f} events/s, {len(findings)} findings)"
    )
    print(f"  ratio to the decode floor:                {pipeline / decode:8.1f}x")
    print(
        f"  (the prefilter kept {kept} of {EVENTS} lines; without it: {unfiltered * 1000:.1f} ms,"
        f" {unfiltered / decode:.1f}x)"
    )

    print(
        f"\nPrefilter scaling: built-in rulebook ({len(classifier.rulebook.rules)} rules) "
        "plus synthetic rules, same batch, records already decoded"
    )
    records = list(records_from_logs(decode_awslogs(event)))
    base = builtin_rulebook()
    rows = []
    for extra in (50, 200, 1000):
        book = Rulebook(base.rules + synthetic_rules(extra), base.ignore, base.extractors, {})
        engine_classifier = Classifier(book)
        seconds = best(lambda c=engine_classifier: c.classify(records))  # type: ignore[misc]
        rows.append((extra, seconds))
        print(f"  +{extra:5d} rules: {seconds * 1000:8.1f} ms   ({EVENTS / seconds:,.0f} events/s)")
    growth = rows[-1][1] / rows[0][1] - 1
    print(f"  from +50 to +1000 rules the time grows by {growth:+.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
