"""Pull, and housekeeping: the timer function (``poll``), on ``MEDIC_POLL_SCHEDULE``.

Each tick it reads the endpoint tables of the Log Analytics workspace in ``MEDIC_WORKSPACE_ID``
since its checkpoint (when one is set), runs the rows through the pipeline, and so also retries
alerts still pending from earlier runs; then it forgets expired state, which Table Storage does
not do by itself. A partial answer is used and its error logged; a failed query leaves the
checkpoint where it was, so the next tick reads the same window again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import azure.functions as func

from functions.azure.events import BatchReport, records_from_diagnostics
from functions.azure.invocation import Invocation, log_run, start
from functions.azure.settings import PollSettings, poll_settings
from shared.model import LogRecord
from shared.pipeline import run

if TYPE_CHECKING:
    from functions.azure.checkpoint import Checkpoint
    from functions.azure.loganalytics import Fetched

log = logging.getLogger("medic")
bp = func.Blueprint()


class PollError(RuntimeError):
    """The workspace could not be queried; the run is reported as failed."""


@runtime_checkable
class Sweepable(Protocol):
    """A store that must delete its own expired rows."""

    def sweep(self) -> int: ...


@bp.function_name("poll")
@bp.timer_trigger(arg_name="timer", schedule="%MEDIC_POLL_SCHEDULE%", use_monitor=True)
def on_schedule(timer: func.TimerRequest) -> None:
    """query the workspace → classify → aggregate → route → render → deliver → sweep."""
    invocation = start()
    settings = poll_settings()
    failure: Exception | None = None
    if settings.workspace_id:
        failure = poll(invocation, settings.workspace_id, settings, datetime.now(UTC))
    else:
        _deliver_pending(invocation, "pending alerts")
    store = invocation.alerter.store
    if isinstance(store, Sweepable):
        log.info("expired state rows removed: %d", store.sweep())
    if failure is not None:
        raise PollError(f"workspace {settings.workspace_id}: query failed: {failure}")


def poll(
    invocation: Invocation, workspace: str, settings: PollSettings, now: datetime
) -> Exception | None:
    """One read of the workspace through the pipeline; returns the query's failure, if any,
    after still delivering what was pending."""
    # Only runs when MEDIC_WORKSPACE_ID is set: an app fed by Event Hubs alone never queries a
    # workspace or keeps a checkpoint, so neither module is imported with the app.
    from azure.core.exceptions import AzureError

    from functions.azure import checkpoint
    from functions.azure.loganalytics import fetch

    store = invocation.alerter.store
    previous = checkpoint.load(store, workspace)
    begin = checkpoint.window_start(previous, now, settings.lookback)
    source = f"workspace {workspace} {begin.isoformat()}..{now.isoformat()}"
    client = invocation.runtime.logs_client(settings.endpoint)
    try:
        fetched = fetch(client, workspace, begin, now)
    except AzureError as exc:
        log.error("%s: query failed, the window will be read again: %s", source, exc)
        _deliver_pending(invocation, source)
        return exc
    if fetched.partial_error:
        log.error("%s: partial result used; the service said: %s", source, fetched.partial_error)
    report = BatchReport()
    records: list[LogRecord] = list(
        records_from_diagnostics({"records": fetched.records}, report, source)
    )
    log_run(source, run(records, invocation.classifier, invocation.alerter), report)
    checkpoint.save(store, workspace, _next(fetched, now))
    return None


def _deliver_pending(invocation: Invocation, source: str) -> None:
    """A run with no new records: it delivers what earlier runs left pending."""
    log_run(source, run([], invocation.classifier, invocation.alerter), BatchReport())


def _next(fetched: Fetched, now: datetime) -> Checkpoint:
    from functions.azure.checkpoint import Checkpoint

    if fetched.truncated_at is not None:
        log.warning("row limit reached; the next run goes on from %s", fetched.truncated_at)
        return Checkpoint(fetched.truncated_at, exact=True)
    return Checkpoint(now)
