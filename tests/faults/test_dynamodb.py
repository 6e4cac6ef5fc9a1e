"""DynamoDB throttling, lost answers and conditional-check conflicts under real runs.

moto's DynamoDB runs as a real HTTP server (:mod:`tests.faults.moto_dynamodb`) with the state
table as template.yaml defines it, and a :class:`~tests.faults.proxy.FaultProxy` in front of
it answers scripted requests with DynamoDB's own error shape (HTTP 400 and a JSON ``__type``).
boto3 talks to the proxy through ``endpoint_url``, so botocore's real retry handling meets the
faults, and moto's real conditional writes decide every conflict.

botocore's backoff cannot be shortened from outside, only its attempts and mode. The handler
tests keep the default ``standard`` mode (what Lambda runs: a throttled request waits up to 1 s,
then 2 s, …) with ``AWS_MAX_ATTEMPTS=2``; the clients the other tests build use ``legacy``
mode, whose DynamoDB backoff starts at 50 ms, and 3 or 4 attempts, to keep the run short.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from functions.aws import app
from shared.alerts.problem import problem_key
from shared.runtime import Runtime
from shared.state.base import Store, Versioned
from shared.state.dynamodb import DynamoStore
from tests.alerts.helpers import OOM, Clock, alerter, create_state_table, process, record
from tests.aws.test_handler import Context, packed, payload, subscription
from tests.chat_servers import SlackApi, Webhook
from tests.faults.helpers import dynamodb, event_id, slack_messages, throttled, throughput_exceeded
from tests.faults.moto_dynamodb import MotoDynamoDB
from tests.faults.proxy import Fault, FaultProxy, Request

REGION = "eu-west-1"
#: A second problem, on a line of its own.
KILLED = "2026-11-21 09:00:00,000 INFO exited: model-server (terminated by SIGKILL; not expected)"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's DynamoDB as a real HTTP server on a free loopback port, for the module."""
    server = MotoDynamoDB().start()
    yield server.url
    server.stop()


@dataclass
class Dynamo:
    """A fresh state table in moto, the proxy in front of it, and a way to build clients."""

    proxy: FaultProxy
    table: str
    direct: Any  # a client that bypasses the proxy, for looking at the table

    def client(self, attempts: int, mode: str = "standard") -> Any:
        """A DynamoDB client through the proxy with ``attempts`` in all (retries included)."""
        return boto3.client(
            "dynamodb",
            region_name=REGION,
            endpoint_url=self.proxy.url,
            config=BotoConfig(
                retries={"total_max_attempts": attempts, "mode": mode},
                connect_timeout=2,
                read_timeout=5,
            ),
        )

    def store(self, attempts: int = 3, mode: str = "legacy") -> DynamoStore:
        """The state store on this table, through the proxy."""
        return DynamoStore(self.table, self.client(attempts, mode))

    def record(self, key: str) -> dict[str, Any]:
        """The problem record stored under ``key``, read past the proxy."""
        stored = DynamoStore(self.table, self.direct).get(key)
        assert stored is not None
        return stored.value


