"""What both Azure functions do before and after the pipeline: load the config, reuse the warm
instance's classifier and store, and log what a run did.

App settings reach the worker as environment variables (Key Vault references already resolved
by the platform), so credentials are read straight from the environment.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from functions.azure.events import BatchReport
from shared.alerts.alerter import Alerter
from shared.classify.classifier import Classifier
from shared.config import config_from_env
from shared.pipeline import RunReport
from shared.rulebook.errors import RulebookError
from shared.runtime import Runtime

if TYPE_CHECKING:
    from azure.monitor.query import LogsQueryClient

log = logging.getLogger("medic")

#: Seconds one invocation may spend on chat deliveries (retries included); what is left over
#: stays pending in the store for the next run. Well inside the Consumption plan's 5 minutes.
DELIVERY_SECONDS = 60.0


class AzureRuntime(Runtime):
    """The shared per-instance cache, plus the Log Analytics client and its credential."""

    def __init__(self) -> None:
        super().__init__()
        self._logs: dict[str, LogsQueryClient] = {}

    def logs_client(self, endpoint: str) -> LogsQueryClient:
        """A query client for ``endpoint`` authenticated as the app's managed identity (or,
        locally, whatever ``DefaultAzureCredential`` finds: the Azure CLI login, say)."""
        if endpoint not in self._logs:
            from azure.identity import DefaultAzureCredential
            from azure.monitor.query import LogsQueryClient

            self._logs[endpoint] = LogsQueryClient(DefaultAzureCredential(), endpoint=endpoint)
        return self._logs[endpoint]


#: Reused while the instance is warm; replaced to simulate a cold start.
RUNTIME = AzureRuntime()


class Invocation(NamedTuple):
    """The classifier and alerter of one invocation, and the instance's cached clients."""

    classifier: Classifier
    alerter: Alerter
    runtime: AzureRuntime


def start(env: Mapping[str, str] | None = None) -> Invocation:
    """The invocation's classifier and alerter; an invalid config is logged with every problem
    and raised, so the run fails visibly instead of alerting with the wrong settings."""
    env = os.environ if env is None else env
    try:
        config, where = config_from_env(env.get("MEDIC_CONFIG") or None)
    except RulebookError as exc:
        log.error("medic cannot start: the config is invalid:\n%s", "\n".join(exc.problems))
        raise
    runtime = RUNTIME
    return Invocation(
        runtime.classifier(config, where), runtime.alerter(config, env, DELIVERY_SECONDS), runtime
    )


def log_run(source: str, report: RunReport, batch: BatchReport) -> None:
    """One summary line per run, plus a line for each unusable input, naming where it was."""
    for problem in batch.bad:
        log.error("%s: unusable input skipped: %s", source, problem)
    outcome = report.outcome
    log.info(
        "%s: %d records (%d already seen), %d findings, %d alerts sent, %d held, "
        "%d delivery failures; other categories skipped: %s",
        source,
        report.records,
        report.duplicates,
        len(report.findings),
        len(outcome.sent),
        sum(outcome.held.values()),
        len(outcome.failed),
        dict(batch.skipped) or "none",
    )
    for failure in outcome.failed:
        log.warning("%s: delivery failed, kept for the next run: %s", source, failure)
