"""Microsoft Teams through a Workflows webhook: an Adaptive Card per message."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from shared.alerts.problem import Alert, MessageRef
from shared.notify.base import DeliveryError, safe_url
from shared.render import teams


class TeamsNotifier:
    """Posts cards; a Workflows webhook answers 202 and cannot edit, so it behaves like a
    Slack webhook for repeats."""

    can_edit = False

    def __init__(self, name: str, url: str, timeout: float = 10) -> None:
        self.name = name
        self._url = url
        self._where = safe_url(url)
        self._timeout = timeout

    def post(self, alert: Alert) -> MessageRef | None:
        body = json.dumps(teams.card(alert)).encode()
        request = urllib.request.Request(
            self._url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            detail = f"{self.name}: Teams webhook {self._where} answered {exc.code}"
            if exc.code == 429:
                after = exc.headers.get("Retry-After")
                retry_after = float(after) if after and after.isdigit() else 1.0
                raise DeliveryError(detail, retryable=True, retry_after=retry_after) from None
            raise DeliveryError(detail, retryable=exc.code >= 500) from None
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(
                f"{self.name}: Teams webhook {self._where} unreachable: {type(exc).__name__}",
                retryable=True,
            ) from None
        if status not in (200, 202):
            raise DeliveryError(
                f"{self.name}: Teams webhook {self._where} answered {status}", retryable=False
            )
        return None

    def update(self, ref: MessageRef, alert: Alert) -> None:
        raise DeliveryError(f"{self.name}: a Teams webhook cannot edit messages", retryable=False)

    def reply(self, ref: MessageRef, alert: Alert) -> None:
        raise DeliveryError(f"{self.name}: a Teams webhook cannot reply", retryable=False)