@pytest.fixture
def dynamo(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dynamo]:
    """A state table of its own for each test, behind a fresh proxy."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
        monkeypatch.delenv(name, raising=False)
    direct = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_url)
    table = f"medic-state-{uuid.uuid4().hex[:8]}"
    create_state_table(direct, table)
    with FaultProxy(moto_url) as proxy:
        yield Dynamo(proxy, table, direct)
    direct.delete_table(TableName=table)


def bot_env(slack: SlackApi) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": slack.token, "SLACK_CHANNEL": "C1", "SLACK_API_URL": slack.url}


PUT = dynamodb("PutItem")


def test_botocore_retries_absorb_transient_throttling(dynamo: Dynamo, slack_api: SlackApi) -> None:
    store = dynamo.store(attempts=4)
    dynamo.proxy.script(
        throttled(dynamodb("BatchGetItem")),
        throughput_exceeded(PUT),
        throughput_exceeded(dynamodb("GetItem")),
        throughput_exceeded(dynamodb("Query")),
        throughput_exceeded(dynamodb("BatchWriteItem")),
    )
    ids = [event_id(), event_id()]
    report = process(alerter(store, bot_env(slack_api)), *(record(OOM, event_id=i) for i in ids))
    assert [s.action for s in report.outcome.sent] == ["post"] and not report.outcome.failed
    assert dynamo.proxy.queued() == 0  # every fault was met ...
    assert dynamo.proxy.errors() == [
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "ProvisionedThroughputExceededException",
        "ProvisionedThroughputExceededException",
        "ProvisionedThroughputExceededException",
    ]
    for fault in dynamo.proxy.faulted():  # ... and each throttled request was sent again
        again = dynamo.proxy.attempts_of(fault)
        assert len(again) >= 2 and again[-1].status == 200
    assert len(slack_messages(slack_api)["post"]) == 1
    assert store.pending() == [] and store.seen(ids) == set(ids)


@pytest.mark.parametrize(
    ("passing", "stage"),
    [(0, "the record of the new finding"), (1, "the claim on its delivery")],
)
def test_throttling_that_outlasts_the_retries_fails_the_run_and_the_retry_posts_once(
    dynamo: Dynamo, slack_api: SlackApi, passing: int, stage: str
) -> None:
    """Throttling on every write from ``stage`` on: the run raises before anything is posted,
    and Lambda's retry of the same event (same event ids) posts the alert once."""
    batch = [record(OOM, event_id=event_id())]
    dynamo.proxy.script(*[Fault(matches=PUT)] * passing)
    dynamo.proxy.always(throughput_exceeded(PUT))
    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        process(alerter(dynamo.store(), bot_env(slack_api)), *batch)
    assert slack_api.requests == []
    assert len(dynamo.proxy.faulted()) == 3  # the first attempt and botocore's two retries

    dynamo.proxy.clear()
    report = process(alerter(dynamo.store(), bot_env(slack_api)), *batch)  # the retry
    assert [s.action for s in report.outcome.sent] == ["post"]
    assert len(slack_messages(slack_api)["post"]) == 1
    store = dynamo.store()
    assert store.pending() == [] and store.seen([batch[0].event_id or ""])
    count = dynamo.record(problem_key(report.findings[0]))["alert"]["count"]
    # When the failed run had stored the finding (the claim stage), the retry counts the
    # redelivered event again: event ids are remembered only once the alerts are stored.
    assert count == 1 + passing


def test_throttling_after_the_post_leaves_it_to_be_posted_again_after_the_claim_lease(
    dynamo: Dynamo, slack_api: SlackApi
) -> None:
    """The post reached Slack, then every write is throttled past the retries: the run dies
    without recording the post. The record keeps ``post`` pending under the dead run's claim;
    runs within the lease leave it, the first run after it posts again. At-least-once, as for
    a lost answer from Slack: nothing lost, the alert doubled."""
    clock = Clock()
    batch = [record(OOM, event_id=event_id())]
    dynamo.proxy.script(Fault(matches=PUT), Fault(matches=PUT))  # the record, the claim
    dynamo.proxy.always(throughput_exceeded(PUT))
    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        process(alerter(dynamo.store(), bot_env(slack_api), clock=clock), *batch)
    assert len(slack_messages(slack_api)["post"]) == 1
    dynamo.proxy.clear()

    clock.advance(1)  # Lambda retries the event within the lease: counted, not posted
    retry = process(alerter(dynamo.store(), bot_env(slack_api), clock=clock), *batch)
    assert retry.outcome.sent == [] and dynamo.store().pending()
    clock.advance(5)  # the lease (5 minutes) is over: the next run posts it again
    later = process(alerter(dynamo.store(), bot_env(slack_api), clock=clock))
    assert [s.action for s in later.outcome.sent] == ["post"]
    assert len(slack_messages(slack_api)["post"]) == 2  # the duplicate
    assert dynamo.store().pending() == []


