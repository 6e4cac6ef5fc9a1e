"""A local HTTPS server that answers as the Log Analytics query API and as the App Service
managed-identity endpoint, so the real ``LogsQueryClient`` and ``DefaultAzureCredential`` can
be run against it.

The query endpoint does not run KQL: it returns the stored rows whose ``TimeGenerated`` lies in
the request's ``timespan`` (``start/end``), as the service's time filter would, oldest first and
no more than a trailing ``| take N`` asks for, in the service's JSON shape
(``tables[].columns[{name, type}]``, ``rows``), optionally with a partial error.
"""

from __future__ import annotations

import json
import re
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.azure.managed_identity import ManagedIdentity

TOKEN = "local-managed-identity-token"
COLUMNS = [
    ("TimeGenerated", "datetime"),
    ("Category", "string"),
    ("ResourceId", "string"),
    ("DeploymentName", "string"),
    ("InstanceId", "string"),
    ("ContainerName", "string"),
    ("Message", "string"),
    ("ResponseCode", "string"),
    ("ModelStatusCode", "string"),
    ("XRequestId", "string"),
]
PARTIAL_ERROR = {
    "code": "PartialError",
    "message": "There were some errors when processing your query.",
    "details": [
        {
            "code": "EngineError",
            "message": "Something went wrong processing your query on the server.",
            "innererror": {"code": "-2133196797", "message": "Query exceeded memory limits"},
        }
    ],
}


@dataclass
class Query:
    """One query as the server received it."""

    workspace: str
    query: str
    start: datetime
    end: datetime


@dataclass
class LogAnalytics:
    """The server, its stored rows, and what it was asked."""

    server: HTTPServer
    ca: trustme.CA
    workspace: str = "5b0e2a6c-0000-4000-8000-00000000abcd"
    rows: list[dict[str, Any]] = field(default_factory=list)
    queries: list[Query] = field(default_factory=list)
    #: Scripted answers for the next queries: "partial" or an HTTP status to fail with.
    script: list[str | int] = field(default_factory=list)
    identity: ManagedIdentity = field(init=False)

    def __post_init__(self) -> None:
        self.server.expect_request(
            f"/v1/workspaces/{self.workspace}/query", method="POST"
        ).respond_with_handler(self._query)
        self.identity = ManagedIdentity(
            self.server, lambda _: (TOKEN, int(datetime.now().timestamp()) + 3600)
        )

    @property
    def tokens_issued(self) -> int:
        """How many tokens the managed identity endpoint handed out."""
        return len(self.identity.issued)

    @property
    def endpoint(self) -> str:
        """The value for ``MEDIC_LOGS_ENDPOINT``."""
        return self.server.url_for("/").rstrip("/")

    def add(self, when: datetime, category: str, resource: str, **columns: str) -> None:
        """Store a row, as ingestion would."""
        self.rows.append(
            {"TimeGenerated": when, "Category": category, "ResourceId": resource, **columns}
        )

    def _query(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            error = {"error": {"code": "AuthorizationRequiredError", "message": "no token"}}
            return Response(json.dumps(error), 403, content_type="application/json")
        body = request.get_json()
        start_text, end_text = body["timespan"].split("/")
        start, end = datetime.fromisoformat(start_text), datetime.fromisoformat(end_text)
        self.queries.append(Query(self.workspace, body["query"], start, end))
        answer = self.script.pop(0) if self.script else "ok"
        if isinstance(answer, int):
            error = {"error": {"code": "ServiceUnavailable", "message": "try again later"}}
            return Response(json.dumps(error), answer, content_type="application/json")
        rows = sorted(
            (r for r in self.rows if start <= r["TimeGenerated"] < end),
            key=lambda r: r["TimeGenerated"],
        )
        limit = re.search(r"\|\s*take\s+(\d+)\s*$", body["query"])
        if limit:
            rows = rows[: int(limit.group(1))]
        table = {
            "name": "PrimaryResult",
            "columns": [{"name": n, "type": t} for n, t in COLUMNS],
            "rows": [[_cell(row.get(name)) for name, _ in COLUMNS] for row in rows],
        }
        result: dict[str, Any] = {"tables": [table]}
        if answer == "partial":
            result["error"] = PARTIAL_ERROR
        return Response(json.dumps(result), 200, content_type="application/json")


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def start_server(ca: trustme.CA) -> HTTPServer:
    """An HTTPS server on a free loopback port, with a certificate from ``ca``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    return server
