"""The whole pipeline after decoding, the same for every entry point:
records → skip already-processed events → classify → aggregate and route → render and deliver.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from shared.alerts.alerter import Alerter, Outcome
from shared.classify.classifier import Classifier
from shared.model import Finding, LogRecord

#: How long processed event ids are remembered: longer than any cloud redelivers a batch.
EVENT_MEMORY = timedelta(days=2)


@dataclass
class RunReport:
    """What one run read, found and sent."""

    records: int
    duplicates: int
    findings: list[Finding]
    outcome: Outcome


def run(records: Iterable[LogRecord], classifier: Classifier, alerter: Alerter) -> RunReport:
    """Classify new records, alert on their findings, then remember them as processed.

    Event ids are remembered only after the alerts they caused are stored, so a run that dies
    half-way is redone by the redelivery rather than lost.
    """
    batch = list(records)
    ids = [r.event_id for r in batch if r.event_id]
    seen = alerter.store.seen(ids) if ids else set()
    fresh = [r for r in batch if not (r.event_id and r.event_id in seen)]
    findings = classifier.classify(fresh)
    alerter.observe(findings)
    outcome = alerter.deliver()
    if ids:
        alerter.store.remember([i for i in ids if i not in seen], alerter.clock() + EVENT_MEMORY)
    return RunReport(len(batch), len(batch) - len(fresh), findings, outcome)
