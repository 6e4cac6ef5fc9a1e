"""The Azure functions as the Functions host runs them: the decorated functions of
``function_app.app`` called with ``azure.functions`` objects, with the real Slack/Teams clients
talking to local servers and the real ``LogsQueryClient`` to a local Log Analytics API."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
import trustme
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient
from azure.functions.timer import TimerRequest

import function_app
from functions.azure import invocation, loganalytics
from functions.azure.settings import APP_SETTINGS, LOCAL_ONLY
from tests.azure.log_analytics import PARTIAL_ERROR, LogAnalytics, start_server
from tests.azurite import Azurite
from tests.chat_servers import Failure, Webhook
from tests.helpers import run_together

EVENTS = Path(__file__).resolve().parents[1] / "events" / "azure"
RESOURCE = (
    "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/ML-RG/PROVIDERS/"
    "MICROSOFT.MACHINELEARNINGSERVICES/WORKSPACES/ML-WS/ONLINEENDPOINTS/CREDIT-EP"
)
CONSOLE = "AmlOnlineEndpointConsoleLog"
STORAGE_SUFFIXES = ("accountName", "tableServiceUri")


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def hub_event(body: dict[str, Any] | bytes, sequence: int | None = None) -> func.EventHubEvent:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return func.EventHubEvent(body=data, sequence_number=sequence)


#: The app indexed once, as the host does (indexing twice is an error).
BUILT = {f.get_function_name(): f for f in function_app.app.get_functions()}


def functions() -> dict[str, Callable[..., Any]]:
    return {name: f.get_user_function() for name, f in BUILT.items()}


@pytest.fixture
def azure_app(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[..., Any]]:
    """A cold Function App instance with no settings but in-memory state."""
    storage = ["AzureWebJobsStorage", *(f"AzureWebJobsStorage__{s}" for s in STORAGE_SUFFIXES)]
    for name in [*APP_SETTINGS, *LOCAL_ONLY, *storage]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEDIC_STATE", "memory")
    monkeypatch.setattr(invocation, "RUNTIME", invocation.AzureRuntime())
    return functions()


@pytest.fixture
def webhooks(
    azure_app: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    slack_webhook: Webhook,
    teams_webhook: Webhook,
) -> tuple[Webhook, Webhook]:
    """Only SLACK_WEBHOOK_URL and TEAMS_WEBHOOK_URL set: how a user tries the app locally."""
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_webhook.url)
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", teams_webhook.url)
    return slack_webhook, teams_webhook


def test_the_app_registers_a_many_event_hub_trigger_with_retry_and_a_timer() -> None:
    built = BUILT
    [hub] = [json.loads(b) for b in built["diagnostics"].get_raw_bindings()]
    assert hub["type"] == "eventHubTrigger" and hub["cardinality"] == "MANY"
    assert hub["connection"] == "MEDIC_EVENTHUB"
    assert hub["eventHubName"] == "%MEDIC_EVENTHUB_NAME%"
    assert hub["consumerGroup"] == "%MEDIC_EVENTHUB_CONSUMER_GROUP%"
    retry = built["diagnostics"].get_setting("retry_policy").get_dict_repr()
    assert retry["strategy"] == "exponential_backoff" and int(retry["max_retry_count"]) > 0
    [timer] = [json.loads(b) for b in built["poll"].get_raw_bindings()]
    assert timer["type"] == "timerTrigger" and timer["schedule"] == "%MEDIC_POLL_SCHEDULE%"


def test_a_console_traceback_gives_one_slack_and_one_teams_alert(
    webhooks: tuple[Webhook, Webhook], azure_app: dict[str, Any]
) -> None:
    slack, teams = webhooks
    azure_app["diagnostics"]([hub_event(sample("eventhub_console_traceback.json"), 7)])
    [post] = [r.body for r in slack.requests]
    [card] = [r.body for r in teams.requests]
    for body in (json.dumps(post), json.dumps(card)):
        assert "credit-ep" in body and "blue" in body and "inference-server" in body
        assert "lightgbm" in body
    assert "*Fix*" in json.dumps(post["blocks"])
    assert "Fix" in json.dumps(card)
    # Event Hubs redelivers the same batch (a host restart before its checkpoint): no new post
    azure_app["diagnostics"]([hub_event(sample("eventhub_console_traceback.json"), 7)])
    assert len(slack.requests) == 1 and len(teams.requests) == 1


def test_harmless_records_post_nothing(
    webhooks: tuple[Webhook, Webhook], azure_app: dict[str, Any]
) -> None:
    batch = sample("eventhub_console_traceback.json")
    calm = copy.deepcopy(batch["records"][0])
    lines = [
        "2026-11-19 12:13:20,311 I [8] azmlinfsrv - Scoring timeout is set to 60000",
        "2026-11-19 12:13:20,400 I [8] gunicorn.error - Booting worker with pid: 41",
        'INFO:     127.0.0.1:48234 - "GET / HTTP/1.1" 200 OK',
    ]
    records = []
    for line in lines:
        record = copy.deepcopy(calm)
        record["properties"]["Message"] = line
        records.append(record)
    traffic = sample("eventhub_traffic.json")["records"][0]  # a 200
    azure_app["diagnostics"]([hub_event({"records": [*records, traffic]})])
    slack, teams = webhooks
    assert slack.requests == [] and teams.requests == []


def test_a_corrupt_event_does_not_lose_the_good_ones(
    webhooks: tuple[Webhook, Webhook], azure_app: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="medic")
    good = sample("eventhub_console_traceback.json")
    other = {"records": [{"category": "AmlComputeClusterEvent", "properties": {"Message": "x"}}]}
    azure_app["diagnostics"](
        [
            hub_event(b"\x1f\x8b not json at all", 11),
            hub_event(b"\xff\xfe\xfa", 12),
            hub_event({"records": "not a list"}, 13),
            hub_event(good, 14),
            hub_event({"records": [42, {"category": CONSOLE, "properties": {}}]}, 15),
            hub_event(other, 16),
        ]
    )
    slack, teams = webhooks
    assert len(slack.requests) == 1 and len(teams.requests) == 1
    assert "lightgbm" in json.dumps(slack.requests[0].body)
    problems = "\n".join(r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    for where in ("event 11", "event 12", "event 13", "event 15: records[0]", "records[1]"):
        assert where in problems
    summary = "\n".join(r.getMessage() for r in caplog.records if r.levelname == "INFO")
    assert "AmlComputeClusterEvent': 1" in summary  # counted and skipped, not failed


def test_traffic_rows_alert_by_status(
    webhooks: tuple[Webhook, Webhook], azure_app: dict[str, Any]
) -> None:
    azure_app["diagnostics"]([hub_event(sample("eventhub_traffic.json"))])
    slack, _ = webhooks
    [post] = [r.body for r in slack.requests]
    assert "credit-ep" in json.dumps(post) and "424" in json.dumps(post)


def test_a_chat_outage_keeps_the_alert_for_the_timer_to_deliver(
    webhooks: tuple[Webhook, Webhook], azure_app: dict[str, Any]
) -> None:
    slack, teams = webhooks
    teams.fail_next(*[Failure(status=502)] * 10)
    azure_app["diagnostics"]([hub_event(sample("eventhub_console_traceback.json"))])  # no raise
    failed_attempts = len(teams.requests)
    assert len(slack.requests) == 1 and failed_attempts >= 1
    teams.failures.clear()
    azure_app["poll"](TimerRequest(past_due=False))  # no workspace: retries pending alerts
    assert len(teams.requests) == failed_attempts + 1
    assert "lightgbm" in json.dumps(teams.requests[-1].body)
    assert len(slack.requests) == 1  # delivered once, not again


def test_an_unusable_store_fails_the_run_so_the_retry_policy_reruns_it(
    webhooks: tuple[Webhook, Webhook], azure_app: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIC_STATE", "nosuchstore://x")
    with pytest.raises(ValueError, match="MEDIC_STATE=nosuchstore://x"):
        azure_app["diagnostics"]([hub_event(sample("eventhub_console_traceback.json"))])


def test_a_bad_config_stops_the_function_with_its_problems(
    azure_app: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = tmp_path / "medic.yaml"
    config.write_text("cooldown_minutes: soon\n")
    monkeypatch.setenv("MEDIC_CONFIG", str(config))
    with pytest.raises(ValueError, match="cooldown_minutes"):
        azure_app["diagnostics"]([hub_event(sample("eventhub_console_traceback.json"))])
    assert any("medic.yaml:1" in r.getMessage() for r in caplog.records)


def test_with_no_destination_the_alert_is_logged(
    azure_app: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    azure_app["diagnostics"]([hub_event(sample("eventhub_console_traceback.json"))])
    assert any("no destination configured" in r.getMessage() for r in caplog.records)


# --- the Log Analytics poller ------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def workspace(
    ca: trustme.CA,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    webhooks: tuple[Webhook, Webhook],
) -> Iterator[LogAnalytics]:
    """A local Log Analytics API over TLS, and the app's managed identity to reach it."""
    server = start_server(ca)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    logs = LogAnalytics(server, ca)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    logs.identity.use(monkeypatch)
    monkeypatch.setenv("MEDIC_WORKSPACE_ID", logs.workspace)
    monkeypatch.setenv("MEDIC_LOGS_ENDPOINT", logs.endpoint)
    monkeypatch.setenv("MEDIC_POLL_LOOKBACK_MINUTES", "15")
    yield logs
    server.clear()
    server.stop()


