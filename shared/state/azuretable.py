"""The state store on one Azure Table Storage table (``MEDIC_STATE=azuretable://TABLE``).

The table lives in the Function App's own storage account, found from the same settings the
Functions host reads for its storage; without an explicit client, the first that is set wins:

- ``AzureWebJobsStorage``: a connection string (local runs and Azurite, e.g.
  ``UseDevelopmentStorage=true``);
- ``AzureWebJobsStorage__tableServiceUri``: the table endpoint, e.g.
  ``https://ACCOUNT.table.core.windows.net``, reached with an identity;
- ``AzureWebJobsStorage__accountName``: the account, reached with an identity at
  ``https://ACCOUNT.table.core.windows.net`` (the form the Bicep deploys).

The identity is :class:`azure.identity.DefaultAzureCredential`: the app's managed identity in
Azure, the ``az login`` user locally; it needs Storage Table Data Contributor on the account.
The table is created on first use.

Layout (``RowKey`` is the SHA-256 hex digest of the key, because a ``RowKey`` may not contain
``/ \\ # ?`` or control characters and is limited to 1 KiB; the original key is kept in the
``key`` property):

- partition ``problem``: a problem record, with ``body`` (JSON), ``pending`` (bool),
  ``expires_at`` (UTC datetime) and ``writer`` (the token of the write that stored it, see
  below). A string property holds at most 32K UTF-16 characters, so a longer body is split
  across ``body0`` … ``bodyN`` and joined on read; the whole entity is limited to 1 MiB.
- partition ``event``: a processed event id, with ``key`` and ``expires_at``.

Compare-and-set uses the entity's ETag as the version: creating fails when the entity exists,
and replacing is conditional on the ETag read (``If-Match``), never read-then-write, so two
concurrent Function invocations cannot both win. An expired record is taken over by a replace
conditional on its ETag, so even the takeover has a single winner.

Each create or replace stores a fresh random ``writer`` token, as the DynamoDB store does. When
Table Storage applied a write but its answer was lost (a dropped connection, a timeout, a 500
``OperationTimedOut``), the SDK sends it again, and the resend fails against the write itself:
a create with 409 (the entity exists), a replace with 412 (the ETag changed). The failure alone
cannot tell this from another writer's win, so the store reads the entity: if it holds this
write's token, the write is reported as the success it was, and the caller does not apply its
change a second time (counting the same events twice). The token is 128 random bits made for
one write and sent only in that write's requests, so no other write can have stored it: a match
proves that this write applied, conditional on the version it was given, so each version still
has a single winner. A mismatch is reported as a lost race, and the caller reads again and
retries. One case remains: if another writer replaced the entity after this write applied and
before the store read it, the write is reported as lost though it applied, and the caller
applies its change again; that takes another write to the same record within the SDK's retry
interval. The store keeps no ETag of its own: after a put, the caller reads the record again
for its next version.

Table Storage has no TTL and no secondary index: reads skip expired entities themselves,
:meth:`AzureTableStore.pending` scans the ``problem`` partition, and :meth:`AzureTableStore.sweep`
deletes expired entities; the periodic Azure timer function calls it so that the table does
not grow forever.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.state.base import Versioned

if TYPE_CHECKING:
    from azure.data.tables import TableClient, TableEntity

#: The Function App setting with its storage account's connection string.
CONNECTION_ENV = "AzureWebJobsStorage"
#: The table endpoint of an identity-based host storage connection.
TABLE_URI_ENV = f"{CONNECTION_ENV}__tableServiceUri"
#: The account of an identity-based host storage connection (public cloud endpoints).
ACCOUNT_ENV = f"{CONNECTION_ENV}__accountName"
PROBLEM = "problem"
EVENT = "event"
#: The property holding the random token of the write that stored a problem record.
WRITER = "writer"
#: Characters per ``body`` property: JSON is ASCII, so 30,000 characters are 60,000 bytes
#: in UTF-16, under the 64 KiB property limit.
CHUNK = 30_000
#: Body characters that fit in one entity (1 MiB, UTF-16) with room for the other properties.
MAX_BODY = 500_000
#: Row keys per query: a filter allows 15 comparisons, one of them is the partition.
KEYS_PER_QUERY = 14
#: Operations per entity group transaction.
TRANSACTION = 100
#: Parallel queries in :meth:`AzureTableStore.seen`.
WORKERS = 8

_created: set[tuple[str, str]] = set()
_created_lock = threading.Lock()


def row_key(key: str) -> str:
    """The ``RowKey`` for ``key``: a digest, valid whatever characters or length ``key`` has."""
    return hashlib.sha256(key.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _expired(entity: Mapping[str, Any], now: datetime) -> bool:
    expires = entity.get("expires_at")
    return not isinstance(expires, datetime) or expires <= now


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _body_properties(value: dict[str, Any]) -> dict[str, str]:
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    if len(body) > MAX_BODY:
        raise ValueError(
            f"record is {len(body)} characters of JSON; a table entity holds at most {MAX_BODY}"
        )
    if len(body) <= CHUNK:
        return {"body": body}
    return {
        f"body{n}": body[start : start + CHUNK]
        for n, start in enumerate(range(0, len(body), CHUNK))
    }


def _read_body(entity: Mapping[str, Any]) -> dict[str, Any]:
    if "body" in entity:
        body = str(entity["body"])
    else:
        parts: list[str] = []
        while f"body{len(parts)}" in entity:
            parts.append(str(entity[f"body{len(parts)}"]))
        body = "".join(parts)
    value: dict[str, Any] = json.loads(body)
    return value


def _is_conflict(exc: Exception) -> bool:
    """Whether ``exc`` says the entity changed (412) or vanished (404) since it was read."""
    return getattr(exc, "status_code", None) in (404, 412)


def _signed(entity: Mapping[str, Any]) -> dict[str, Any]:
    """``entity`` with a fresh :data:`WRITER` token, made for one write (see the module
    docstring); the SDK's resends of that write carry the same token."""
    return {**entity, WRITER: secrets.token_hex(16)}


