"""AWS event shapes to log records: CloudWatch Logs subscription deliveries and EventBridge
"SageMaker Endpoint State Change" events. Pure functions, no AWS SDK: the Lambda handler and
``medic replay`` share them, so a recorded event replays exactly as it ran.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from shared.model import LogRecord
from shared.naming import parse_time, sagemaker_endpoint, sagemaker_stream

STATE_CHANGE = "SageMaker Endpoint State Change"
#: Given one stream's messages in order, the indices of those worth classifying.
Relevance = Callable[[Sequence[str]], Iterable[int]]


class DecodeError(ValueError):
    """A delivery that cannot be decoded; the message says which layer failed."""


def decode_awslogs(event: dict[str, Any]) -> dict[str, Any]:
    """``{"awslogs": {"data": base64(gzip(json))}}`` to the subscription payload it carries."""
    data = event.get("awslogs", {}).get("data") if isinstance(event.get("awslogs"), dict) else None
    if not isinstance(data, str):
        raise DecodeError("awslogs.data: missing or not a string")
    try:
        packed = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError(f"awslogs.data: not valid base64 ({exc})") from None
    try:
        raw = gzip.decompress(packed)
    except (OSError, EOFError, zlib.error) as exc:
        raise DecodeError(f"awslogs.data: not valid gzip ({exc})") from None
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise DecodeError(f"awslogs.data: gzip content is not valid JSON ({exc})") from None
    except RecursionError:
        raise DecodeError("awslogs.data: gzip content is JSON nested too deeply") from None
    if not isinstance(payload, dict):
        raise DecodeError("awslogs.data: payload is not a JSON object")
    # Checked here, where callers handle DecodeError, not when the records are read.
    if payload.get("messageType") != "CONTROL_MESSAGE" and not isinstance(
        payload.get("logEvents"), list
    ):
        raise DecodeError("awslogs.data: logEvents missing or not a list")
    return payload


def records_from_logs(
    payload: dict[str, Any], relevant: Relevance | None = None
) -> Iterator[LogRecord]:
    """Records of a decoded subscription payload; control messages carry none.

    A payload holds one log stream. With ``relevant`` (a classifier's prefilter), records are
    made only of the messages it picks, so healthy lines cost no per-line work.
    """
    if payload.get("messageType") == "CONTROL_MESSAGE":
        return
    group = str(payload.get("logGroup") or "")
    stream = str(payload.get("logStream") or "")
    endpoint = sagemaker_endpoint(group)
    where = sagemaker_stream(stream) if endpoint else {}
    account = payload.get("owner") if isinstance(payload.get("owner"), str) else None
    events = payload.get("logEvents")
    if not isinstance(events, list):
        raise DecodeError(f"{group or 'payload'}: logEvents missing or not a list")
    items, messages = _with_messages(events)
    if relevant is not None:
        items = [items[n] for n in relevant(messages)]
    for item in items:
        yield LogRecord(
            message=item["message"],
            cloud="aws",
            endpoint=endpoint,
            timestamp=parse_time(item.get("timestamp")),
            source=group or None,
            stream=stream or None,
            event_id=str(item["id"]) if item.get("id") is not None else None,
            account=account,
            variant=where.get("variant"),
            instance=where.get("instance"),
            container=where.get("container"),
        )


_MESSAGE = itemgetter("message")


def _with_messages(events: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The log events that carry a text message, and those messages. Anything else in the
    list (not an object, no message, a message that is not text) is left out."""
    try:
        messages = list(map(_MESSAGE, events))  # as CloudWatch sends them
        if set(map(type, messages)) <= {str}:
            return events, messages
    except (TypeError, KeyError):
        pass
    items = [i for i in events if isinstance(i, dict) and isinstance(i.get("message"), str)]
    return items, [i["message"] for i in items]


def records_from_state_change(event: dict[str, Any]) -> Iterator[LogRecord]:
    """A FAILED endpoint's FailureReason as a record of that endpoint; other states carry none."""
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise DecodeError("detail: missing or not an object")
    if str(detail.get("EndpointStatus", "")).upper() != "FAILED":
        return
    reason = (
        detail.get("FailureReason") or "Endpoint entered the FAILED state with no reason given."
    )
    variants = detail.get("ProductionVariants")
    variant = None
    if isinstance(variants, list) and len(variants) == 1 and isinstance(variants[0], dict):
        variant = variants[0].get("VariantName")
    yield LogRecord(
        message=str(reason),
        cloud="aws",
        endpoint=_text(detail.get("EndpointName")),
        variant=_text(variant),
        timestamp=parse_time(event.get("time")),
        source="aws.sagemaker",
        stream=_text(detail.get("EndpointName")),
        event_id=_text(event.get("id")),
        region=_text(event.get("region")),
        account=_text(event.get("account")),
    )


def _text(value: Any) -> str | None:
    """A field AWS documents as a string, or ``None``: a list or object there would break
    grouping (records are grouped by these fields) and templates further on."""
    return value if isinstance(value, str) and value else None


def is_awslogs(event: Any) -> bool:
    """A CloudWatch Logs subscription delivery, still encoded."""
    return isinstance(event, dict) and "awslogs" in event


def is_logs_payload(event: Any) -> bool:
    """A CloudWatch Logs subscription payload, already decoded."""
    return isinstance(event, dict) and "logEvents" in event and "messageType" in event


def is_state_change(event: Any) -> bool:
    """An EventBridge SageMaker endpoint state change."""
    return isinstance(event, dict) and event.get("detail-type") == STATE_CHANGE


def is_kinesis(event: Any) -> bool:
    """A Kinesis Data Streams batch (CloudWatch Logs subscriptions to a stream)."""
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        isinstance(records, list)
        and bool(records)
        and isinstance(records[0], dict)
        and "kinesis" in records[0]
    )


def kinesis_payload(item: dict[str, Any]) -> dict[str, Any]:
    """The subscription payload one Kinesis record carries (base64 of gzip of JSON)."""
    data = item.get("kinesis", {}).get("data") if isinstance(item.get("kinesis"), dict) else None
    return decode_awslogs({"awslogs": {"data": data}})


def endpoint_status(event: dict[str, Any]) -> tuple[str | None, str]:
    """The endpoint name and status (upper case) of a state-change event."""
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return None, ""
    name = detail.get("EndpointName")
    return (str(name) if name else None), str(detail.get("EndpointStatus", "")).upper()
