"""A store that lives as long as the process: for ``medic replay`` without ``--send`` and tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import Any

from shared.state.base import Versioned


class MemoryStore:
    """Thread-safe in-memory :class:`~shared.state.base.Store`. Values are kept as JSON text,
    as the durable stores keep them, so a caller never shares a value with the store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, tuple[str, int, bool, datetime]] = {}
        self._events: dict[str, datetime] = {}

    def get(self, key: str) -> Versioned | None:
        with self._lock:
            row = self._records.get(key)
            if row is None or row[3] <= datetime.now(UTC):
                return None
            return Versioned(json.loads(row[0]), row[1])

    def put(
        self,
        key: str,
        value: dict[str, Any],
        version: object | None,
        *,
        pending: bool,
        expires: datetime,
    ) -> bool:
        with self._lock:
            row = self._records.get(key)
            current = row[1] if row is not None and row[3] > datetime.now(UTC) else None
            if current != version:
                return False
            self._records[key] = (
                json.dumps(value),
                (row[1] if row else 0) + 1,
                pending,
                expires,
            )
            return True

    def pending(self) -> list[str]:
        with self._lock:
            now = datetime.now(UTC)
            return [key for key, row in self._records.items() if row[2] and row[3] > now]

    def seen(self, ids: Collection[str]) -> set[str]:
        now = datetime.now(UTC)
        with self._lock:
            return {i for i in ids if self._events.get(i, now) > now}

    def remember(self, ids: Iterable[str], expires: datetime) -> None:
        with self._lock:
            for i in ids:
                self._events[i] = expires
