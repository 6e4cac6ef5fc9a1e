"""Building records and alerters for the alerting tests."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.dynamodb.responses import DynamoHandler

from shared.alerts.alerter import Alerter
from shared.classify.classifier import Classifier
from shared.config import Config
from shared.model import LogRecord
from shared.notify.factory import build_notifiers
from shared.notify.retry import Budget
from shared.pipeline import RunReport, run
from shared.state.base import Store

CLASSIFIER = Classifier()
#: The tests' "now": the real time, because the stores expire records by the real clock.
T0 = datetime.now(UTC).replace(microsecond=0)
OOM = (
    'Received server error (500) from container-2 with message "CUDA out of memory. '
    'Tried to allocate 2.00 GiB (GPU 0; 14.75 GiB total capacity)"'
)


def record(message: str, at: datetime = T0, event_id: str | None = None, **where: str) -> LogRecord:
    """An AWS endpoint log record; ``where`` overrides the default place."""
    place = {"endpoint": "fraud-detector", "variant": "AllTraffic", "instance": "i-0abc"} | where
    return LogRecord(
        message=message,
        cloud="aws",
        timestamp=at,
        event_id=event_id,
        source=f"/aws/sagemaker/Endpoints/{place['endpoint']}",
        stream=f"{place['variant']}/{place['instance']}",
        **place,
    )


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


def alerter(
    store: Store,
    env: Mapping[str, str],
    config: Mapping[str, Any] | None = None,
    clock: Callable[[], datetime] | None = None,
    budget: float = 30,
) -> Alerter:
    """An alerter with receivers built from ``env`` as the functions build them."""
    settings = Config.model_validate(config or {})
    return Alerter(
        settings,
        store,
        build_notifiers(settings, env),
        budget=Budget(budget),
        clock=clock or Clock(),
    )


def process(target: Alerter, *records: LogRecord) -> RunReport:
    """One run of the pipeline over ``records``."""
    return run(records, CLASSIFIER, target)


def create_state_table(client: Any, name: str) -> None:
    """The state table as template.yaml defines it: ``pk``, the sparse ``pending`` index."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "pending", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "pending",
                "KeySchema": [{"AttributeName": "pending", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["expires_at"]},
            }
        ],
    )


def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes each DynamoDB request under moto atomic, as it is in DynamoDB itself.

    moto applies a conditional write without a lock: ``Table.put_item`` reads the item,
    evaluates the ``ConditionExpression`` and only then stores the new item, so two threads of
    one process can both pass ``version = :v`` (or ``attribute_not_exists(pk)``) and both
    write. The service never lets that happen, and tests of concurrent invocations failed for
    moto's sake about once in 30 runs (a count lost to two winning writes). Here one request
    at a time is handled; the threads still interleave between requests, so the races of
    read, compare-and-set and retry that the tests are about still happen.
    """
    lock = threading.RLock()
    handle = DynamoHandler.call_action

    def one_at_a_time(self: DynamoHandler) -> Any:
        with lock:
            return handle(self)

    monkeypatch.setattr(DynamoHandler, "call_action", one_at_a_time)