def test_a_write_whose_answer_is_lost_is_neither_doubled_nor_delayed(
    dynamo: Dynamo, slack_api: SlackApi
) -> None:
    """DynamoDB applies each conditional write, then the connection drops before the answer
    arrives; botocore sends it again and the condition now fails against the write itself.
    The store must take that as the success it was: otherwise the run applies its change a
    second time (counting the events twice) or takes its own claim for another run's and
    leaves the alert for the lease to run out."""
    clock = Clock()
    written: set[bytes] = set()

    def first_attempt(request: Request) -> bool:
        """The first attempt of each of the run's first three writes (the record, the claim,
        the delivery), not botocore's retries of them, which resend the same body."""
        if request.operation != "PutItem" or request.body in written or len(written) == 3:
            return False
        written.add(request.body)
        return True

    dynamo.proxy.always(Fault(drop=True, forward=True, matches=first_attempt))
    batch = [record(OOM, event_id=event_id()), record(OOM, event_id=event_id())]
    report = process(alerter(dynamo.store(), bot_env(slack_api), clock=clock), *batch)
    assert [s.action for s in report.outcome.sent] == ["post"] and not report.outcome.failed
    assert [e.forwarded and e.status is None for e in dynamo.proxy.faulted()] == [True] * 3
    assert "ConditionalCheckFailedException" in dynamo.proxy.errors()  # the retries' answers
    key = problem_key(report.findings[0])
    stored = dynamo.record(key)
    assert stored["alert"]["count"] == 2  # not 4
    assert stored["deliveries"]["slack"]["pending"] == []
    assert len(slack_messages(slack_api)["post"]) == 1 and dynamo.store().pending() == []


class LinedUp:
    """A store that, the first time, holds each reader until all have read, so that their
    writes race on the same version and all but one fail their condition."""

    def __init__(self, store: Store, barrier: threading.Barrier) -> None:
        self.store = store
        self.barrier = barrier
        self.waited = False

    def get(self, key: str) -> Versioned | None:
        value = self.store.get(key)
        if not self.waited:
            self.waited = True
            self.barrier.wait(timeout=10)
        return value

    def put(
        self,
        key: str,
        value: dict[str, Any],
        version: object | None,
        *,
        pending: bool,
        expires: datetime,
    ) -> bool:
        return self.store.put(key, value, version, pending=pending, expires=expires)

    def pending(self) -> list[str]:
        return self.store.pending()

    def seen(self, ids: Collection[str]) -> set[str]:
        return self.store.seen(ids)

    def remember(self, ids: Iterable[str], expires: datetime) -> None:
        self.store.remember(ids, expires)


def test_concurrent_runs_conflict_on_the_table_and_still_post_once(
    dynamo: Dynamo, slack_api: SlackApi
) -> None:
    """Two runs (separate clients, threads) on one problem, lined up to read the same version:
    moto fails the loser's conditional put, which reads again and adds its events. Some of the
    writes are also throttled, which botocore absorbs."""
    clock = Clock()
    rounds = 3
    dynamo.proxy.script(throughput_exceeded(PUT), throughput_exceeded(PUT))
    errors: list[BaseException] = []
    for n in range(rounds):
        barrier = threading.Barrier(2)

        def one_run(barrier: threading.Barrier = barrier) -> None:
            try:
                store = LinedUp(dynamo.store(attempts=4), barrier)
                process(
                    alerter(store, bot_env(slack_api), clock=clock),
                    record(OOM, at=clock.now, event_id=event_id()),
                )
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=one_run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [], f"round {n}"
        clock.advance(5)
    conflicts = dynamo.proxy.errors().count("ConditionalCheckFailedException")
    assert conflicts >= rounds  # at least one lost race per round, decided by moto
    sent = slack_messages(slack_api)
    assert len(sent["post"]) == 1  # one alert ...
    assert len(sent["reply"]) == 1  # ... one thread reply per cooldown ...
    assert rounds - 1 <= len(sent["update"]) <= 2 * (rounds - 1)  # ... and count updates
    assert dynamo.store().pending() == []
    [post] = sent["post"]
    assert "fraud-detector" in str(post)


