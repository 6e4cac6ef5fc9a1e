"""One soak worker: a process that plays a warm Lambda container, calling the real
``functions.aws.app.handler`` on every delivery in its own order, and reports what went wrong.

It runs in a process of its own (``spawn``: nothing inherited from the test process but what
is passed), with the environment the test gives it, and its standard output and error in a log
file: the handler's Powertools logger and metrics print JSON lines there, which the worker
reads back at the end for warnings, errors and failure metrics.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

#: Log levels that count as a failure report.
FAILURE_LEVELS = {"WARNING", "ERROR", "CRITICAL", "EXCEPTION"}
#: Metrics the handler emits only when something failed.
FAILURE_METRICS = ("DeliveryFailures", "BadInput", "BatchItemFailures", "ConfigErrors")


@dataclass
class Context:
    """What the Lambda runtime passes as the context object (one invocation)."""

    aws_request_id: str
    function_name: str = "medic"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:medic"

    def get_remaining_time_in_millis(self) -> int:
        """A fresh invocation's time: a minute."""
        return 60_000


@dataclass
class Report:
    """What one worker did and everything it reported as wrong."""

    name: str
    invocations: int = 0
    started: float = 0.0
    finished: float = 0.0
    #: Records classified (after the prefilter) and, of those, skipped as already processed.
    records: int = 0
    duplicates: int = 0
    #: Messages this worker sent, as ``"action → receiver"``.
    sent: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # handler answers other than no failures
    log_failures: list[str] = field(default_factory=list)
    metric_failures: dict[str, float] = field(default_factory=dict)
    other_output: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        """Every failure reported, empty when the worker ran clean."""
        return [
            *self.exceptions,
            *self.answers,
            *self.log_failures,
            *(f"metric {k} = {v}" for k, v in self.metric_failures.items() if v),
            *(line for line in self.other_output if "Traceback" in line),
        ]

    @classmethod
    def load(cls, path: Path) -> Report:
        """A report written by :func:`work`."""
        return cls(**json.loads(path.read_text()))


def _total(value: Any) -> float:
    """An EMF metric value: a number, or a list of them when added more than once."""
    if isinstance(value, list):
        return float(sum(value))
    return float(value) if isinstance(value, int | float) else 0.0


def read_log(report: Report, text: str) -> None:
    """Fill ``report`` from the worker's output: Powertools log lines (``level``, ``message``,
    the handler's ``batch processed`` extras) and EMF metric lines (``_aws``)."""
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if line.strip():
                report.other_output.append(line)
            continue
        if not isinstance(entry, dict):
            report.other_output.append(line)
            continue
        if "_aws" in entry:
            for name in FAILURE_METRICS:
                if name in entry:
                    total = report.metric_failures.get(name, 0.0) + _total(entry[name])
                    report.metric_failures[name] = total
            continue
        level = str(entry.get("level", "")).upper()
        if level in FAILURE_LEVELS:
            report.log_failures.append(f"{level}: {entry.get('message')} {line[:2000]}")
        if entry.get("message") == "batch processed":
            report.records += int(entry.get("events", 0))
            report.duplicates += int(entry.get("duplicates", 0))
            report.sent.extend(str(s) for s in entry.get("sent", []))


def work(
    name: str,
    order: list[int],
    deliveries: str,
    env: dict[str, str],
    out_dir: str,
    start: Barrier,
) -> None:
    """Call the handler on each delivery of ``deliveries`` (a JSON-lines file of handler
    events) in ``order``, after ``start`` releases every worker at once; write the
    :class:`Report` to ``out_dir/{name}.json`` and the raw output to ``{name}.log``."""
    os.environ.clear()
    os.environ.update(env)
    log_path = Path(out_dir) / f"{name}.log"
    log = log_path.open("w", buffering=1)
    sys.stdout = sys.stderr = log  # before the import: Powertools binds its stream then
    report = Report(name)
    try:
        from functions.aws import app

        with open(deliveries) as source:
            events = [json.loads(line) for line in source]
        start.wait(timeout=300)
        report.started = time.time()
        for n, index in enumerate(order):
            context = Context(aws_request_id=f"{name}-{n:04d}-delivery-{index}")
            try:
                answer = app.handler(events[index], context)
            except Exception:
                report.exceptions.append(f"delivery {index}: {traceback.format_exc()}")
            else:
                if answer != {"batchItemFailures": []}:
                    report.answers.append(f"delivery {index}: {answer}")
            report.invocations += 1
        report.finished = time.time()
    except BaseException:
        report.exceptions.append(f"worker: {traceback.format_exc()}")
    finally:
        log.flush()
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        log.close()
        read_log(report, log_path.read_text())
        (Path(out_dir) / f"{name}.json").write_text(json.dumps(asdict(report)))
