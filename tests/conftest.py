"""Shared fixtures: local chat servers the real clients talk to, and Azurite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from tests.azurite import Azurite, AzuriteError, start_azurite
from tests.chat_servers import SlackApi, Webhook


@pytest.fixture
def chat_server() -> Iterator[HTTPServer]:
    """A fresh local HTTP server on a free loopback port."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def slack_api(chat_server: HTTPServer) -> SlackApi:
    """A local server answering as the Slack Web API."""
    return SlackApi(chat_server)


@pytest.fixture
def slack_webhook(chat_server: HTTPServer) -> Webhook:
    """A local server answering as a Slack incoming webhook."""
    return Webhook(chat_server, "/services/T0001/B0001/hooksecret", 200)


@pytest.fixture
def teams_webhook(chat_server: HTTPServer) -> Webhook:
    """A local server answering as a Teams Workflows webhook."""
    return Webhook(chat_server, "/workflows/abc/triggers/manual/paths/invoke", 202)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """Azurite's table service, in memory on a free port, for the whole session.

    Fails (never skips) when Azurite is not installed: `make unit` installs it.
    """
    try:
        server = start_azurite()
    except AzuriteError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()