# -- the Lambda handler, with its own client built from the environment ----------------------


@pytest.fixture
def lambda_env(
    dynamo: Dynamo,
    monkeypatch: pytest.MonkeyPatch,
    slack_api: SlackApi,
    teams_webhook: Webhook,
) -> Dynamo:
    """The function's environment: state in the table through the proxy (botocore reads
    ``AWS_ENDPOINT_URL_DYNAMODB``, ``AWS_MAX_ATTEMPTS`` and ``AWS_RETRY_MODE`` itself), chat
    credentials as plain values, a cold container."""
    for name in ("MEDIC_CONFIG", "MEDIC_CONFIG_PARAMETER", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamo.proxy.url)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("MEDIC_STATE", f"dynamodb://{dynamo.table}")
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack_api.token)
    monkeypatch.setenv("SLACK_CHANNEL", "C0ALERTS")
    monkeypatch.setenv("SLACK_API_URL", slack_api.url)
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", teams_webhook.url)
    monkeypatch.setattr(app, "_RUNTIME", Runtime())
    return dynamo


def test_the_handler_raises_on_lasting_throttling_and_lambdas_retry_posts_once(
    lambda_env: Dynamo, slack_api: SlackApi, teams_webhook: Webhook
) -> None:
    event = subscription([OOM], first_id=7000)
    lambda_env.proxy.always(throughput_exceeded(PUT))
    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        app.handler(event, Context())  # an asynchronous invocation: Lambda will retry it
    assert slack_api.requests == [] and teams_webhook.requests == []
    assert len(lambda_env.proxy.faulted()) == 2  # AWS_MAX_ATTEMPTS

    lambda_env.proxy.clear()
    lambda_env.proxy.script(throttled(dynamodb("GetItem")))  # transient: absorbed
    assert app.handler(event, Context()) == {"batchItemFailures": []}  # the retry
    app.handler(event, Context())  # and a duplicate delivery of the same event
    assert len(slack_messages(slack_api)["post"]) == 1 and len(teams_webhook.requests) == 1
    assert DynamoStore(lambda_env.table, lambda_env.direct).pending() == []


def test_a_kinesis_record_that_meets_lasting_throttling_is_reported_and_retried_once(
    lambda_env: Dynamo, slack_api: SlackApi, teams_webhook: Webhook
) -> None:
    def item(sequence: str, messages: list[str], first_id: int) -> dict[str, Any]:
        data = packed(payload(messages, first_id))
        return {"kinesis": {"sequenceNumber": sequence, "data": data}, "eventID": f"s:{sequence}"}

    oom, killed = item("1", [OOM], 8000), item("2", [KILLED], 8100)
    # Every write of the second problem is throttled; the first one's go through.
    lambda_env.proxy.always(
        throughput_exceeded(lambda r: r.operation == "PutItem" and b"SIGKILL" in r.body)
    )
    answer = app.handler({"Records": [oom, killed]}, Context())
    assert answer == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    lambda_env.proxy.clear()
    # Kinesis retries from the failed record on
    assert app.handler({"Records": [killed]}, Context()) == {"batchItemFailures": []}
    posts = slack_messages(slack_api)["post"]
    assert len(posts) == 2 and len(teams_webhook.requests) == 2
    assert sum("model-server exited" in str(p) for p in posts) == 1
    assert DynamoStore(lambda_env.table, lambda_env.direct).pending() == []
