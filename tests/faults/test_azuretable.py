"""Azure Table Storage answering 503 ServerBusy, and losing answers, under real runs.

A :class:`~tests.faults.proxy.FaultProxy` sits in front of Azurite; the clients reach it
through a connection string whose ``TableEndpoint`` is the proxy, so the Azure SDK's real retry
policy meets the faults and Azurite's real ETags decide every conditional write. The clients
the tests build shorten the SDK's backoff (``retry_total``, ``retry_backoff_factor``), which
the SDK allows from outside; the functions' own client keeps the SDK defaults, whose first
retry is immediate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceResponseError
from azure.data.tables import TableClient
from azure.functions.timer import TimerRequest

from functions.azure import invocation
from functions.azure.settings import APP_SETTINGS, LOCAL_ONLY
from shared.alerts.problem import problem_key
from shared.state.azuretable import AzureTableStore
from shared.state.base import Store
from tests.alerts.helpers import OOM, Clock, alerter, process, record
from tests.azure.test_functions import functions, hub_event, sample
from tests.azurite import Azurite
from tests.chat_servers import SlackApi, Webhook
from tests.faults.helpers import event_id, server_busy, slack_messages, table_write
from tests.faults.proxy import Fault, FaultProxy, Request


@dataclass
class Tables:
    """A fresh table in Azurite, the proxy in front of Azurite, and clients for both ways."""

    proxy: FaultProxy
    azurite: Azurite
    table: str

    @property
    def connection_string(self) -> str:
        """Azurite's connection string with the proxy as its table endpoint."""
        return self.azurite.connection_string.replace(
            f"http://127.0.0.1:{self.azurite.port}/", f"{self.proxy.url}/"
        )

    def client(self, **retry: Any) -> TableClient:
        """A client through the proxy; ``retry`` tunes the SDK's retry policy."""
        options = {"retry_total": 3, "retry_backoff_factor": 0.05} | retry
        return TableClient.from_connection_string(self.connection_string, self.table, **options)

    def store(self, **retry: Any) -> AzureTableStore:
        """The state store on this table, through the proxy."""
        return AzureTableStore(self.table, self.client(**retry))

    def record(self, key: str) -> dict[str, Any]:
        """The problem record stored under ``key``, read past the proxy."""
        direct = TableClient.from_connection_string(self.azurite.connection_string, self.table)
        stored = AzureTableStore(self.table, direct).get(key)
        assert stored is not None
        return stored.value


@pytest.fixture
def tables(azurite: Azurite) -> Iterator[Tables]:
    """A table of its own for each test, behind a fresh proxy."""
    name = azurite.table().table_name
    with FaultProxy(f"http://127.0.0.1:{azurite.port}") as proxy:
        yield Tables(proxy, azurite, name)


def bot_env(slack: SlackApi) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": slack.token, "SLACK_CHANNEL": "C1", "SLACK_API_URL": slack.url}


def entity_get(request: Request) -> bool:
    """Reading one entity: ``GET /account/table(PartitionKey='…',RowKey='…')``."""
    return request.method == "GET" and "RowKey=" in request.path


def query(request: Request) -> bool:
    """A query of the table: ``GET /account/table()?$filter=…``."""
    return request.method == "GET" and "()" in request.path


def claim_write(request: Request) -> bool:
    """A replace of a problem record that holds a run's claim on a delivery."""
    if request.method != "PUT" or not request.body:
        return False
    body = json.loads(json.loads(request.body).get("body", "{}"))
    return any(d.get("claimed_by") for d in body.get("deliveries", {}).values())


def test_the_sdk_absorbs_transient_server_busy(tables: Tables, slack_api: SlackApi) -> None:
    tables.proxy.script(
        server_busy(query),  # the event ids already seen
        server_busy(entity_get),
        server_busy(lambda r: r.method == "POST" and "$batch" not in r.path),  # the create
        server_busy(lambda r: r.method == "PUT"),  # the claim
        server_busy(lambda r: "$batch" in r.path),  # remembering the event ids
    )
    ids = [event_id(), event_id()]
    store = tables.store()
    report = process(alerter(store, bot_env(slack_api)), *(record(OOM, event_id=i) for i in ids))
    assert [s.action for s in report.outcome.sent] == ["post"] and not report.outcome.failed
    assert tables.proxy.queued() == 0  # every fault was met
    assert [e.error for e in tables.proxy.faulted()] == ["ServerBusy"] * 5
    for fault in tables.proxy.faulted():  # each refused request was sent again, and went through
        again = tables.proxy.attempts_of(fault)
        assert len(again) >= 2 and again[-1].status is not None and again[-1].status < 300
    assert len(slack_messages(slack_api)["post"]) == 1
    assert store.pending() == [] and store.seen(ids) == set(ids)