def traceback_rows(logs: LogAnalytics, when: datetime, instance: str = "blue-1") -> None:
    for offset, line in enumerate(
        [
            "2026-11-19 12:13:21,002 E [8] azmlinfsrv - User's init function failed",
            "Traceback (most recent call last):",
            '  File "/var/azureml-app/onlinescoring/score.py", line 6, in init',
            "    import lightgbm as lgb",
            "ModuleNotFoundError: No module named 'lightgbm'",
        ]
    ):
        logs.add(
            when + timedelta(milliseconds=offset),
            CONSOLE,
            RESOURCE,
            DeploymentName="blue",
            InstanceId=instance,
            ContainerName="inference-server",
            Message=line,
        )


def tick(app: dict[str, Any]) -> None:
    app["poll"](TimerRequest(past_due=False))


def test_two_polls_over_overlapping_windows_alert_once(
    workspace: LogAnalytics, webhooks: tuple[Webhook, Webhook], azure_app: dict[str, Any]
) -> None:
    slack, teams = webhooks
    now = datetime.now(UTC)
    traceback_rows(workspace, now - timedelta(minutes=3))
    tick(azure_app)
    assert len(slack.requests) == 1 and len(teams.requests) == 1
    assert "lightgbm" in json.dumps(slack.requests[0].body)
    # a row written before the checkpoint but ingested late, and the same problem again
    traceback_rows(workspace, now - timedelta(minutes=1), instance="blue-2")
    tick(azure_app)
    first, second = workspace.queries
    assert second.start < first.end  # the windows overlap ...
    assert second.start == first.end - timedelta(minutes=15)  # ... by the lookback
    assert len(slack.requests) == 1 and len(teams.requests) == 1  # ... and alert once
    assert "AmlOnlineEndpointTrafficLog | where" in first.query
    assert workspace.tokens_issued == 1  # the managed identity's token is cached


