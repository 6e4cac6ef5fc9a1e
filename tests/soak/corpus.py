"""The soak's input: CloudWatch Logs subscription deliveries of mostly healthy model-server
lines, with a known set of distinct problems injected, and what was injected where.

The expected alerts are known by construction, not by running the classifier over the same
data: a *problem* is what ``docs/config.md`` says it is (one rule firing at one place: cloud,
endpoint, variant, container, rule and the masked text of the message), so each
:class:`Problem` is one error kind (:class:`Kind`: a fixed rule, title and message shape) at
one endpoint variant. By construction:

- every problem is injected on both instances of its variant (the instance is not part of a
  problem), with request-specific numbers that masking blanks out (they are not either);
- the same kind on two endpoints, or two variants of one endpoint, is two problems;
- no two kinds at one place share a rule *and* a title, so the classifier's per-batch merge
  (:meth:`shared.model.Finding.key`) cannot fold two of them together;
- each injected event is surrounded by healthy lines, none of which reads as an error, so
  grouping never joins two injected events into one (a traceback straight after a line saying
  "error" would be taken as its introduction).

``test_soak.test_each_kind_is_one_problem_as_declared`` checks these premises on a handful of
lines; the soak itself only compares what was posted with :attr:`Plan.occurrences`.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.batch import HEALTHY

#: Events per delivery in the full run (CloudWatch sends at most 10,000 per delivery).
EVENTS_PER_DELIVERY = 5_000
#: The smallest run ``MEDIC_SOAK_EVENTS`` may ask for: two deliveries per stream, with room
#: for the injected events between healthy lines.
MIN_EVENTS = 10_000
ACCOUNT = "123456789012"
#: A timestamp/level/logger prefix as TorchServe and MMS write it (masked away in templates).
_TS = "2026-11-19 12:13:22,{ms:03d}"
_WORKER = _TS + " [ERROR] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerThread - "
_LIFECYCLE = _TS + " [INFO ] W-9000-model-stdout com.amazonaws.ml.mms.wlm.WorkerLifeCycle - "
_STDOUT = _TS + " [INFO ] W-9000-model-stdout - "
#: Harmless lines that carry alarming words (known benign in the built-in rulebook), mixed in
#: rarely among the healthy ones: they must not alert either.
BENIGN = [
    "Warning: MMS is using non-default JVM parameters: -XX:-UseContainerSupport",
    "SPARK_HOME not set. Skipping PySpark Initialization.",
]


@dataclass(frozen=True)
class Kind:
    """One error kind: the rule the built-in rulebook diagnoses it with, the title that rule
    renders, and the log lines of one occurrence (one event; several lines for a traceback)."""

    name: str
    rule: str
    title: str
    lines: Callable[[random.Random], list[str]]


def _stamp(rng: random.Random, prefix: str) -> str:
    return prefix.format(ms=rng.randrange(1000))


def _traceback(
    exception: str | Callable[[random.Random], str],
) -> Callable[[random.Random], list[str]]:
    """A Python traceback logged by the model server, one record per line, ending in
    ``exception`` (text, or made per occurrence)."""

    def lines(rng: random.Random) -> list[str]:
        last = exception(rng) if callable(exception) else exception
        return [
            _stamp(rng, _STDOUT) + "Traceback (most recent call last):",
            _stamp(rng, _STDOUT)
            + f'  File "/opt/ml/model/code/inference.py", line {rng.randint(20, 90)}, '
            "in predict_fn",
            _stamp(rng, _STDOUT) + "    return model.predict(data)",
            _stamp(rng, _STDOUT) + last,
        ]

    return lines


def _one(prefix: str, text: Callable[[random.Random], str]) -> Callable[[random.Random], list[str]]:
    """A single-line event: ``prefix`` then ``text`` (made per occurrence)."""
    return lambda rng: [_stamp(rng, prefix) + text(rng)]


KINDS: tuple[Kind, ...] = (
    Kind(
        "worker-died",
        "model_servers.mms-backend-worker-died",
        "Model server backend worker died",
        _one(_WORKER, lambda rng: "Backend worker process died."),
    ),
    Kind(
        "cuda-oom",
        "resources.cuda-out-of-memory",
        "GPU ran out of memory",
        _one(
            _LIFECYCLE,
            lambda rng: (
                "torch.cuda.OutOfMemoryError: CUDA out of memory. "
                f"Tried to allocate {rng.randint(2, 900)}.00 MiB"
            ),
        ),
    ),
    Kind(
        "connection-reset",
        "fallback.container-unresponsive",
        "Looks like the container stopped answering: queue <n> failed: connection reset by peer",
        _one(
            _LIFECYCLE.replace("[INFO ]", "[ERROR]"),
            lambda rng: f"queue {rng.randint(1, 64)} failed: connection reset by peer",
        ),
    ),
    Kind(
        "value-error",
        "python.traceback-user-code",
        "Inference code raised ValueError",
        _traceback(
            "ValueError: Input contains NaN, infinity or a value too large for dtype('float32')."
        ),
    ),
    Kind(
        "key-error",
        "python.traceback-user-code",
        "Inference code raised KeyError",
        _traceback("KeyError: 'features'"),
    ),
    Kind(
        "type-error",
        "python.traceback-user-code",
        "Inference code raised TypeError",
        _traceback("TypeError: unsupported operand type(s) for +: 'int' and 'str'"),
    ),
    Kind(
        "zero-division",
        "python.traceback-user-code",
        "Inference code raised ZeroDivisionError",
        _traceback("ZeroDivisionError: division by zero"),
    ),
    Kind(
        "index-error",
        "python.traceback-user-code",
        "Inference code raised IndexError",
        _traceback(
            lambda rng: (
                f"IndexError: index {rng.randint(100, 999)} is out of bounds for axis 0 "
                f"with size {rng.randint(1, 99)}"
            )
        ),
    ),
    Kind(
        "attribute-error",
        "python.traceback-user-code",
        "Inference code raised AttributeError",
        _traceback("AttributeError: 'NoneType' object has no attribute 'predict'"),
    ),
    Kind(
        "module-missing",
        "python.module-not-found",
        "Python module 'xgboost' is not installed",
        _traceback("ModuleNotFoundError: No module named 'xgboost'"),
    ),
    Kind(
        "model-file-missing",
        "python.model-file-missing",
        "Model file /opt/ml/model/model.pth does not exist",
        _traceback(
            "FileNotFoundError: [Errno 2] No such file or directory: '/opt/ml/model/model.pth'"
        ),
    ),
    Kind(
        "host-memory",
        "resources.python-memory-error",
        "Process ran out of host memory",
        _traceback("MemoryError"),
    ),
    Kind(
        "cannot-import-name",
        "python.cannot-import-name",
        "Cannot import 'soft_unicode' (incompatible package version)",
        _traceback(
            "ImportError: cannot import name 'soft_unicode' from 'markupsafe' "
            "(/usr/local/lib/python3.10/site-packages/markupsafe/__init__.py)"
        ),
    ),
)
ENDPOINTS = ("fraud-detector", "recommender", "search-ranker", "vision-classifier")
VARIANTS = ("AllTraffic", "Canary")
INSTANCES_PER_VARIANT = 2
KINDS_PER_PLACE = 4

#: What identifies an alert in a message: endpoint, variant, rule, title.
Identity = tuple[str, str, str, str]


@dataclass(frozen=True)
class Problem:
    """One kind of error at one endpoint variant: one alert, whatever instance logs it."""

    endpoint: str
    variant: str
    kind: Kind

    @property
    def identity(self) -> Identity:
        """What a message about this problem names."""
        return (self.endpoint, self.variant, self.kind.rule, self.kind.title)


@dataclass(frozen=True)
class Stream:
    """One log stream: an instance of an endpoint variant."""

    endpoint: str
    variant: str
    instance: str

    @property
    def group(self) -> str:
        """The CloudWatch log group SageMaker writes the endpoint's logs to."""
        return f"/aws/sagemaker/Endpoints/{self.endpoint}"

    @property
    def name(self) -> str:
        """The log stream name: ``{variant}/{instance}``."""
        return f"{self.variant}/{self.instance}"


