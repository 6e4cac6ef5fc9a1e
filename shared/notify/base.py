"""What every notifier offers, and how it reports a failure."""

from __future__ import annotations

import logging
from typing import Protocol
from urllib.parse import urlsplit

from shared.alerts.problem import Alert, MessageRef

#: The logger handed to the chat clients: their debug output carries webhook URLs and request
#: bodies, so it never goes below INFO whatever level the application logs at.
QUIET = logging.getLogger("medic.notify.client")
QUIET.setLevel(logging.INFO)


class DeliveryError(Exception):
    """A message could not be delivered.

    ``retryable`` says whether trying again may help (429, 5xx, a dropped connection) or not
    (a revoked token, an unknown channel, a rejected payload). ``retry_after`` is the wait in
    seconds the service asked for, if it said.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Notifier(Protocol):
    """A chat destination. ``can_edit`` says whether it can update a message and reply in its
    thread; those that cannot only ever :meth:`post`."""

    name: str
    can_edit: bool

    def post(self, alert: Alert) -> MessageRef | None:
        """Post a new top-level message; returns where it went when the service says."""
        ...

    def update(self, ref: MessageRef, alert: Alert) -> None:
        """Rewrite the message at ``ref`` with the alert's current state."""
        ...

    def reply(self, ref: MessageRef, alert: Alert) -> None:
        """Reply in the thread of the message at ``ref`` with the latest evidence."""
        ...


def safe_url(url: str) -> str:
    """A webhook URL with its secret parts (path, query, credentials) hidden, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"
