"""The Lambda entry point: ``functions.aws.app.handler``.

Takes, by event shape, CloudWatch Logs subscription deliveries, Kinesis Data Streams batches of
subscription payloads, and EventBridge "SageMaker Endpoint State Change" events, and runs each
through the shared pipeline. Nothing touches the network at import; the AWS SDK, the config,
the secrets and the state store are reached on the first invocation and reused while warm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.aws import events
from functions.aws.settings import Settings, load_settings
from shared.alerts.alerter import Alerter
from shared.classify.classifier import Classifier
from shared.model import LogRecord
from shared.pipeline import RunReport, run
from shared.rulebook.errors import RulebookError
from shared.runtime import Runtime

logger = Logger(service="medic")
metrics = Metrics(namespace="medic", service="medic")
#: Seconds kept back from the invocation's remaining time for writing state and returning.
RESERVE_SECONDS = 5.0


@dataclass
class Batch:
    """One unit of work: records from one delivery, and where they came from."""

    records: list[LogRecord] = field(default_factory=list)
    item: str | None = None  # the Kinesis sequence number, for partial batch failures
    failed_endpoint: str | None = None
    recovered_endpoint: str | None = None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """decode → classify → aggregate → route → render → deliver, for any supported event."""
    try:
        settings = load_settings()
    except RulebookError as exc:
        logger.error("medic cannot start: the config is invalid", extra={"problems": exc.problems})
        metrics.add_metric(name="ConfigErrors", unit=MetricUnit.Count, value=1)
        raise
    alerter = _alerter(settings, context)
    classifier = _classifier(settings)
    failures: list[dict[str, str]] = []
    for batch in decode(event, classifier.relevant):
        try:
            report = run(batch.records, classifier, alerter)
            if batch.failed_endpoint:
                alerter.remember_failure("aws", batch.failed_endpoint, report.findings)
            if batch.recovered_endpoint and alerter.recover("aws", batch.recovered_endpoint):
                alerter.deliver()
        except Exception:
            if batch.item is None:
                raise  # an asynchronous invocation: Lambda retries it, then the on-failure queue
            logger.exception("batch item failed; Kinesis will retry it", extra={"item": batch.item})
            failures.append({"itemIdentifier": batch.item})
            metrics.add_metric(name="BatchItemFailures", unit=MetricUnit.Count, value=1)
            continue
        _account(report)
    return {"batchItemFailures": failures}


def decode(event: dict[str, Any], relevant: events.Relevance | None = None) -> list[Batch]:
    """The event's batches; a delivery that cannot be decoded is logged, counted and skipped
    (retrying it would not help), and the rest of the event still runs. ``relevant`` picks the
    log lines worth classifying (see :meth:`Classifier.relevant`)."""
    if events.is_awslogs(event):
        payload = _payload(lambda: events.decode_awslogs(event), "awslogs")
        return [Batch(list(events.records_from_logs(payload, relevant)))] if payload else []
    if events.is_kinesis(event):
        batches = []
        for item in event["Records"]:
            sequence = str(item.get("kinesis", {}).get("sequenceNumber", ""))
            where = f"kinesis record {sequence or item.get('eventID')}"
            payload = _payload(partial(events.kinesis_payload, item), where)
            if payload:
                batches.append(
                    Batch(list(events.records_from_logs(payload, relevant)), item=sequence)
                )
        return batches
    if events.is_state_change(event):
        endpoint, status = events.endpoint_status(event)
        records = list(events.records_from_state_change(event))
        return [
            Batch(
                records,
                failed_endpoint=endpoint if status == "FAILED" else None,
                recovered_endpoint=endpoint if status == "IN_SERVICE" else None,
            )
        ]
    logger.error("unsupported event shape", extra={"keys": sorted(event)[:10]})
    metrics.add_metric(name="BadInput", unit=MetricUnit.Count, value=1)
    return []


def _payload(decode_one: Callable[[], dict[str, Any]], where: str) -> dict[str, Any] | None:
    try:
        return decode_one()
    except events.DecodeError as exc:
        logger.error("undecodable delivery skipped", extra={"where": where, "reason": str(exc)})
        metrics.add_metric(name="BadInput", unit=MetricUnit.Count, value=1)
        return None


#: Stores and the classifier outlive an invocation: a warm container reuses them.
_RUNTIME = Runtime()


def _alerter(settings: Settings, context: LambdaContext) -> Alerter:
    seconds = context.get_remaining_time_in_millis() / 1000 - RESERVE_SECONDS
    return _RUNTIME.alerter(settings.config, settings.env, seconds)


def _classifier(settings: Settings) -> Classifier:
    return _RUNTIME.classifier(settings.config, settings.where)


def _account(report: RunReport) -> None:
    outcome = report.outcome
    for name, value in (
        ("EventsRead", report.records),
        ("DuplicateEvents", report.duplicates),
        ("Findings", len(report.findings)),
        ("AlertsSent", len(outcome.sent)),
        ("DeliveryFailures", len(outcome.failed)),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info(
        "batch processed",
        extra={
            "events": report.records,
            "duplicates": report.duplicates,
            "findings": [
                f"{f.rule} @ {f.endpoint}/{f.variant}/{f.container}" for f in report.findings
            ],
            "sent": [f"{s.action} → {s.receiver}" for s in outcome.sent],
            "held": dict(outcome.held),
            "failed": outcome.failed,
        },
    )
