"""The app settings the Azure functions read, in one place.

Azure Functions hands app settings to the worker as environment variables. Every name the
functions (or the shared core, on their behalf) read is listed in :data:`APP_SETTINGS`, so the
Bicep and ``local.settings.example.json`` can be checked against it. Binding expressions
(``%NAME%``) and connection names are resolved by the Functions host, not by this code, but they
are app settings all the same and are listed too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import NamedTuple

#: Every app setting medic's Azure functions use, with what it means.
APP_SETTINGS: dict[str, str] = {
    "MEDIC_CONFIG": "path of the medic config file in the app; empty: the built-in defaults",
    "MEDIC_STATE": "the state store, azuretable://TABLE in Azure (memory for a local try-out)",
    "MEDIC_EVENTHUB": "Event Hubs connection: a connection string, or "
    "MEDIC_EVENTHUB__fullyQualifiedNamespace with the app's managed identity",
    "MEDIC_EVENTHUB_NAME": "the event hub the diagnostic settings stream to",
    "MEDIC_EVENTHUB_CONSUMER_GROUP": "the hub's consumer group reserved for medic",
    "MEDIC_WORKSPACE_ID": "Log Analytics workspace (customer) id to poll; empty: no polling",
    "MEDIC_POLL_SCHEDULE": "NCRONTAB schedule of the poller, e.g. 0 */5 * * * *",
    "MEDIC_POLL_LOOKBACK_MINUTES": "how far before its checkpoint each poll reads again",
    "MEDIC_LOGS_ENDPOINT": "Log Analytics query API base URL (sovereign clouds differ)",
    "SLACK_BOT_TOKEN": "Slack bot token (a Key Vault reference in Azure)",
    "SLACK_CHANNEL": "Slack channel id the bot posts to",
    "SLACK_WEBHOOK_URL": "Slack incoming webhook URL (a Key Vault reference in Azure)",
    "TEAMS_WEBHOOK_URL": "Teams Workflows webhook URL (a Key Vault reference in Azure)",
}

#: Read by the code but meant only for tests and proxies; deployments leave them unset.
LOCAL_ONLY: dict[str, str] = {
    "SLACK_API_URL": "Slack Web API base URL",
}

#: Defaults where a setting is absent or empty.
DEFAULT_LOOKBACK = timedelta(minutes=15)
DEFAULT_LOGS_ENDPOINT = "https://api.loganalytics.io"


class SettingError(ValueError):
    """An app setting holds a value medic cannot use."""


class PollSettings(NamedTuple):
    """What the Log Analytics poller needs."""

    workspace_id: str | None
    lookback: timedelta
    endpoint: str


def poll_settings(env: Mapping[str, str] | None = None) -> PollSettings:
    """The poller's settings; a malformed lookback is an error naming the setting."""
    env = os.environ if env is None else env
    raw = (env.get("MEDIC_POLL_LOOKBACK_MINUTES") or "").strip()
    lookback = DEFAULT_LOOKBACK
    if raw:
        try:
            minutes = float(raw)
        except ValueError:
            minutes = -1
        if not 0 < minutes <= 24 * 60:
            raise SettingError(
                f"MEDIC_POLL_LOOKBACK_MINUTES={raw!r}: give minutes, more than 0 and at most 1440"
            )
        lookback = timedelta(minutes=minutes)
    return PollSettings(
        workspace_id=(env.get("MEDIC_WORKSPACE_ID") or "").strip() or None,
        lookback=lookback,
        endpoint=(env.get("MEDIC_LOGS_ENDPOINT") or "").strip() or DEFAULT_LOGS_ENDPOINT,
    )
