"""Slack through the Web API with a bot token (slack-sdk): post, update, reply in thread."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from shared.alerts.problem import Alert, MessageRef
from shared.notify.base import QUIET, DeliveryError
from shared.render import slack

#: ``ok: false`` errors that a later attempt may get past; every other one needs a human.
_TRANSIENT = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}


class SlackBotNotifier:
    """Posts to one channel; the bot must be a member of it (``chat:write``)."""

    can_edit = True

    def __init__(
        self, name: str, token: str, channel: str, api_url: str | None = None, timeout: int = 10
    ) -> None:
        self.name = name
        self.channel = channel
        base = (api_url.rstrip("/") + "/") if api_url else WebClient.BASE_URL
        # Retries are ours (time budget, Retry-After), so the client's own are switched off.
        self._client = WebClient(
            token=token, base_url=base, timeout=timeout, retry_handlers=[], logger=QUIET
        )

    def post(self, alert: Alert) -> MessageRef:
        data = self._call("chat_postMessage", channel=self.channel, **slack.message(alert))
        return MessageRef(channel=str(data["channel"]), ts=str(data["ts"]))

    def update(self, ref: MessageRef, alert: Alert) -> None:
        self._call("chat_update", channel=ref.channel, ts=ref.ts, **slack.message(alert))

    def reply(self, ref: MessageRef, alert: Alert) -> None:
        self._call(
            "chat_postMessage", channel=ref.channel, thread_ts=ref.ts, **slack.thread_reply(alert)
        )

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = getattr(self._client, method)(**kwargs)
        except SlackApiError as exc:
            raise _api_error(self.name, method, exc) from None
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(
                f"{self.name}: Slack {method} failed to connect: {type(exc).__name__}",
                retryable=True,
            ) from None
        return dict(response.data) if isinstance(response.data, dict) else {}


def _api_error(name: str, method: str, exc: SlackApiError) -> DeliveryError:
    response = exc.response
    status = response.status_code
    data = response.data if isinstance(response.data, dict) else {}
    error = str(data.get("error") or f"HTTP {status}")
    if status == 429:
        after = response.headers.get("Retry-After") or response.headers.get("retry-after")
        return DeliveryError(
            f"{name}: Slack {method} rate limited",
            retryable=True,
            retry_after=float(after) if after and str(after).isdigit() else 1.0,
        )
    retryable = status >= 500 or error in _TRANSIENT
    return DeliveryError(f"{name}: Slack {method} answered {error}", retryable=retryable)
