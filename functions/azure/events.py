"""Azure Monitor diagnostic records of Azure ML online endpoints to log records.

Diagnostic settings streaming to Event Hubs deliver ``{"records": [...]}``: one event, many
records, each with a ``category``. Console and event logs carry a message; a traffic log row is
turned into one status line (``POST /score returned 424 (...); model status 500 (...)``) that the
HTTP-status rules read. Other categories are counted as skipped, never failed.

Console and event log records carry no id of their own, so each gets one from its content
(resource, time, instance, container, message): Event Hubs redeliveries and overlapping Log
Analytics polls then name the same line by the same id, and the pipeline skips it. Traffic rows
use their request id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.model import LogRecord
from shared.naming import azure_resource, parse_time

CONSOLE = "AmlOnlineEndpointConsoleLog"
TRAFFIC = "AmlOnlineEndpointTrafficLog"
EVENTS = "AmlOnlineEndpointEventLog"
CATEGORIES = (CONSOLE, TRAFFIC, EVENTS)


@dataclass
class BatchReport:
    """What a diagnostic batch held besides usable records."""

    skipped: dict[str, int] = field(default_factory=dict)
    bad: list[str] = field(default_factory=list)


def _props(record: dict[str, Any]) -> dict[str, Any]:
    props = record.get("properties")
    if isinstance(props, str):
        try:
            props = json.loads(props)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to parse
            return {}
    return props if isinstance(props, dict) else {}


def _get(props: dict[str, Any], *names: str) -> Any:
    for name in names:
        if props.get(name) not in (None, ""):
            return props[name]
    return None


def _text(value: Any) -> str | None:
    """A field that names where a record came from, as text or ``None``: a list or object
    there would break grouping (records are grouped by these fields) and templates."""
    if value is None or isinstance(value, bool | list | dict):
        return None
    return str(value) or None


def traffic_line(props: dict[str, Any]) -> str:
    """A traffic log row as one line, in the shape the HTTP-status rules match."""
    method = _get(props, "Method", "method") or "POST"
    path = _get(props, "Path", "path") or "/score"
    code = _get(props, "ResponseCode", "responseCode")
    reason = _get(props, "ResponseCodeReason", "responseCodeReason") or ""
    model = _get(props, "ModelStatusCode", "modelStatusCode")
    model_reason = _get(props, "ModelStatusReason", "modelStatusReason") or ""
    line = f"{method} {path} returned {code} ({reason})"
    if model is not None:
        line += f"; model status {model} ({model_reason})"
    return line


def records_from_diagnostics(
    batch: Any, report: BatchReport, where: str = "event"
) -> Iterator[LogRecord]:
    """Records of one Event Hub event; unusable records are reported with their index."""
    items = batch.get("records") if isinstance(batch, dict) else None
    if not isinstance(items, list):
        report.bad.append(f"{where}: no 'records' list")
        return
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            report.bad.append(f"{where}: records[{index}] is not an object")
            continue
        category = str(item.get("category") or item.get("Category") or "")
        if category not in CATEGORIES:
            report.skipped[category or "(none)"] = report.skipped.get(category or "(none)", 0) + 1
            continue
        props = _props(item)
        if category == TRAFFIC:
            message: Any = traffic_line(props)
        else:
            message = _get(props, "Message", "message")
        if not isinstance(message, str):
            report.bad.append(f"{where}: records[{index}] ({category}) has no message")
            continue
        resource = _text(item.get("resourceId") or item.get("ResourceId")) or ""
        location = azure_resource(str(resource))
        timestamp = parse_time(item.get("time") or _get(props, "TimeGenerated"))
        instance = _text(_get(props, "InstanceId"))
        container = _text(_get(props, "ContainerName"))
        request_id = _get(props, "XRequestId") if category == TRAFFIC else None
        yield LogRecord(
            message=message,
            cloud="azure",
            endpoint=_text(_get(props, "EndpointName")) or location.get("endpoint"),
            deployment=_text(_get(props, "DeploymentName")) or location.get("deployment"),
            instance=instance,
            container=container,
            timestamp=timestamp,
            source=str(resource) or None,
            stream=category,
            event_id=str(request_id)
            if request_id
            else content_id(category, str(resource), timestamp, instance, container, message),
            region=_text(item.get("location") or _get(props, "Location")),
        )


def content_id(category: str, resource: str, *parts: object) -> str:
    """A stable id for a record without one: the same line read twice gets the same id."""
    text = "\x1f".join(
        [category, resource.lower()]
        + [p.isoformat() if isinstance(p, datetime) else str(p or "") for p in parts]
    )
    return "az-" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:40]


def is_diagnostic_batch(event: Any) -> bool:
    """An Azure Monitor diagnostic batch as Event Hubs delivers it."""
    return isinstance(event, dict) and isinstance(event.get("records"), list)