def test_a_partial_answer_is_used_and_its_error_reported(
    workspace: LogAnalytics,
    webhooks: tuple[Webhook, Webhook],
    azure_app: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    traceback_rows(workspace, datetime.now(UTC) - timedelta(minutes=2))
    workspace.script.append("partial")
    tick(azure_app)
    slack, _ = webhooks
    assert len(slack.requests) == 1 and "lightgbm" in json.dumps(slack.requests[0].body)
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("partial result used" in e and PARTIAL_ERROR["code"] in e for e in errors)


def test_a_failed_query_reads_the_same_window_next_time(
    workspace: LogAnalytics, webhooks: tuple[Webhook, Webhook], azure_app: dict[str, Any]
) -> None:
    tick(azure_app)  # sets the checkpoint
    workspace.script.append(503)
    workspace.script.append(503)
    workspace.script.append(503)
    workspace.script.append(503)
    with pytest.raises(RuntimeError, match="query failed"):
        tick(azure_app)
    failed_start = workspace.queries[-1].start
    traceback_rows(workspace, datetime.now(UTC) - timedelta(seconds=30))
    workspace.script.clear()
    tick(azure_app)
    assert workspace.queries[-1].start == failed_start  # the checkpoint did not move
    slack, _ = webhooks
    assert len(slack.requests) == 1


def test_a_full_window_goes_on_from_its_last_row(
    workspace: LogAnalytics,
    webhooks: tuple[Webhook, Webhook],
    azure_app: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loganalytics, "ROW_LIMIT", 6)
    when = datetime.now(UTC) - timedelta(minutes=5)
    workspace.add(when - timedelta(seconds=30), CONSOLE, RESOURCE, Message="Booting worker")
    traceback_rows(workspace, when)  # rows 2 to 6 of 6: the read is full, and may be cut here
    tick(azure_app)
    first_alerts = len(webhooks[0].requests)
    tick(azure_app)
    second = workspace.queries[1]
    assert second.start == when  # the next read starts at the rows held back, exactly
    slack, _ = webhooks
    assert first_alerts == 0  # the traceback at the end of a full read waits ...
    [post] = slack.requests  # ... but whole, by the second read: one alert, the right one
    assert "lightgbm" in post.body["text"]


# --- as deployed: state in Table Storage (Azurite) -----------------------------------------


@pytest.fixture
def table_state(
    azurite: Azurite, monkeypatch: pytest.MonkeyPatch, azure_app: dict[str, Any]
) -> str:
    """``MEDIC_STATE=azuretable://…`` in the app's storage account, as the Bicep sets it."""
    name = azurite.table_name()
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    monkeypatch.setenv("MEDIC_STATE", f"azuretable://{name}")
    return name


def test_concurrent_batches_on_one_problem_post_once_with_table_state(
    table_state: str, webhooks: tuple[Webhook, Webhook], azure_app: dict[str, Any]
) -> None:
    batches = [sample("eventhub_console_traceback.json") for _ in range(4)]
    for n, batch in enumerate(batches):  # four instances' lines of one problem
        for record in batch["records"]:
            record["properties"]["InstanceId"] = f"blue-{n}"
    errors = run_together(lambda n: azure_app["diagnostics"]([hub_event(batches[n])]), 4)
    assert errors == []
    slack, teams = webhooks
    assert len(slack.requests) == 1 and len(teams.requests) == 1


def test_the_poller_resumes_from_its_stored_checkpoint_after_a_cold_start(
    table_state: str,
    workspace: LogAnalytics,
    webhooks: tuple[Webhook, Webhook],
    azure_app: dict[str, Any],
    azurite: Azurite,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    traceback_rows(workspace, datetime.now(UTC) - timedelta(minutes=2))
    tick(azure_app)
    monkeypatch.setattr(invocation, "RUNTIME", invocation.AzureRuntime())  # a new instance
    stale = TableClient.from_connection_string(azurite.connection_string, table_state)
    stale.upsert_entity(
        {
            "PartitionKey": "event",
            "RowKey": "0" * 64,
            "key": "old",
            "expires_at": datetime.now(UTC) - timedelta(days=1),
        }
    )
    tick(azure_app)
    first, second = workspace.queries
    assert second.start == first.end - timedelta(minutes=15)  # the checkpoint was in the table
    slack, teams = webhooks
    assert len(slack.requests) == 1 and len(teams.requests) == 1  # and so were the event ids
    with pytest.raises(ResourceNotFoundError):
        stale.get_entity("event", "0" * 64)  # the timer swept the expired row