def places() -> list[tuple[str, str]]:
    """Every (endpoint, variant)."""
    return [(endpoint, variant) for endpoint in ENDPOINTS for variant in VARIANTS]


def problems() -> list[Problem]:
    """The problems that may be injected: ``KINDS_PER_PLACE`` kinds per place, chosen so each
    kind appears at several places (same rule, different place: different problems)."""
    chosen = []
    for number, (endpoint, variant) in enumerate(places()):
        for j in range(KINDS_PER_PLACE):
            kind = KINDS[(number * 5 + j * 3) % len(KINDS)]
            chosen.append(Problem(endpoint, variant, kind))
    return chosen


def streams() -> list[Stream]:
    """Every log stream, instances of one variant next to each other."""
    return [
        Stream(endpoint, variant, f"i-0{number * INSTANCES_PER_VARIANT + k + 1:016x}")
        for number, (endpoint, variant) in enumerate(places())
        for k in range(INSTANCES_PER_VARIANT)
    ]


@dataclass
class Plan:
    """What :func:`build` wrote: the deliveries (one JSON handler event per line of ``path``)
    and, per problem, how many events of it were injected and their event ids."""

    path: Path
    deliveries: int
    events: int
    occurrences: dict[Identity, int] = field(default_factory=dict)
    injected_ids: list[str] = field(default_factory=list)

    @property
    def expected(self) -> set[Identity]:
        """The distinct problems injected: the alerts the run must post, one each."""
        return {identity for identity, count in self.occurrences.items() if count}