def _written_by(current: Mapping[str, Any] | None, entity: Mapping[str, Any]) -> bool:
    """Whether ``current``, the entity as read after a write failed, is what the write of
    ``entity`` stored: its earlier, applied attempt, whose answer was lost."""
    return current is not None and current.get(WRITER) == entity[WRITER]


class AzureTableStore:
    """:class:`~shared.state.base.Store` on an Azure Storage table (see the module docstring)."""

    def __init__(self, table: str, client: TableClient | None = None) -> None:
        if client is None:
            client = _client_from_environment(table)
        self.table = table
        self._table = client

    def get(self, key: str) -> Versioned | None:
        entity = self._read(key)
        if entity is None or _expired(entity, _now()):
            return None
        return Versioned(_read_body(entity), entity.metadata["etag"])

    def put(
        self,
        key: str,
        value: dict[str, Any],
        version: object | None,
        *,
        pending: bool,
        expires: datetime,
    ) -> bool:
        from azure.core.exceptions import ResourceExistsError

        fields: dict[str, Any] = {
            "PartitionKey": PROBLEM,
            "RowKey": row_key(key),
            "key": key,
            "pending": pending,
            "expires_at": expires.astimezone(UTC),
            **_body_properties(value),
        }
        if version is not None:
            return self._replace(key, fields, str(version))
        # A record swept away between the failed create and the read: create again, a few times.
        for _ in range(3):
            entity = _signed(fields)
            try:
                self._table.create_entity(entity)
                return True
            except ResourceExistsError:
                pass
            current = self._read(key)
            if current is None:
                continue
            if _written_by(current, entity):  # this create, resent after its answer was lost
                return True
            if not _expired(current, _now()):
                return False
            return self._replace(key, fields, str(current.metadata["etag"]))
        return False

    def pending(self) -> list[str]:
        entities = self._table.query_entities(
            "PartitionKey eq @partition and pending eq @yes and expires_at gt @now",
            parameters={"partition": PROBLEM, "yes": True, "now": _now()},
            select=["key", "expires_at"],
        )
        now = _now()
        return [str(e["key"]) for e in entities if not _expired(e, now)]

    def seen(self, ids: Collection[str]) -> set[str]:
        by_row = {row_key(i): i for i in ids}
        chunks = list(_chunks(list(by_row), KEYS_PER_QUERY))
        if len(chunks) <= 1:
            rows = [row for chunk in chunks for row in self._live_rows(chunk)]
        else:
            with ThreadPoolExecutor(max_workers=min(WORKERS, len(chunks))) as pool:
                rows = [row for found in pool.map(self._live_rows, chunks) for row in found]
        return {by_row[row] for row in rows}

    def remember(self, ids: Iterable[str], expires: datetime) -> None:
        from azure.data.tables import UpdateMode

        until = expires.astimezone(UTC)
        unique = list(dict.fromkeys(ids))
        for chunk in _chunks(unique, TRANSACTION):
            self._table.submit_transaction(
                [
                    (
                        "upsert",
                        {
                            "PartitionKey": EVENT,
                            "RowKey": row_key(i),
                            "key": i,
                            "expires_at": until,
                        },
                        {"mode": UpdateMode.REPLACE},
                    )
                    for i in chunk
                ]
            )

    def sweep(self, now: datetime | None = None) -> int:
        """Delete the entities of both partitions that expired by ``now``; how many went.

        Table Storage has no TTL, so the Azure timer function calls this. Each delete is
        conditional on the ETag read, so a record taken over (or an event id remembered again)
        meanwhile stays.
        """
        from azure.core import MatchConditions
        from azure.data.tables import TableTransactionError

        when = (now or _now()).astimezone(UTC)
        deleted = 0
        for partition in (PROBLEM, EVENT):
            expired = [
                (str(e["RowKey"]), str(e.metadata["etag"]))
                for e in self._table.query_entities(
                    "PartitionKey eq @partition and expires_at le @now",
                    parameters={"partition": partition, "now": when},
                    select=["RowKey"],
                )
            ]
            for start in range(0, len(expired), TRANSACTION):
                batch = expired[start : start + TRANSACTION]
                try:
                    self._table.submit_transaction(
                        [
                            (
                                "delete",
                                {"PartitionKey": partition, "RowKey": row},
                                {"etag": etag, "match_condition": MatchConditions.IfNotModified},
                            )
                            for row, etag in batch
                        ]
                    )
                    deleted += len(batch)
                except TableTransactionError:
                    # One entity changed or went meanwhile, which fails the whole
                    # transaction: delete the batch one by one, skipping those.
                    deleted += sum(self._delete(partition, row, etag) for row, etag in batch)
        return deleted

    def _read(self, key: str) -> TableEntity | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._table.get_entity(PROBLEM, row_key(key))
        except ResourceNotFoundError:
            return None

    def _replace(self, key: str, fields: dict[str, Any], etag: str) -> bool:
        """Replace the record ``key`` with ``fields`` if it is still at ``etag``."""
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError
        from azure.data.tables import UpdateMode

        entity = _signed(fields)
        try:
            self._table.update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except HttpResponseError as exc:
            if _is_conflict(exc):
                # Another writer's change, or this replace, resent after its answer was lost.
                return _written_by(self._read(key), entity)
            raise
        return True

    def _delete(self, partition: str, row: str, etag: str) -> bool:
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError

        try:
            self._table.delete_entity(
                partition, row, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except HttpResponseError as exc:
            if _is_conflict(exc):
                return False
            raise
        return True

    def _live_rows(self, rows: list[str]) -> list[str]:
        """Which of ``rows`` (at most :data:`KEYS_PER_QUERY`) are unexpired event ids."""
        # The SDK substitutes parameters in space-separated words: keep "(" and ")" apart.
        names = [f"k{n}" for n in range(len(rows))]
        query = "PartitionKey eq @partition and ( {} )".format(
            " or ".join(f"RowKey eq @{name}" for name in names)
        )
        now = _now()
        return [
            str(e["RowKey"])
            for e in self._table.query_entities(
                query,
                parameters={"partition": EVENT, **dict(zip(names, rows, strict=True))},
                select=["RowKey", "expires_at"],
            )
            if not _expired(e, now)
        ]


def _client_from_environment(table: str) -> TableClient:
    """A client for ``table`` in the account the host storage settings name (see the module
    docstring); creates the table once per process, so that a fresh deployment needs no setup
    step."""
    from azure.core.exceptions import ResourceExistsError

    client = _build_client(table)
    with _created_lock:
        if (client.url, table) not in _created:
            with contextlib.suppress(ResourceExistsError):
                client.create_table()
            _created.add((client.url, table))
    return client


def _build_client(table: str) -> TableClient:
    from azure.data.tables import TableClient

    from shared.state.factory import StateConfigError

    connection = os.environ.get(CONNECTION_ENV)
    if connection:
        try:
            return TableClient.from_connection_string(connection, table)
        except ValueError as exc:
            raise StateConfigError(
                f"azuretable://{table}: {CONNECTION_ENV} is not a usable connection string ({exc})"
            ) from exc
    endpoint, setting = os.environ.get(TABLE_URI_ENV), TABLE_URI_ENV
    if not endpoint:
        account, setting = os.environ.get(ACCOUNT_ENV), ACCOUNT_ENV
        if not account:
            raise StateConfigError(
                f"azuretable://{table}: none of {CONNECTION_ENV}, {TABLE_URI_ENV} and "
                f"{ACCOUNT_ENV} is set; set the storage account's connection string in "
                f"{CONNECTION_ENV}, or its table endpoint or name (reached with the app's "
                "identity) in one of the others"
            )
        endpoint = f"https://{account}.table.core.windows.net"
    from azure.identity import DefaultAzureCredential

    try:
        return TableClient(endpoint, table, credential=DefaultAzureCredential())
    except ValueError as exc:  # not a URL, or not HTTPS (a token needs HTTPS)
        raise StateConfigError(
            f"azuretable://{table}: {setting} does not give a usable HTTPS table endpoint ({exc})"
        ) from exc
