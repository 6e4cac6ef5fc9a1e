"""The Lambda handler as deployed, on CloudWatch deliveries: warm time against the decode floor,
the first invocation, scaling with batch size, and what a million events cost.

The handler runs with its real settings path, the in-memory state store and a Slack webhook
served on localhost, so the figures include event-id memory, alerting and delivery. Every
timed run gets a delivery it has not seen: new event ids, so none is skipped as a redelivery,
and new lines of the same mix, so no memory of lines already read helps. After the first run
the problems are known and within their cooldown, which is the steady state of a fleet.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from benchmarks.batch import EVENTS, REPEATS, deliveries, interleaved, make_batch
from functions.aws.events import decode_awslogs

#: AWS Lambda list prices (x86, us-east-1): per GB-second of duration and per request.
PRICE_GB_SECOND = 0.0000166667
PRICE_REQUEST = 0.20 / 1_000_000
#: Lambda gives a function one full vCPU at 1,769 MB and a proportional share below that, so
#: CPU-bound work at 128 MB takes about 1769/128 times as long as on one full core.
FULL_CPU_MB = 1769
SMALLEST_MB = 128


class _Webhook(BaseHTTPRequestHandler):
    """A Slack incoming webhook: every post is accepted with ``ok``."""

    posts = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).posts += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the handler's own logs are what the benchmark is about."""


@dataclass(frozen=True)
class Context:
    """The fields of the Lambda context object the handler and its logger read."""

    function_name: str = "medic-bench"
    memory_limit_in_mb: int = SMALLEST_MB
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:medic-bench"
    aws_request_id: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@contextmanager
def deployed() -> Iterator[None]:
    """The handler's environment: memory state, a local Slack webhook, no config file."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("MEDIC_", "SLACK_", "TEAMS_")):
            del os.environ[name]
    os.environ.update(
        {
            "MEDIC_STATE": "memory",
            "SLACK_WEBHOOK_URL": f"http://127.0.0.1:{server.server_port}/hook",
            "POWERTOOLS_SERVICE_NAME": "medic",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    try:
        yield
    finally:
        server.shutdown()
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def quiet() -> Iterator[None]:
    """Standard output to /dev/null: the handler logs JSON lines and metrics there, as on
    Lambda, and writing them is part of its cost, but they are not the benchmark's output."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(null)
        os.close(saved)


@dataclass(frozen=True)
class HandlerFigures:
    """Seconds for one 10,000-event delivery: decoding it, and the warm handler on it."""

    decode: float
    handler: float
    first: float
    scaling: dict[int, float]
    posts: int

    @property
    def ratio(self) -> float:
        return self.handler / self.decode

    def cost_per_million(self, events: int = EVENTS) -> tuple[float, float]:
        """Dollars of duration and of requests per million log events at the measured warm
        time, delivered ``events`` per invocation. Duration does not depend on the memory size
        up to one vCPU (the CPU share grows with memory), so 128 MB and 1,769 MB cost the same
        for this CPU-bound work."""
        invocations = 1_000_000 / events
        gb_seconds = invocations * self.scaling[events] * FULL_CPU_MB / 1024
        return gb_seconds * PRICE_GB_SECOND, invocations * PRICE_REQUEST


def measure(repeats: int = REPEATS) -> HandlerFigures:
    """Run the handler as described in the module docstring."""
    sizes = (1_000, EVENTS, 100_000)
    batches = {size: deliveries(size, repeats) for size in sizes}
    standard = batches[EVENTS][0]
    with deployed(), quiet():
        from functions.aws.app import handler

        start = time.perf_counter()
        handler(make_batch(EVENTS), Context())
        first = time.perf_counter() - start
        posts = _Webhook.posts
        runs: dict[int | str, Callable[[int], object]] = {
            "decode": lambda _: decode_awslogs(standard)
        }
        for size in sizes:
            runs[size] = partial(lambda size, n: handler(batches[size][n], Context()), size)
        times = interleaved(runs, repeats)
    scaling = {size: times[size] for size in sizes}
    return HandlerFigures(times["decode"], scaling[EVENTS], first, scaling, posts)


def main() -> None:
    """Print the handler figures."""
    figures = measure()
    ms = 1000
    print(
        f"AWS handler on a {EVENTS:,}-event CloudWatch delivery"
        f" (best of {REPEATS} interleaved runs, warm)"
    )
    print(f"  decode only (base64 + gunzip + JSON):     {figures.decode * ms:8.1f} ms")
    print(f"  handler (memory state, local webhook):    {figures.handler * ms:8.1f} ms")
    verdict = "met" if figures.ratio <= 3 else "NOT met"
    ratio = f"{figures.ratio:8.2f}x  (target 3x: {verdict})"
    print(f"  ratio to the decode floor:                {ratio}")
    print(f"  first invocation of an instance:          {figures.first * ms:8.1f} ms")
    print(f"    (builds the classifier, posts the batch's {figures.posts} alerts)")
    print("Scaling (warm handler, one delivery of each size)")
    base = figures.scaling[EVENTS] / EVENTS
    for size, seconds in figures.scaling.items():
        per_event = seconds / size
        print(
            f"  {size:>7,} events: {seconds * ms:8.1f} ms  "
            f"{per_event * 1e6:6.2f} µs/event  ({per_event / base:.2f}x the 10k rate)"
        )
    print(
        f"Cost on Lambda per million log events (x86 list price, warm time at {SMALLEST_MB} MB's"
        " CPU share)"
    )
    for size in (EVENTS, 1_000):
        duration, requests = figures.cost_per_million(size)
        print(
            f"  {size:>7,} events per delivery: ${duration + requests:.6f}"
            f"  (duration ${duration:.6f}, requests ${requests:.6f})"
        )


if __name__ == "__main__":
    main()
