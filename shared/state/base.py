"""The state store port: versioned records with compare-and-set, plus delivered event ids.

Every implementation gives the same guarantee: :meth:`Store.put` succeeds only when the record
is still at the version the caller read (or still absent), so two concurrent runs can never
both decide to post the first message of a problem. Values are JSON-ready dicts; versions are
opaque tokens (a counter, an ETag).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, NamedTuple, Protocol


class Versioned(NamedTuple):
    """A stored value and the version token to pass back to :meth:`Store.put`."""

    value: dict[str, Any]
    version: object


class Store(Protocol):
    """Persistence for problem records and delivered event ids."""

    def get(self, key: str) -> Versioned | None:
        """The record stored under ``key``, or ``None``."""
        ...

    def put(
        self,
        key: str,
        value: dict[str, Any],
        version: object | None,
        *,
        pending: bool,
        expires: datetime,
    ) -> bool:
        """Store ``value`` if the record is still at ``version`` (``None``: still absent).

        ``pending`` marks records with undelivered messages (see :meth:`pending`); ``expires``
        is when the record may be forgotten. Returns ``False`` when another writer got there
        first; the caller reads again and retries.
        """
        ...

    def pending(self) -> list[str]:
        """Keys of records that still have messages to deliver."""
        ...

    def seen(self, ids: Collection[str]) -> set[str]:
        """Which of ``ids`` were remembered as already processed."""
        ...

    def remember(self, ids: Iterable[str], expires: datetime) -> None:
        """Remember event ids as processed until ``expires``."""
        ...