@pytest.mark.parametrize(
    ("passing", "stage"),
    [(0, "the record of the new finding"), (1, "the claim on its delivery")],
)
def test_server_busy_beyond_the_retries_fails_the_run_and_the_retry_posts_once(
    tables: Tables, slack_api: SlackApi, passing: int, stage: str
) -> None:
    """Every write from ``stage`` on is refused: the run raises before anything is posted, and
    running the same batch again (the host's retry policy) posts the alert once."""
    batch = [record(OOM, event_id=event_id())]
    tables.proxy.script(*[Fault(matches=table_write)] * passing)
    tables.proxy.always(server_busy(table_write))
    with pytest.raises(HttpResponseError, match="ServerBusy"):
        process(alerter(tables.store(retry_total=2), bot_env(slack_api)), *batch)
    assert slack_api.requests == []
    assert len(tables.proxy.faulted()) == 3  # the first attempt and the SDK's two retries

    tables.proxy.clear()
    report = process(alerter(tables.store(), bot_env(slack_api)), *batch)
    assert [s.action for s in report.outcome.sent] == ["post"]
    assert len(slack_messages(slack_api)["post"]) == 1
    assert tables.store().pending() == []
    # as with DynamoDB: after a run that stored the finding, the retry counts it again
    assert tables.record(problem_key(report.findings[0]))["alert"]["count"] == 1 + passing


def test_a_claim_whose_answer_is_lost_is_delivered_by_the_same_run(
    tables: Tables, slack_api: SlackApi
) -> None:
    """Azurite applies the claim, the connection drops before the answer; the SDK sends the
    replace again, whose ETag no longer matches (412), so the store reports a lost race. The
    run reads the record again and finds its own claim: it delivers now, rather than taking
    the claim for another run's and leaving the alert until the lease runs out."""
    tables.proxy.script(Fault(drop=True, forward=True, matches=claim_write))
    report = process(alerter(tables.store(), bot_env(slack_api)), record(OOM, event_id=event_id()))
    [lost] = tables.proxy.faulted()
    assert lost.forwarded and lost.status is None
    assert "UpdateConditionNotSatisfied" in tables.proxy.errors()  # the retry's 412
    assert [s.action for s in report.outcome.sent] == ["post"] and not report.outcome.failed
    assert len(slack_messages(slack_api)["post"]) == 1 and tables.store().pending() == []


def test_a_create_whose_answer_is_lost_fails_the_run_and_the_retry_posts_once(
    tables: Tables, slack_api: SlackApi
) -> None:
    """The SDK does not resend a POST (an entity create) after its connection broke: the run
    raises, with the record written. Running the batch again posts the alert once (and, the
    event ids not being remembered yet, counts its events again, as any retried batch does)."""
    batch = [record(OOM, event_id=event_id())]
    tables.proxy.script(Fault(drop=True, forward=True, matches=table_write))
    with pytest.raises(ServiceResponseError):
        process(alerter(tables.store(), bot_env(slack_api)), *batch)
    assert slack_api.requests == []
    report = process(alerter(tables.store(), bot_env(slack_api)), *batch)
    assert [s.action for s in report.outcome.sent] == ["post"]
    assert len(slack_messages(slack_api)["post"]) == 1 and tables.store().pending() == []


