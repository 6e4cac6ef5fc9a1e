"""Where the Log Analytics poller got to, kept in the state store beside the alerts.

The next window starts ``lookback`` before the checkpoint, because rows reach a workspace
minutes after they were written; the overlap is read twice and the pipeline's event-id memory
drops what was already seen. When a run stopped at its row limit, the next one starts exactly
at the last row it read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.naming import parse_time
from shared.state.base import Store

#: A poller that was stopped longer than this does not read further back: event ids are
#: remembered for two days, and re-reading older rows could alert on them again.
MAX_CATCH_UP = timedelta(days=1)
#: How long a checkpoint outlives its last run.
KEEP = timedelta(days=7)


@dataclass(frozen=True)
class Checkpoint:
    """The end of the last window read; ``exact`` when that run was cut short by its row limit."""

    until: datetime
    exact: bool = False


def _key(workspace_id: str) -> str:
    return f"poll#{workspace_id}"


def load(store: Store, workspace_id: str) -> Checkpoint | None:
    """The workspace's checkpoint, if one was saved (and is readable)."""
    stored = store.get(_key(workspace_id))
    until = parse_time(stored.value.get("until")) if stored else None
    if stored is None or until is None:
        return None
    return Checkpoint(until, bool(stored.value.get("exact")))


def window_start(previous: Checkpoint | None, now: datetime, lookback: timedelta) -> datetime:
    """Where the next read starts (see the module docstring)."""
    if previous is None:
        start = now - lookback
    elif previous.exact:
        start = previous.until
    else:
        start = previous.until - lookback
    return max(start, now - MAX_CATCH_UP)


def save(store: Store, workspace_id: str, checkpoint: Checkpoint) -> bool:
    """Record ``checkpoint`` unless a later one is stored already (a concurrent run)."""
    for _ in range(5):
        stored = store.get(_key(workspace_id))
        if stored is not None:
            until = parse_time(stored.value.get("until"))
            if until is not None and until >= checkpoint.until:
                return False
        value = {"until": checkpoint.until.isoformat(), "exact": checkpoint.exact}
        expires = checkpoint.until + KEEP
        if store.put(
            _key(workspace_id),
            value,
            stored.version if stored else None,
            pending=False,
            expires=expires,
        ):
            return True
    return False
