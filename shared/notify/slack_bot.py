"""Slack through the Web API with a bot token (slack-sdk): post, update, reply in thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.alerts.problem import Alert, MessageRef
from shared.notify.base import QUIET, DeliveryError
from shared.render import slack

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

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
        self._token, self._api_url, self._timeout = token, api_url, timeout
        self._web: WebClient | None = None

    @property
    def _client(self) -> WebClient:
        """The Web API client, made at the first call: a notifier is built on every invocation
        and most of them send nothing, so those never import slack-sdk."""
        if self._web is None:
            from slack_sdk import WebClient

            api_url = self._api_url
            base = (api_url.rstrip("/") + "/") if api_url else WebClient.BASE_URL
            # Retries are ours (time budget, Retry-After), so the client's own are switched off.
            self._web = WebClient(
                token=self._token,
                base_url=base,
                timeout=self._timeout,
                retry_handlers=[],
                logger=QUIET,
            )
        return self._web

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
        from slack_sdk.errors import SlackApiError, SlackClientError

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
