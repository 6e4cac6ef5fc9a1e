"""Slack through an incoming webhook (slack-sdk): top-level posts only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.alerts.problem import Alert, MessageRef
from shared.notify.base import QUIET, DeliveryError, safe_url
from shared.render import slack

if TYPE_CHECKING:
    from slack_sdk.webhook import WebhookClient


class SlackWebhookNotifier:
    """Posts each message anew; a webhook cannot edit or thread, so repeats wait for the
    cooldown and then say how many came in between."""

    can_edit = False

    def __init__(self, name: str, url: str, timeout: int = 10) -> None:
        self.name = name
        self._where = safe_url(url)
        self._url, self._timeout = url, timeout
        self._hook: WebhookClient | None = None

    @property
    def _client(self) -> WebhookClient:
        """The webhook client, made at the first post: a notifier is built on every invocation
        and most of them send nothing, so those never import slack-sdk."""
        if self._hook is None:
            from slack_sdk.webhook import WebhookClient

            self._hook = WebhookClient(
                self._url, timeout=self._timeout, retry_handlers=[], logger=QUIET
            )
        return self._hook

    def post(self, alert: Alert) -> MessageRef | None:
        from slack_sdk.errors import SlackClientError

        try:
            response = self._client.send_dict(slack.message(alert))
        except (SlackClientError, OSError) as exc:
            raise DeliveryError(
                f"{self.name}: Slack webhook {self._where} unreachable: {type(exc).__name__}",
                retryable=True,
            ) from None
        status = response.status_code
        if status == 200:
            return None
        detail = f"{self.name}: Slack webhook {self._where} answered {status} {response.body[:100]}"
        if status == 429:
            after = response.headers.get("Retry-After") or response.headers.get("retry-after")
            value = after[0] if isinstance(after, list) else after
            retry_after = float(value) if value and str(value).isdigit() else 1.0
            raise DeliveryError(detail, retryable=True, retry_after=retry_after)
        raise DeliveryError(detail, retryable=status >= 500)

    def update(self, ref: MessageRef, alert: Alert) -> None:
        raise DeliveryError(f"{self.name}: a webhook cannot edit messages", retryable=False)

    def reply(self, ref: MessageRef, alert: Alert) -> None:
        raise DeliveryError(f"{self.name}: a webhook cannot reply in threads", retryable=False)
