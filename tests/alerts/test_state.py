"""The state stores keep the same promises: compare-and-set records, pending lists, delivered
event ids that expire; and concurrent runs on one problem post a single first message."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from azure.data.tables import TableClient
from moto import mock_aws

from shared.alerts.problem import problem_key
from shared.state.azuretable import AzureTableStore
from shared.state.base import Store
from shared.state.dynamodb import DynamoStore
from shared.state.factory import StateConfigError, open_store
from shared.state.memory import MemoryStore
from shared.state.sqlite import SqliteStore
from tests.alerts.helpers import (
    OOM,
    alerter,
    atomic_dynamodb,
    create_state_table,
    process,
    record,
)
from tests.azurite import Azurite
from tests.chat_servers import SlackApi
from tests.helpers import run_together

LATER = datetime.now(UTC) + timedelta(days=1)


@pytest.fixture(params=["memory", "sqlite", "dynamodb", "azuretable"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "dynamodb":
        with mock_aws():
            client = boto3.client("dynamodb", region_name="eu-west-1")
            create_state_table(client, "medic-state")
            yield DynamoStore("medic-state", client)
    elif request.param == "azuretable":
        azurite: Azurite = request.getfixturevalue("azurite")
        table = azurite.table()
        yield AzureTableStore(table.table_name, table)
    else:
        sqlite = SqliteStore(tmp_path / "state.sqlite")
        yield sqlite
        sqlite.close()


def test_put_is_compare_and_set(store: Store) -> None:
    assert store.get("k") is None
    assert store.put("k", {"n": 1}, None, pending=False, expires=LATER)
    assert not store.put("k", {"n": 2}, None, pending=False, expires=LATER)  # exists already
    first = store.get("k")
    assert first is not None and first.value == {"n": 1}
    assert store.put("k", {"n": 2}, first.version, pending=True, expires=LATER)
    assert not store.put("k", {"n": 3}, first.version, pending=False, expires=LATER)  # stale
    second = store.get("k")
    assert second is not None and second.value == {"n": 2}
    assert store.pending() == ["k"]


def test_expired_records_and_event_ids_are_forgotten(store: Store) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    store.put("old", {"n": 1}, None, pending=True, expires=past)
    assert store.get("old") is None and store.pending() == []
    assert store.put("old", {"n": 2}, None, pending=False, expires=LATER)  # as good as absent
    store.remember(["a", "b"], LATER)
    store.remember(["c"], past)
    assert store.seen(["a", "c", "z"]) == {"a"}


def test_sqlite_state_is_shared_between_connections(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    one, two = SqliteStore(path), SqliteStore(path)
    assert one.put("k", {"n": 1}, None, pending=False, expires=LATER)
    seen = two.get("k")
    assert seen is not None and seen.value == {"n": 1}
    assert not two.put("k", {"n": 5}, None, pending=False, expires=LATER)
    two.remember(["e1"], LATER)
    assert one.seen(["e1", "e2"]) == {"e1"}


def test_state_url_names_the_store(tmp_path: Path) -> None:
    assert isinstance(open_store("memory"), MemoryStore)
    sqlite = open_store(f"sqlite:///{tmp_path}/x/state.db")
    assert isinstance(sqlite, SqliteStore) and sqlite.path == tmp_path / "x" / "state.db"
    with pytest.raises(StateConfigError, match="MEDIC_STATE=redis://x: not a store"):
        open_store("redis://x")


def test_concurrent_runs_on_one_problem_post_one_message(
    slack_api: SlackApi, tmp_path: Path
) -> None:
    env = {
        "SLACK_BOT_TOKEN": slack_api.token,
        "SLACK_CHANNEL": "C1",
        "SLACK_API_URL": slack_api.url,
    }
    path = tmp_path / "race.sqlite"

    def worker(n: int) -> None:
        store = SqliteStore(path)
        try:
            process(alerter(store, env), record(OOM, event_id=f"e{n}"))
        finally:
            store.close()

    errors = run_together(worker, 6)
    assert not errors
    assert len(slack_api.posts()) == 1
    final = SqliteStore(path)
    [key] = [k for k in final._db.execute("SELECT key FROM problems").fetchall()]
    stored = final.get(key[0])
    assert stored is not None and stored.value["alert"]["count"] == 6


@pytest.fixture(params=["dynamodb", "azuretable"])
def connect(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], Store]]:
    """Opens a new client of one shared cloud store per call, as each concurrent invocation
    does (SQLite has its own test above: its connections belong to the thread that opens them).
    moto's DynamoDB handles one request at a time, as the service applies each atomically:
    otherwise its unlocked conditional writes let two runs win one compare-and-set.
    """
    if request.param == "dynamodb":
        atomic_dynamodb(monkeypatch)
        with mock_aws():
            client = boto3.client("dynamodb", region_name="eu-west-1")
            create_state_table(client, "medic-state")
            yield lambda: DynamoStore("medic-state", client)
    else:
        azurite: Azurite = request.getfixturevalue("azurite")
        name = azurite.table().table_name
        yield lambda: AzureTableStore(
            name, TableClient.from_connection_string(azurite.connection_string, name)
        )


def test_concurrent_invocations_on_a_cloud_store_post_one_message(
    slack_api: SlackApi, connect: Callable[[], Store]
) -> None:
    env = {
        "SLACK_BOT_TOKEN": slack_api.token,
        "SLACK_CHANNEL": "C1",
        "SLACK_API_URL": slack_api.url,
    }
    keys: set[str] = set()
    stores = [connect() for _ in range(6)]  # each invocation its own client

    def worker(n: int) -> None:
        report = process(alerter(stores[n], env), record(OOM, event_id=f"e{n}"))
        keys.update(problem_key(f) for f in report.findings)

    errors = run_together(worker, 6)
    assert not errors
    assert len(slack_api.posts()) == 1
    final = connect()
    [key] = keys
    stored = final.get(key)
    assert stored is not None and stored.value["alert"]["count"] == 6
    assert final.pending() == []
    assert final.seen([f"e{n}" for n in range(7)]) == {f"e{n}" for n in range(6)}


def test_a_sqlite_store_opens_while_another_process_is_creating_it(tmp_path: Path) -> None:
    """``sqlite:///`` is documented as safe for several processes, so two workers that
    cold-start together on a new state file must both open it. Another connection holds the
    new file's write lock for half a second, as a process creating it would; opening the store
    waits for it, as every other statement of the store does."""
    path = tmp_path / "state.sqlite"
    creator = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    creator.execute("BEGIN IMMEDIATE")
    creator.execute("CREATE TABLE being_created (x)")
    release = threading.Timer(0.5, creator.execute, args=("COMMIT",))
    release.start()
    try:
        SqliteStore(path).close()
    finally:
        release.join()
        creator.close()
