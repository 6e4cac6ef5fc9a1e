"""Receivers that print the rendered messages instead of sending them (``medic replay``)."""

from __future__ import annotations

import json
from typing import TextIO

from shared.alerts.problem import Alert, MessageRef
from shared.render import slack, teams


class PreviewNotifier:
    """Writes each message as the JSON payload the real receiver would send."""

    def __init__(self, name: str, kind: str, out: TextIO) -> None:
        self.name = name
        self.kind = kind
        self.can_edit = kind == "slack"
        self._out = out
        self._posted = 0

    def _write(self, label: str, payload: object) -> None:
        self._out.write(f"--- {label} ---\n{json.dumps(payload, indent=2, ensure_ascii=False)}\n")

    def post(self, alert: Alert) -> MessageRef | None:
        self._posted += 1
        if self.kind == "slack":
            self._write(f"Slack message: {alert.title}", slack.message(alert))
            return MessageRef(channel="preview", ts=str(self._posted))
        self._write(f"Teams card: {alert.title}", teams.card(alert))
        return None

    def update(self, ref: MessageRef, alert: Alert) -> None:
        self._write(f"Slack update of message {ref.ts}", slack.message(alert))

    def reply(self, ref: MessageRef, alert: Alert) -> None:
        self._write(f"Slack thread reply to message {ref.ts}", slack.thread_reply(alert))
