"""Building the notifiers a config names, with credentials from the environment.

With no ``receivers:`` in the config, every destination the environment names is used
(``SLACK_BOT_TOKEN`` + ``SLACK_CHANNEL``, ``SLACK_WEBHOOK_URL``, ``TEAMS_WEBHOOK_URL``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from shared.alerts.settings import AlertSettings, SlackBot, SlackWebhook, TeamsWebhook
from shared.notify.base import Notifier


class ReceiverSetupError(ValueError):
    """A receiver the config declares cannot be built (its environment variable is unset)."""


def _env_receivers(env: Mapping[str, str]) -> dict[str, SlackBot | SlackWebhook | TeamsWebhook]:
    found: dict[str, SlackBot | SlackWebhook | TeamsWebhook] = {}
    if env.get("SLACK_BOT_TOKEN") and env.get("SLACK_CHANNEL"):
        found["slack"] = SlackBot(type="slack")
    if env.get("SLACK_WEBHOOK_URL"):
        found["slack-webhook"] = SlackWebhook(type="slack_webhook")
    if env.get("TEAMS_WEBHOOK_URL"):
        found["teams"] = TeamsWebhook(type="teams")
    return found


def build_notifiers(
    settings: AlertSettings, env: Mapping[str, str] | None = None
) -> dict[str, Notifier]:
    """One notifier per receiver, or :class:`ReceiverSetupError` naming what is missing."""
    env = os.environ if env is None else env
    receivers = dict(settings.receivers) or _env_receivers(env)
    notifiers: dict[str, Notifier] = {}
    problems = []

    def need(name: str, variable: str) -> str:
        value = env.get(variable, "")
        if not value:
            problems.append(f"receivers.{name}: environment variable {variable} is not set")
        return value

    for name, spec in receivers.items():
        if isinstance(spec, SlackBot):
            from shared.notify.slack_bot import SlackBotNotifier

            token = need(name, spec.token_env)
            channel = spec.channel or need(name, spec.channel_env)
            if token and channel:
                api = env.get(spec.api_url_env) or None
                notifiers[name] = SlackBotNotifier(name, token, channel, api)
        elif isinstance(spec, SlackWebhook):
            from shared.notify.slack_webhook import SlackWebhookNotifier

            url = need(name, spec.url_env)
            if url:
                notifiers[name] = SlackWebhookNotifier(name, url)
        else:
            from shared.notify.teams import TeamsNotifier

            url = need(name, spec.url_env)
            if url:
                notifiers[name] = TeamsNotifier(name, url)
    if problems:
        raise ReceiverSetupError("; ".join(problems))
    return notifiers
