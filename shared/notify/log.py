"""A receiver that only logs: what medic would send when no destination is configured."""

from __future__ import annotations

import logging

from shared.alerts.problem import Alert, MessageRef

log = logging.getLogger("medic.alerts")


class LogNotifier:
    """Logs each alert as one structured line; with no chat destination, the log is the alert."""

    can_edit = False

    def __init__(self, name: str = "log") -> None:
        self.name = name

    def post(self, alert: Alert) -> MessageRef | None:
        log.warning(
            "alert (no destination configured): %s",
            alert.title,
            extra={"alert": alert.model_dump(mode="json", exclude_none=True)},
        )
        return None

    def update(self, ref: MessageRef, alert: Alert) -> None:  # pragma: no cover - cannot edit
        self.post(alert)

    def reply(self, ref: MessageRef, alert: Alert) -> None:  # pragma: no cover - cannot edit
        self.post(alert)
