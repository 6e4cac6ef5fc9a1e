"""A problem and what is remembered about it between runs.

A *problem* is one kind of failure at one place: cloud, endpoint, variant/deployment, container,
rule and the masked template of its message. Findings of the same problem, in this run or a
later one, count towards one alert. :class:`ProblemRecord` is what the state store keeps per
problem: the alert as it would be rendered now (already redacted), the recent event times the
threshold looks at, and per receiver what was posted and what is still to be delivered.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.model import Finding, Severity
from shared.redact import Redactor

Action = Literal["post", "update", "reply", "resolve"]


def problem_key(finding: Finding) -> str:
    """A stable id for the problem a finding belongs to (the same across runs and machines)."""
    parts = (
        finding.cloud,
        finding.endpoint,
        finding.variant,
        finding.deployment,
        finding.container,
        finding.rule,
        finding.fields.get("template"),
    )
    text = "\x1f".join(p or "" for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Alert(BaseModel):
    """What a message says about a problem: the finding's diagnosis, redacted, with counts."""

    model_config = ConfigDict(extra="ignore")

    key: str
    rule: str
    category: str
    severity: Severity
    title: str
    fix: str
    commands: list[str] = []
    docs: str | None = None
    evidence: list[str] = []
    cloud: str | None = None
    endpoint: str | None = None
    variant: str | None = None
    deployment: str | None = None
    instance: str | None = None
    container: str | None = None
    region: str | None = None
    account: str | None = None
    log_group: str | None = None
    stream: str | None = None
    resource_id: str | None = None
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    #: Events between the previous top-level message and this one (a repeat after cooldown).
    since_last_post: int | None = None
    #: Whether the endpoint was seen back in service after this alert.
    recovered: bool = False

    @classmethod
    def from_finding(cls, finding: Finding, redact: Redactor, severity: Severity) -> Alert:
        """The alert for a finding; every piece of text taken from a log is redacted here, so
        neither the state store nor any message ever holds a credential from a log line."""
        extra = {k: finding.fields.get(k) for k in ("region", "account", "log_group", "stream")}
        return cls.model_validate(
            {
                **finding.to_json(),
                **extra,
                "resource_id": finding.fields.get("resource_id"),
                "key": problem_key(finding),
                "severity": severity,
                "title": redact(finding.title),
                "fix": redact(finding.fix),
                "commands": [redact(c) for c in finding.commands],
                "evidence": [redact(line) for line in finding.evidence],
            }
        )


class MessageRef(BaseModel):
    """Where a receiver put a top-level message, for editing it and replying in its thread."""

    channel: str
    ts: str


class Delivery(BaseModel):
    """One receiver's view of a problem: what it was sent and what it still has to be sent."""

    posted_at: datetime | None = None
    #: The problem's event count when the latest top-level message was decided, and how many
    #: events came between the one before and it (``None`` for the first message).
    count_at_post: int = 0
    since_last_post: int | None = None
    replied_at: datetime | None = None
    message: MessageRef | None = None
    pending: list[Action] = []
    #: A run that is delivering ``pending`` right now; others leave it alone until ``claimed_at``
    #: is older than the claim lease (the run died).
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None


class ProblemRecord(BaseModel):
    """Everything the store keeps about one problem."""

    alert: Alert
    #: Times of the latest events (at most the threshold's count), for "N within W minutes".
    recent: list[datetime] = []
    deliveries: dict[str, Delivery] = {}

    def has_pending(self) -> bool:
        """Whether some receiver still has something to be sent."""
        return any(d.pending for d in self.deliveries.values())