def _healthy(rng: random.Random) -> str:
    if rng.random() < 0.001:
        return rng.choice(BENIGN)
    return rng.choice(HEALTHY).format(ms=rng.randint(1, 900))


def _interleave(
    rng: random.Random, size: int, injections: list[list[str]]
) -> tuple[list[str], list[int]]:
    """``size`` lines: the injected events at random places, at least two healthy lines
    around each; returns the lines and the index of every injected line."""
    healthy = size - sum(len(lines) for lines in injections)
    slots = healthy // 2 - 1
    if healthy < 2 * (len(injections) + 1) or slots < len(injections):
        raise ValueError(f"a delivery of {size} lines has no room for {len(injections)} events")
    # Even cut points ≥ 2 apart, the last ≥ 2 before the end: ≥ 2 healthy lines everywhere.
    cuts = sorted(2 * c for c in rng.sample(range(1, slots + 1), len(injections)))
    lines: list[str] = []
    marked: list[int] = []
    done = 0
    for cut, event in zip(cuts, injections, strict=True):
        lines.extend(_healthy(rng) for _ in range(cut - done))
        marked.extend(range(len(lines), len(lines) + len(event)))
        lines.extend(event)
        done = cut
    lines.extend(_healthy(rng) for _ in range(healthy - done))
    return lines, marked


def _schedule(
    rng: random.Random, plan_streams: list[Stream], owner: list[int]
) -> dict[int, list[Problem]]:
    """Which problems each delivery carries (a problem once per occurrence): every problem in
    about half the deliveries of each instance of its variant, at least one per instance, one
    to three times there."""
    carried: dict[int, list[Problem]] = {d: [] for d in range(len(owner))}
    for problem in problems():
        for number, stream in enumerate(plan_streams):
            if (stream.endpoint, stream.variant) != (problem.endpoint, problem.variant):
                continue
            mine = [d for d, s in enumerate(owner) if s == number]
            picked = [d for d in mine if rng.random() < 0.5] or [rng.choice(mine)]
            for delivery in picked:
                carried[delivery].extend([problem] * rng.randint(1, 3))
    for chosen in carried.values():
        rng.shuffle(chosen)
    return carried


def build(path: Path, events: int, seed: int = 20261119) -> Plan:
    """Write ``events`` CloudWatch events as subscription deliveries (``{"awslogs": ...}``
    handler events, one per line of ``path``), each of one stream, streams taking turns."""
    if events < MIN_EVENTS:
        raise ValueError(f"the soak needs at least {MIN_EVENTS} events, not {events}")
    rng = random.Random(seed)
    plan_streams = streams()
    count = max(2 * len(plan_streams), round(events / EVENTS_PER_DELIVERY))
    owner = [d % len(plan_streams) for d in range(count)]
    carried = _schedule(rng, plan_streams, owner)
    plan = Plan(path, count, events, {p.identity: 0 for p in problems()})
    first_id = 10**55  # CloudWatch event ids are 56-digit numbers
    start_ms = int(time.time() * 1000) - 3_600_000
    written = 0
    with path.open("w") as out:
        for delivery in range(count):
            size = events // count + (1 if delivery < events % count else 0)
            stream = plan_streams[owner[delivery]]
            injections = [p.kind.lines(rng) for p in carried[delivery]]
            for problem in carried[delivery]:
                plan.occurrences[problem.identity] += 1
            lines, marked = _interleave(rng, size, injections)
            ids = [str(first_id + written + i) for i in range(size)]
            plan.injected_ids.extend(ids[i] for i in marked)
            base = start_ms + delivery * 10_000
            payload: dict[str, Any] = {
                "messageType": "DATA_MESSAGE",
                "owner": ACCOUNT,
                "logGroup": stream.group,
                "logStream": stream.name,
                "subscriptionFilters": ["medic"],
                "logEvents": [
                    {"id": ids[i], "timestamp": base + i, "message": line}
                    for i, line in enumerate(lines)
                ],
            }
            packed = gzip.compress(json.dumps(payload).encode(), compresslevel=6)
            event = {"awslogs": {"data": base64.b64encode(packed).decode()}}
            out.write(json.dumps(event) + "\n")
            written += size
    assert written == events
    return plan


def shuffled_nearby(order: list[int], window: int, seed: int) -> list[int]:
    """``order`` with each run of ``window`` items shuffled: a different order that keeps two
    workers on the same few deliveries at the same time, the hardest case for deduplication
    (both read a delivery before either has remembered its events)."""
    rng = random.Random(seed)
    result: list[int] = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        rng.shuffle(chunk)
        result.extend(chunk)
    return result