def test_a_replace_whose_answer_is_lost_counts_the_events_once(
    tables: Tables, slack_api: SlackApi
) -> None:
    """Azurite applies the replace that adds the second run's event, the answer is lost; the
    SDK's resend gets 412. The store finds its own writer token in the record and reports
    success, so the run does not apply its change (and count its event) a second time."""
    clock = Clock()
    process(
        alerter(tables.store(), bot_env(slack_api), clock=clock), record(OOM, event_id=event_id())
    )
    tables.proxy.script(Fault(drop=True, forward=True, matches=lambda r: r.method == "PUT"))
    clock.advance(5)
    report = process(
        alerter(tables.store(), bot_env(slack_api), clock=clock),
        record(OOM, at=clock.now, event_id=event_id()),
    )
    assert sorted(s.action for s in report.outcome.sent) == ["reply", "update"]
    assert len(slack_messages(slack_api)["post"]) == 1
    assert "UpdateConditionNotSatisfied" in tables.proxy.errors()  # the retry's 412
    assert tables.record(problem_key(report.findings[0]))["alert"]["count"] == 2


# -- the Azure functions, on table state through the proxy ----------------------------------


class ShortRetries(invocation.AzureRuntime):
    """A Function App instance whose table client retries quickly (the SDK's own defaults
    wait 1.6 s and 3.2 s before the third and fourth attempts)."""

    def __init__(self, tables: Tables) -> None:
        super().__init__()
        self.tables = tables

    def store(self, url: str) -> Store:
        assert url == f"azuretable://{self.tables.table}"
        return self.tables.store(retry_total=2)


@pytest.fixture
def azure_app(
    tables: Tables,
    monkeypatch: pytest.MonkeyPatch,
    slack_webhook: Webhook,
    teams_webhook: Webhook,
) -> dict[str, Callable[..., Any]]:
    """The functions as deployed: table state in the app's storage account (through the
    proxy), Slack and Teams webhooks, a cold instance."""
    for name in [*APP_SETTINGS, *LOCAL_ONLY, "AzureWebJobsStorage"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AzureWebJobsStorage", tables.connection_string)
    monkeypatch.setenv("MEDIC_STATE", f"azuretable://{tables.table}")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_webhook.url)
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", teams_webhook.url)
    monkeypatch.setattr(invocation, "RUNTIME", invocation.AzureRuntime())
    return functions()


def test_the_event_hub_function_rides_out_transient_server_busy_with_sdk_defaults(
    tables: Tables,
    azure_app: dict[str, Callable[..., Any]],
    slack_webhook: Webhook,
    teams_webhook: Webhook,
) -> None:
    tables.proxy.script(server_busy(query), server_busy(entity_get), server_busy(table_write))
    batch = [hub_event(sample("eventhub_console_traceback.json"), 7)]
    azure_app["diagnostics"](batch)
    assert tables.proxy.queued() == 0
    azure_app["diagnostics"](batch)  # Event Hubs delivers the batch again: nothing new
    assert len(slack_webhook.requests) == 1 and len(teams_webhook.requests) == 1
    assert "lightgbm" in json.dumps(teams_webhook.requests[0].body)


def test_server_busy_beyond_the_retries_fails_the_invocation_and_nothing_is_lost(
    tables: Tables,
    azure_app: dict[str, Callable[..., Any]],
    monkeypatch: pytest.MonkeyPatch,
    slack_webhook: Webhook,
    teams_webhook: Webhook,
) -> None:
    """The finding is stored, then every write is refused: the invocation raises (so the
    host's retry policy runs the batch again). Meanwhile the timer delivers the pending alert;
    the retried batch then posts nothing more."""
    monkeypatch.setattr(invocation, "RUNTIME", ShortRetries(tables))
    tables.proxy.script(Fault(matches=table_write))  # the record of the finding
    tables.proxy.always(server_busy(table_write))
    batch = [hub_event(sample("eventhub_console_traceback.json"), 9)]
    with pytest.raises(HttpResponseError, match="ServerBusy"):
        azure_app["diagnostics"](batch)
    assert slack_webhook.requests == [] and teams_webhook.requests == []
    tables.proxy.clear()
    azure_app["poll"](TimerRequest(past_due=False))  # no workspace: delivers what is pending
    assert len(slack_webhook.requests) == 1 and len(teams_webhook.requests) == 1
    azure_app["diagnostics"](batch)  # the host's retry of the failed batch
    assert len(slack_webhook.requests) == 1 and len(teams_webhook.requests) == 1
    assert tables.store().pending() == []
