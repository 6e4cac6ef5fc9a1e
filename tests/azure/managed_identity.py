"""The App Service managed-identity endpoint, answered by a local HTTP server, so that the real
``DefaultAzureCredential`` gets its tokens the way it does in a Function App: a GET on
``IDENTITY_ENDPOINT`` with the ``X-IDENTITY-HEADER`` secret, answered with a bearer token for
the requested resource."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

PATH = "/msi/token"
#: Settings from which the credential chain would pick another credential first.
OTHER_CREDENTIALS = (
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_TOKEN_CREDENTIALS",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IMDS_ENDPOINT",
    "IDENTITY_SERVER_THUMBPRINT",
)


class ManagedIdentity:
    """Serves tokens from ``token_for(resource) -> (token, expires_on)`` on ``server`` and
    records the resource of every token issued."""

    def __init__(self, server: HTTPServer, token_for: Callable[[str], tuple[str, int]]) -> None:
        self.server = server
        self.header = secrets.token_hex(16)
        self.issued: list[str] = []
        self._token_for = token_for
        server.expect_request(PATH, method="GET").respond_with_handler(self._issue)

    def use(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Name this endpoint in the environment, as App Service does, and nothing else."""
        for name in OTHER_CREDENTIALS:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("IDENTITY_ENDPOINT", self.server.url_for(PATH))
        monkeypatch.setenv("IDENTITY_HEADER", self.header)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")

    def _issue(self, request: Request) -> Response:
        if request.headers.get("X-IDENTITY-HEADER") != self.header:
            return Response(json.dumps({"message": "bad header"}), status=401)
        resource = request.args.get("resource", "")
        token, expires = self._token_for(resource)
        self.issued.append(resource)
        body = {
            "access_token": token,
            "expires_on": str(expires),
            "resource": resource,
            "token_type": "Bearer",
        }
        return Response(json.dumps(body), content_type="application/json")
