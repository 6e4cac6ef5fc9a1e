"""A store in one SQLite file: the local default, shared safely by concurrent processes.

Compare-and-set is a single conditional ``UPDATE``/``INSERT`` whose row count says whether it
won; SQLite serialises writers, and WAL mode lets readers proceed meanwhile.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.state.base import Versioned

_SCHEMA = """
CREATE TABLE IF NOT EXISTS problems (
    key TEXT PRIMARY KEY, version INTEGER NOT NULL, pending INTEGER NOT NULL,
    expires REAL NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS problems_pending ON problems (pending) WHERE pending = 1;
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, expires REAL NOT NULL);
"""


#: Seconds a statement waits for another connection's lock before failing.
LOCK_TIMEOUT = 30


def _now() -> float:
    return datetime.now(UTC).timestamp()


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch the file to WAL. SQLite answers this one "database is locked" at once, without
    its busy timeout, while another process creates the file, so it is retried here."""
    deadline = time.monotonic() + LOCK_TIMEOUT
    delay = 0.01
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


class SqliteStore:
    """:class:`~shared.state.base.Store` in an SQLite database file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT, isolation_level=None)
        _use_wal(self._db)
        self._db.executescript(_SCHEMA)
        now = _now()
        self._db.execute("DELETE FROM problems WHERE expires <= ?", (now,))
        self._db.execute("DELETE FROM events WHERE expires <= ?", (now,))

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def get(self, key: str) -> Versioned | None:
        row = self._db.execute(
            "SELECT body, version FROM problems WHERE key = ? AND expires > ?", (key, _now())
        ).fetchone()
        return Versioned(json.loads(row[0]), row[1]) if row else None

    def put(
        self,
        key: str,
        value: dict[str, Any],
        version: object | None,
        *,
        pending: bool,
        expires: datetime,
    ) -> bool:
        body = json.dumps(value, separators=(",", ":"))
        args = (body, int(pending), expires.timestamp())
        if version is None:
            # Absent, or present but expired (then it is as good as absent).
            cursor = self._db.execute(
                "INSERT INTO problems (key, version, pending, expires, body) "
                "VALUES (?, 1, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "version = version + 1, pending = excluded.pending, "
                "expires = excluded.expires, body = excluded.body "
                "WHERE problems.expires <= ?",
                (key, args[1], args[2], body, _now()),
            )
        else:
            cursor = self._db.execute(
                "UPDATE problems SET body = ?, pending = ?, expires = ?, version = version + 1 "
                "WHERE key = ? AND version = ?",
                (*args, key, version),
            )
        return cursor.rowcount == 1

    def pending(self) -> list[str]:
        rows = self._db.execute(
            "SELECT key FROM problems WHERE pending = 1 AND expires > ?", (_now(),)
        ).fetchall()
        return [row[0] for row in rows]

    def seen(self, ids: Collection[str]) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT id FROM events WHERE expires > ? AND id IN ({marks})",
                (_now(), *chunk),
            ).fetchall()
            found.update(row[0] for row in rows)
        return found

    def remember(self, ids: Iterable[str], expires: datetime) -> None:
        until = expires.timestamp()
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO events (id, expires) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET expires = excluded.expires",
                ((i, until) for i in ids),
            )
