"""``medic replay`` and ``medic demo``: recorded cloud events through the functions' own
decoders, then the shared pipeline, so what prints here is what the cloud would act on."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from shared.classify.classifier import FindingSet
from shared.cli.output import print_findings
from shared.config import classifier_from_config
from shared.model import LogRecord

SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "events"


class ReplayError(ValueError):
    """A recorded event that is not one of the shapes medic takes."""


def records_of(event: Any, where: str) -> Iterator[LogRecord]:
    """Decode any supported recorded event into log records, by its shape."""
    from functions.aws import events as aws
    from functions.azure import events as azure

    if isinstance(event, list):
        for index, item in enumerate(event):
            yield from records_of(item, f"{where}[{index}]")
    elif aws.is_awslogs(event):
        yield from aws.records_from_logs(aws.decode_awslogs(event))
    elif aws.is_logs_payload(event):
        yield from aws.records_from_logs(event)
    elif aws.is_state_change(event):
        yield from aws.records_from_state_change(event)
    elif azure.is_diagnostic_batch(event):
        report = azure.BatchReport()
        yield from azure.records_from_diagnostics(event, report, where)
        for problem in report.bad:
            print(f"medic: {problem}", file=sys.stderr)
        for category, count in report.skipped.items():
            print(
                f"medic: {where}: skipped {count} record(s) of category {category}", file=sys.stderr
            )
    else:
        raise ReplayError(
            f"{where}: not a CloudWatch Logs subscription event, an EventBridge SageMaker "
            "endpoint state change, or an Event Hub diagnostic batch"
        )


def run_replay(paths: Sequence[str], *, as_json: bool, config_path: str | None) -> int:
    """Replay each file; a file that cannot be read or decoded is reported and skipped."""
    from functions.aws.events import DecodeError

    classifier = classifier_from_config(config_path)
    findings = FindingSet()
    status = 0
    for path in paths:
        try:
            event = json.loads(Path(path).read_bytes())
            records = list(records_of(event, path))
        except (OSError, ValueError, ReplayError, DecodeError) as exc:
            message = exc.strerror if isinstance(exc, OSError) else exc
            print(f"medic: {path}: {message}", file=sys.stderr)
            status = 1
            continue
        classifier.collect(records, findings, file=path)
    print_findings(findings.ordered(), as_json=as_json, out=sys.stdout)
    return status


def run_demo(*, as_json: bool) -> int:
    """Replay every bundled sample event."""
    samples = sorted(str(p) for p in SAMPLES.glob("*/*.json"))
    if not samples:
        print(f"medic: no sample events under {SAMPLES}", file=sys.stderr)
        return 1
    return run_replay(samples, as_json=as_json, config_path=None)
