"""Entry points as their platforms run them, with in-memory state and a local Slack webhook:
the Lambda handler (under moto, so nothing reaches AWS) and the Event Hubs function."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from moto import mock_aws

from functions.aws import app
from functions.azure import invocation
from functions.azure.settings import APP_SETTINGS, LOCAL_ONLY
from shared.runtime import Runtime
from tests.chat_servers import Webhook

_CREDENTIAL_SUFFIXES = ("_SECRET_ARN", "_SSM_PARAMETER")


def _clean_env(monkeypatch: pytest.MonkeyPatch, names: list[str]) -> None:
    for name in [*names, *(n for n in os.environ if n.endswith(_CREDENTIAL_SUFFIXES))]:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, slack_webhook: Webhook) -> Iterator[Webhook]:
    """The Lambda with only a Slack webhook and memory state, under moto."""
    _clean_env(
        monkeypatch,
        [
            "MEDIC_CONFIG",
            "MEDIC_CONFIG_PARAMETER",
            "SLACK_BOT_TOKEN",
            "SLACK_CHANNEL",
            "TEAMS_WEBHOOK_URL",
            "SLACK_API_URL",
        ],
    )
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("MEDIC_STATE", "memory")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_webhook.url)
    monkeypatch.setattr(app, "_RUNTIME", Runtime())
    with mock_aws():
        yield slack_webhook


@pytest.fixture
def azure_env(
    monkeypatch: pytest.MonkeyPatch, slack_webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> Webhook:
    """The Function App with only a Slack webhook and memory state."""
    _clean_env(monkeypatch, [*APP_SETTINGS, *LOCAL_ONLY, "AzureWebJobsStorage"])
    monkeypatch.setenv("MEDIC_STATE", "memory")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_webhook.url)
    monkeypatch.setattr(invocation, "RUNTIME", invocation.AzureRuntime())
    caplog.set_level(logging.INFO, logger="medic")
    return slack_webhook
