"""Reading Azure ML online endpoint logs back from a Log Analytics workspace.

One query unions the three endpoint tables over a time window; traffic rows are narrowed to
failed requests in the query, so healthy traffic never leaves the workspace. Each row is shaped
as the diagnostic record Event Hubs would have delivered for it, so both paths share one decoder
(and one event id per line, which makes overlapping windows harmless).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.azure.events import CATEGORIES, TRAFFIC

if TYPE_CHECKING:
    from azure.monitor.query import LogsQueryClient

#: Rows read per query at most; a fuller window is read on in the next run.
ROW_LIMIT = 20_000
#: When a read stops at the row limit, its last seconds are left for the next read, so a
#: traceback written across the cut is read whole (its lines are milliseconds apart).
HOLD_BACK = timedelta(seconds=5)


def query_text(start: datetime, end: datetime, limit: int = ROW_LIMIT) -> str:
    """KQL for the endpoint rows in ``[start, end)``, oldest first. ``isfuzzy`` lets a workspace
    that lacks one of the tables (no traffic yet, say) still answer for the others."""
    legs = []
    for table in CATEGORIES:
        leg = table
        if table == TRAFFIC:
            leg += " | where toint(ResponseCode) >= 400 or toint(ModelStatusCode) >= 400"
        legs.append(f'({leg} | extend Category = "{table}", ResourceId = _ResourceId)')
    return (
        f"union isfuzzy=true {', '.join(legs)}\n"
        f"| where TimeGenerated >= datetime({_kql_time(start)})"
        f" and TimeGenerated < datetime({_kql_time(end)})\n"
        f"| sort by TimeGenerated asc\n"
        f"| take {int(limit)}"
    )


def _kql_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_diagnostic(row: Mapping[str, Any]) -> dict[str, Any]:
    """A workspace row in the shape of a diagnostic record (category, resource id, time,
    properties)."""
    return {
        "category": row.get("Category"),
        "resourceId": row.get("ResourceId") or row.get("_ResourceId"),
        "time": row.get("TimeGenerated"),
        "properties": {k: v for k, v in row.items() if v not in (None, "")},
    }


@dataclass
class Fetched:
    """One query's rows (as diagnostic records) and what the caller must know about them."""

    records: list[dict[str, Any]] = field(default_factory=list)
    partial_error: str | None = None
    #: Set when the row limit was reached: where the next read must start.
    truncated_at: datetime | None = None


def fetch(
    client: LogsQueryClient,
    workspace_id: str,
    start: datetime,
    end: datetime,
    limit: int | None = None,
) -> Fetched:
    """The endpoint rows of ``workspace_id`` in ``[start, end)``. A partial answer is used, and
    its error returned for reporting; a failed query raises the SDK's ``HttpResponseError``."""
    from azure.monitor.query import LogsQueryStatus

    limit = limit or ROW_LIMIT
    answer = client.query_workspace(
        workspace_id, query_text(start, end, limit), timespan=(start, end)
    )
    fetched = Fetched()
    if answer.status == LogsQueryStatus.PARTIAL:
        tables = answer.partial_data
        error = answer.partial_error
        fetched.partial_error = f"{error.code}: {error.message}" if error else "partial result"
    else:
        tables = answer.tables
    rows = [dict(zip(table.columns, row, strict=False)) for table in tables for row in table.rows]
    if len(rows) >= limit:
        rows, fetched.truncated_at = _hold_back(rows)
    fetched.records = [as_diagnostic(row) for row in rows]
    return fetched


def _hold_back(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], datetime | None]:
    """The rows of a full read to use now, and where the next read starts: the last
    :data:`HOLD_BACK` of rows waits for it (unless that would be every row)."""
    times = [row.get("TimeGenerated") for row in rows]
    last = times[-1]
    if not isinstance(last, datetime):
        return rows, None
    cutoff = last - HOLD_BACK
    keep = sum(1 for t in times if isinstance(t, datetime) and t < cutoff)
    if keep == 0:
        return rows, last
    return rows[:keep], times[keep] if isinstance(times[keep], datetime) else last
