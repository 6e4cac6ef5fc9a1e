"""Local HTTP servers that answer as Slack's Web API, Slack incoming webhooks and Teams
Workflows webhooks do, so the real clients can be tested against them.

Each server records every request it receives and can be told to answer the next requests with
failures (``fail_next``): an ``ok: false`` error, an HTTP status with an optional Retry-After,
or a dropped connection. ``meanwhile``, when set, is called with each request once it is
recorded and before it is answered: what happens while the client waits (another run, say).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


@dataclass
class Failure:
    """How to answer one request instead of succeeding."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    body: str | None = None


@dataclass
class Recorded:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ChatServer:
    """Common behaviour: record, then fail as scripted or succeed."""

    server: HTTPServer
    requests: list[Recorded] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    meanwhile: Callable[[Recorded], None] | None = None

    def fail_next(self, *failures: Failure) -> None:
        """Answer the next requests with these failures, in order."""
        self.failures.extend(failures)

    def _record(self, request: Request) -> Recorded:
        raw = request.get_data(as_text=True)
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {k: v for k, v in request.form.items()}
        recorded = Recorded(request.path, dict(request.headers), body)
        self.requests.append(recorded)
        if self.meanwhile is not None:
            self.meanwhile(recorded)
        return recorded

    def _failure(self) -> Response | None:
        if not self.failures:
            return None
        failure = self.failures.pop(0)
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
        if failure.error is not None:
            body = json.dumps({"ok": False, "error": failure.error})
            return Response(body, failure.status, headers, content_type="application/json")
        return Response(failure.body or "failure", failure.status, headers)

    def paths(self) -> list[str]:
        """The paths of the requests received, in order."""
        return [r.path for r in self.requests]


class SlackApi(ChatServer):
    """``chat.postMessage`` and ``chat.update`` of the Slack Web API under ``/api/``."""

    def __init__(self, server: HTTPServer, token: str = "xoxb-test-token") -> None:
        super().__init__(server)
        self.token = token
        self._ts = itertools.count(1)
        server.expect_request("/api/chat.postMessage").respond_with_handler(self._post)
        server.expect_request("/api/chat.update").respond_with_handler(self._update)

    @property
    def url(self) -> str:
        """The value for ``SLACK_API_URL``."""
        return self.server.url_for("/api/")

    def _ok(self, request: Request, extra: dict[str, Any]) -> Response:
        recorded = self._record(request)
        failure = self._failure()
        if failure is not None:
            return failure
        if recorded.headers.get("Authorization") != f"Bearer {self.token}":
            return Response(json.dumps({"ok": False, "error": "invalid_auth"}), 200)
        if not recorded.body.get("channel"):
            return Response(json.dumps({"ok": False, "error": "channel_not_found"}), 200)
        answer = {"ok": True, "channel": recorded.body["channel"], **extra}
        return Response(json.dumps(answer), 200, content_type="application/json")

    def _post(self, request: Request) -> Response:
        return self._ok(request, {"ts": f"1700000000.{next(self._ts):06d}"})

    def _update(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        return self._ok(request, {"ts": body.get("ts")})

    def posts(self) -> list[dict[str, Any]]:
        """Bodies of successful-looking top-level posts (no thread)."""
        return [
            r.body
            for r in self.requests
            if r.path.endswith("chat.postMessage") and "thread_ts" not in r.body
        ]


class Webhook(ChatServer):
    """An incoming webhook: Slack answers 200 ``ok``, Teams Workflows 202 with no body."""

    def __init__(self, server: HTTPServer, path: str, success: int) -> None:
        super().__init__(server)
        self.path = path
        self.success = success
        server.expect_request(path, method="POST").respond_with_handler(self._handle)

    @property
    def url(self) -> str:
        """The webhook URL to configure."""
        return self.server.url_for(self.path)

    def _handle(self, request: Request) -> Response:
        self._record(request)
        failure = self._failure()
        if failure is not None:
            return failure
        return Response("ok" if self.success == 200 else "", self.success)


def shown_count(body: dict[str, Any]) -> int:
    """The ``Count`` a Slack alert message shows."""
    for block in body["blocks"]:
        for item in block.get("fields", []):
            label, _, value = item["text"].partition("\n")
            if label == "*Count*":
                return int(value)
    raise AssertionError(f"no count in {body}")
