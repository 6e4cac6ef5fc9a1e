"""Push: the Event Hubs trigger for online endpoint diagnostics (``diagnostics``).

Diagnostic settings stream AmlOnlineEndpointConsoleLog, AmlOnlineEndpointTrafficLog and
AmlOnlineEndpointEventLog to the hub, each event holding ``{"records": [...]}``.

The host checkpoints a batch whether or not the function raises, so the function deals with
everything it can itself: an event that is not JSON, or a record it cannot read, is logged
with where it was and skipped while the rest of the batch runs; a chat outage leaves alerts
pending in the store for the next run. It raises only when the run itself fails (the state
store unreachable, an invalid config), and that is where the retry policy helps: the host runs
the same batch again, with backoff, and event-id memory keeps the retry from posting twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import azure.functions as func

from functions.azure.events import BatchReport, records_from_diagnostics
from functions.azure.invocation import log_run, start
from shared.model import LogRecord
from shared.pipeline import run

bp = func.Blueprint()


@bp.function_name("diagnostics")
@bp.retry(
    strategy="exponential_backoff",
    max_retry_count="10",
    minimum_interval="00:00:10",
    maximum_interval="00:15:00",
)
@bp.event_hub_message_trigger(
    arg_name="events",
    event_hub_name="%MEDIC_EVENTHUB_NAME%",
    connection="MEDIC_EVENTHUB",
    consumer_group="%MEDIC_EVENTHUB_CONSUMER_GROUP%",
    cardinality=func.Cardinality.MANY,
)
def on_diagnostics(events: list[func.EventHubEvent]) -> None:
    """decode → classify → aggregate → route → render → deliver, for one batch of events."""
    invocation = start()
    report = BatchReport()
    records = list(decode(events, report))
    result = run(records, invocation.classifier, invocation.alerter)
    log_run("event hub batch", result, report)


def decode(events: Sequence[func.EventHubEvent], report: BatchReport) -> Iterator[LogRecord]:
    """The records of every event; an unreadable event is reported by its sequence number
    (or position) and skipped."""
    for index, event in enumerate(events):
        where = f"event {event.sequence_number if event.sequence_number is not None else index}"
        try:
            body = json.loads(event.get_body())
        except ValueError as exc:  # not UTF-8 (UnicodeDecodeError) or not JSON
            report.bad.append(f"{where}: not a JSON diagnostic batch ({exc})")
            continue
        except RecursionError:
            report.bad.append(f"{where}: not a JSON diagnostic batch (nested too deeply)")
            continue
        yield from records_from_diagnostics(body, report, where)
