"""The Azure Table Storage store against Azurite: what Table Storage makes specific (key
characters, property and transaction sizes, no TTL, ETags) and the ``azuretable://`` URL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import TableClient, TableServiceClient

from shared.state.azuretable import CONNECTION_ENV, AzureTableStore, row_key
from shared.state.factory import StateConfigError, open_store
from tests.azurite import Azurite

LATER = datetime.now(UTC) + timedelta(days=1)
PAST = datetime.now(UTC) - timedelta(minutes=1)


@pytest.fixture
def table(azurite: Azurite) -> TableClient:
    """A fresh table of its own for each test."""
    return azurite.table()


@pytest.fixture
def store(table: TableClient) -> AzureTableStore:
    return AzureTableStore(table.table_name, table)


def test_any_key_is_stored_under_a_valid_row_key(
    store: AzureTableStore, table: TableClient
) -> None:
    keys = ["a/b", "x#y?z", "back\\slash", "tab\tand\nnewline", "quote'd", "ü/日本", "k" * 5000]
    for n, key in enumerate(keys):
        assert store.put(key, {"n": n}, None, pending=True, expires=LATER)
    for n, key in enumerate(keys):
        stored = store.get(key)
        assert stored is not None and stored.value == {"n": n}
    assert sorted(store.pending()) == sorted(keys)
    rows = [e["RowKey"] for e in table.list_entities()]
    assert len(rows) == len(keys) and all(re.fullmatch(r"[0-9a-f]{64}", r) for r in rows)


def test_a_body_over_the_property_limit_is_split_and_joined(
    store: AzureTableStore, table: TableClient
) -> None:
    big = {"lines": [f"line {n}: CUDA out of memory — 😱 {'x' * 90}" for n in range(1200)]}
    assert store.put("big", big, None, pending=False, expires=LATER)
    stored = store.get("big")
    assert stored is not None and stored.value == big
    raw = table.get_entity("problem", row_key("big"))
    parts = [name for name in raw if name.startswith("body")]
    assert "body" not in raw and len(parts) > 3  # over 100 KB: several 64 KiB properties

    # Replacing it with a small body leaves no stale parts behind.
    assert store.put("big", {"n": 1}, stored.version, pending=False, expires=LATER)
    again = store.get("big")
    assert again is not None and again.value == {"n": 1}
    raw = table.get_entity("problem", row_key("big"))
    assert [name for name in raw if name.startswith("body")] == ["body"]


def test_a_body_over_the_entity_limit_is_refused_clearly(store: AzureTableStore) -> None:
    with pytest.raises(ValueError, match="a table entity holds at most"):
        store.put("huge", {"x": "y" * 600_000}, None, pending=False, expires=LATER)
    assert store.get("huge") is None


def test_many_event_ids_are_remembered_and_seen(store: AzureTableStore) -> None:
    live = [f"event/{n}#" for n in range(250)]  # over 100 per transaction, 14 per query
    gone = [f"old-{n}" for n in range(30)]
    store.remember([*live[:10], *live], LATER)  # repeats in one call are written once
    store.remember(gone, PAST)
    unknown = [f"new-{n}" for n in range(40)]
    assert store.seen([*live, *gone, *unknown]) == set(live)
    assert store.seen(live[:3]) == set(live[:3])
    assert store.seen([]) == set()


def test_sweep_deletes_expired_rows_and_keeps_live_ones(
    store: AzureTableStore, table: TableClient
) -> None:
    store.put("live", {"n": 1}, None, pending=True, expires=LATER)
    store.put("dead", {"n": 2}, None, pending=True, expires=PAST)
    store.remember([f"live-{n}" for n in range(5)], LATER)
    store.remember([f"dead-{n}" for n in range(130)], PAST)  # more than one transaction

    assert store.sweep() == 131
    assert sorted(e["key"] for e in table.list_entities()) == sorted(
        ["live", *(f"live-{n}" for n in range(5))]
    )
    assert store.pending() == ["live"]
    assert store.seen(["live-0", "dead-0"]) == {"live-0"}
    assert store.sweep() == 0
    assert store.sweep(now=LATER + timedelta(seconds=1)) == 6
    assert list(table.list_entities()) == []


def test_a_stale_etag_loses(store: AzureTableStore, azurite: Azurite, table: TableClient) -> None:
    other = AzureTableStore(
        table.table_name,
        TableClient.from_connection_string(azurite.connection_string, table.table_name),
    )
    assert store.put("k", {"n": 1}, None, pending=False, expires=LATER)
    mine, theirs = store.get("k"), other.get("k")
    assert mine is not None and theirs is not None and mine.version == theirs.version
    assert other.put("k", {"n": 2}, theirs.version, pending=True, expires=LATER)
    assert not store.put("k", {"n": 3}, mine.version, pending=False, expires=LATER)
    now = store.get("k")
    assert now is not None and now.value == {"n": 2} and now.version != mine.version


def test_a_record_deleted_meanwhile_loses_and_is_created_again(
    store: AzureTableStore, table: TableClient
) -> None:
    assert store.put("k", {"n": 1}, None, pending=False, expires=LATER)
    held = store.get("k")
    assert held is not None
    table.delete_entity("problem", row_key("k"))  # as the sweep does once it has expired
    assert not store.put("k", {"n": 2}, held.version, pending=False, expires=LATER)
    assert store.get("k") is None
    assert store.put("k", {"n": 3}, None, pending=False, expires=LATER)
    stored = store.get("k")
    assert stored is not None and stored.value == {"n": 3}


def test_an_expired_record_is_taken_over_once(store: AzureTableStore, azurite: Azurite) -> None:
    other = AzureTableStore(
        store.table, TableClient.from_connection_string(azurite.connection_string, store.table)
    )
    assert store.put("k", {"n": 1}, None, pending=True, expires=PAST)
    assert other.put("k", {"n": 2}, None, pending=False, expires=LATER)
    assert not store.put("k", {"n": 3}, None, pending=False, expires=LATER)
    stored = store.get("k")
    assert stored is not None and stored.value == {"n": 2}
    assert store.pending() == []


def test_state_url_opens_the_table_of_the_function_apps_storage(
    azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONNECTION_ENV, azurite.connection_string)
    name = azurite.table_name()
    store = open_store(f"azuretable://{name}")
    assert isinstance(store, AzureTableStore) and store.table == name
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    assert name in [t.name for t in service.list_tables()]  # created on first use
    assert store.put("k", {"n": 1}, None, pending=False, expires=LATER)
    reopened = open_store(f"azuretable://{name}")  # the table exists already: still fine
    stored = reopened.get("k")
    assert stored is not None and stored.value == {"n": 1}


@pytest.mark.parametrize(
    "table", ["", "ab", "1table", "my-table", "my_table", "a" * 64, "tables", "medic/state"]
)
def test_state_url_needs_a_valid_table_name(table: str) -> None:
    with pytest.raises(
        StateConfigError, match=f"MEDIC_STATE=azuretable://{re.escape(table)}: name the table"
    ):
        open_store(f"azuretable://{table}")


def test_state_url_without_the_storage_connection_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CONNECTION_ENV, raising=False)
    with pytest.raises(StateConfigError, match="AzureWebJobsStorage is not set"):
        open_store("azuretable://medicstate")
    monkeypatch.setenv(CONNECTION_ENV, "not a connection string")
    with pytest.raises(StateConfigError, match="AzureWebJobsStorage is not a usable connection"):
        open_store("azuretable://medicstate")


def test_unknown_state_urls_list_the_azure_form() -> None:
    with pytest.raises(StateConfigError, match="or azuretable://TABLE"):
        open_store("cosmos://x")
