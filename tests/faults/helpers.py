"""What the fault tests share: the faults real services answer with, request predicates for
scripting them, and counts of what a chat service actually accepted."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from tests.chat_servers import SlackApi
from tests.faults.proxy import Fault, Request

_ids = itertools.count(1)


def event_id() -> str:
    """An event id no other run of the session uses (so no run is taken for a redelivery)."""
    return f"ev-{next(_ids)}"


# -- request predicates ------------------------------------------------------------------------


def slack_post(request: Request) -> bool:
    """A top-level ``chat.postMessage`` (not a thread reply)."""
    return request.path.endswith("/chat.postMessage") and b'"thread_ts"' not in request.body


def slack_reply(request: Request) -> bool:
    """A thread reply (``chat.postMessage`` with ``thread_ts``)."""
    return request.path.endswith("/chat.postMessage") and b'"thread_ts"' in request.body


def slack_update(request: Request) -> bool:
    """A ``chat.update``."""
    return request.path.endswith("/chat.update")


def path_under(prefix: str) -> Callable[[Request], bool]:
    """Requests whose path starts with ``prefix`` (one webhook among several on a server)."""
    return lambda request: request.path.startswith(prefix)


def dynamodb(*operations: str) -> Callable[[Request], bool]:
    """DynamoDB requests for any of ``operations`` (``PutItem``, ``GetItem``, …)."""
    return lambda request: request.operation in operations


def table_write(request: Request) -> bool:
    """A Table Storage request that writes an entity (create, replace, batch)."""
    return request.method in ("POST", "PUT", "MERGE", "PATCH", "DELETE")


# -- faults as the real services answer them ---------------------------------------------------


def slack_ratelimited(retry_after: int, matches: Callable[[Request], bool]) -> Fault:
    """Slack's Web API rate limit: HTTP 429, ``Retry-After`` in seconds, ``ratelimited``."""
    return Fault(
        status=429,
        body=json.dumps({"ok": False, "error": "ratelimited"}),
        headers={"Retry-After": str(retry_after), "Content-Type": "application/json"},
        matches=matches,
    )


def http_error(status: int, matches: Callable[[Request], bool] | None = None) -> Fault:
    """A bare gateway or server error page (what a load balancer in front answers)."""
    body = f"<html><body><h1>{status} Server Error</h1></body></html>"
    return Fault(status=status, body=body, headers={"Content-Type": "text/html"}, matches=matches)


def teams_throttled(retry_after: int, matches: Callable[[Request], bool] | None = None) -> Fault:
    """A Workflows webhook over its trigger rate: HTTP 429 with ``Retry-After``."""
    body = json.dumps(
        {"error": {"code": "WorkflowTriggerIsThrottled", "message": "Too many requests."}}
    )
    return Fault(
        status=429,
        body=body,
        headers={"Retry-After": str(retry_after), "Content-Type": "application/json"},
        matches=matches,
    )


def dynamodb_error(
    name: str, matches: Callable[[Request], bool], namespace: str = "dynamodb.v20120810"
) -> Fault:
    """A DynamoDB error answer as the service sends it: HTTP 400 and the JSON ``__type``."""
    messages = {
        "ProvisionedThroughputExceededException": (
            "The level of configured provisioned throughput for the table was exceeded. "
            "Consider increasing your provisioning level with the UpdateTable API."
        ),
        "ThrottlingException": "Rate of requests exceeds the allowed throughput.",
    }
    body = json.dumps({"__type": f"com.amazonaws.{namespace}#{name}", "message": messages[name]})
    return Fault(
        status=400,
        body=body,
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "x-amzn-RequestId": "FAULTPROXY0000000000000000000000000000000000000000000",
        },
        matches=matches,
    )


def throughput_exceeded(matches: Callable[[Request], bool]) -> Fault:
    """``ProvisionedThroughputExceededException`` (a hot partition, or capacity ran out)."""
    return dynamodb_error("ProvisionedThroughputExceededException", matches)


def throttled(matches: Callable[[Request], bool]) -> Fault:
    """``ThrottlingException`` (control-plane or account-level request rate)."""
    return dynamodb_error("ThrottlingException", matches, namespace="coral.availability")


def server_busy(matches: Callable[[Request], bool] | None = None) -> Fault:
    """Table Storage over its scalability targets: HTTP 503 ``ServerBusy``, JSON (OData)."""
    body = json.dumps(
        {
            "odata.error": {
                "code": "ServerBusy",
                "message": {
                    "lang": "en-US",
                    "value": "The server is busy.\nRequestId:00000000-0000-0000-0000-000000000000"
                    "\nTime:2026-11-21T09:00:00.0000000Z",
                },
            }
        }
    )
    return Fault(
        status=503,
        body=body,
        headers={
            "Content-Type": "application/json;odata=minimalmetadata;streaming=true;charset=utf-8",
            "x-ms-error-code": "ServerBusy",
        },
        matches=matches,
    )


# -- what a chat service accepted ---------------------------------------------------------------


def slack_messages(slack: SlackApi) -> dict[str, list[dict[str, Any]]]:
    """The requests the Slack server accepted, by kind: ``post``, ``reply``, ``update``.

    Each top-level post gets the ``ts`` the server answered with, under ``"ts"``.
    """
    kinds: dict[str, list[dict[str, Any]]] = {"post": [], "reply": [], "update": []}
    posted = 0
    for recorded in slack.requests:
        if recorded.path.endswith("chat.update"):
            kinds["update"].append(recorded.body)
            continue
        posted += 1  # the server numbers every chat.postMessage it accepts, replies included
        if "thread_ts" in recorded.body:
            kinds["reply"].append(recorded.body)
        else:
            kinds["post"].append({**recorded.body, "ts": f"1700000000.{posted:06d}"})
    return kinds


def slack_threads(slack: SlackApi, endpoints: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per endpoint: its top-level posts, and the updates and thread replies they received."""
    sent = slack_messages(slack)
    names = list(endpoints)
    of_ts = {post["ts"]: endpoint_of(post, names) for post in sent["post"]}
    counts = {name: {"post": 0, "update": 0, "reply": 0} for name in names}
    for post in sent["post"]:
        counts[of_ts[post["ts"]]]["post"] += 1
    for update in sent["update"]:
        counts[of_ts[update["ts"]]]["update"] += 1
    for reply in sent["reply"]:
        counts[of_ts[reply["thread_ts"]]]["reply"] += 1
    return {name: count for name, count in counts.items() if any(count.values())}


def endpoint_of(body: dict[str, Any], endpoints: Iterable[str]) -> str:
    """Which one of ``endpoints`` a message is about (exactly one must be named in it)."""
    text = json.dumps(body)
    [named] = [name for name in endpoints if name in text]
    return named


def per_endpoint(bodies: Iterable[dict[str, Any]], endpoints: Iterable[str]) -> Counter[str]:
    """How many of the messages ``bodies`` are about each of ``endpoints``."""
    names = list(endpoints)
    return Counter(endpoint_of(body, names) for body in bodies)
