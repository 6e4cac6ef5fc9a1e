"""``medic replay`` and ``medic demo``: recorded cloud events through the functions' own
decoders, then the shared pipeline, so what prints here is what the cloud would act on."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from shared.alerts.alerter import Alerter
from shared.classify.classifier import FindingSet
from shared.cli.output import print_findings, print_outcome
from shared.config import Config, config_from_env
from shared.model import LogRecord
from shared.notify.base import Notifier
from shared.pipeline import run

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
    elif aws.is_kinesis(event):
        for item in event["Records"]:
            yield from aws.records_from_logs(aws.kinesis_payload(item))
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
            f"{where}: not a CloudWatch Logs subscription event (direct or through Kinesis), an "
            "EventBridge SageMaker endpoint state change, or an Event Hub diagnostic batch"
        )


def run_replay(
    paths: Sequence[str], *, as_json: bool, config_path: str | None, send: bool = False
) -> int:
    """Replay each file through the pipeline; a file that cannot be read or decoded is
    reported and skipped. Prints the findings, then the rendered Slack and Teams messages;
    with ``send`` the messages go to the configured receivers instead, with state kept in
    ``MEDIC_STATE``."""
    from functions.aws.events import DecodeError

    config, where = config_from_env(config_path)
    classifier = config.classifier(where)
    by_file: dict[str, list[LogRecord]] = {}
    status = 0
    for path in paths:
        try:
            event = json.loads(Path(path).read_bytes())
            by_file[path] = list(records_of(event, path))
        except (OSError, ValueError, ReplayError, DecodeError) as exc:
            message = exc.strerror if isinstance(exc, OSError) else exc
            print(f"medic: {path}: {message}", file=sys.stderr)
            status = 1
    if as_json:
        findings = FindingSet()
        for path, records in by_file.items():
            classifier.collect(records, findings, file=path)
        print_findings(findings.ordered(), as_json=True, out=sys.stdout)
        return status
    records = [record for batch in by_file.values() for record in batch]
    alerter = _sending(config) if send else _previewing(config)
    report = run(records, classifier, alerter)
    if not send:
        sys.stdout.write("\n")
    print_findings(report.findings, as_json=False, out=sys.stdout)
    print_outcome(report, sent=send, out=sys.stdout)
    return 1 if status or report.outcome.failed else 0


def _previewing(config: Config) -> Alerter:
    """Every alert rendered for Slack and for Teams on stdout, state in memory."""
    from shared.notify.preview import PreviewNotifier
    from shared.state.memory import MemoryStore

    preview = config.model_copy(update={"routes": [], "default_receivers": None})
    notifiers: dict[str, Notifier] = {
        "slack": PreviewNotifier("slack", "slack", sys.stdout),
        "teams": PreviewNotifier("teams", "teams", sys.stdout),
    }
    return Alerter(preview, MemoryStore(), notifiers)


def _sending(config: Config) -> Alerter:
    """The configured receivers, with state in ``MEDIC_STATE`` (default: a local SQLite file)."""
    from shared.notify.factory import build_notifiers
    from shared.state.factory import open_store

    return Alerter(config, open_store(), build_notifiers(config))


def run_demo(*, as_json: bool) -> int:
    """Replay every bundled sample event."""
    samples = sorted(str(p) for p in SAMPLES.glob("*/*.json"))
    if not samples:
        print(f"medic: no sample events under {SAMPLES}", file=sys.stderr)
        return 1
    return run_replay(samples, as_json=as_json, config_path=None)
