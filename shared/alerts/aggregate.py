"""Deciding, per receiver, what a new batch of events of one problem should cause.

A pure function of the stored record, the new finding and the clock, so the same decision is
made whatever store holds the record, and it can be retried as is after a lost race.

- Nothing is sent until the threshold is met (N events within W minutes).
- The first message, and a new one once the cooldown has passed, is a top-level ``post``.
- Within the cooldown, receivers that can edit (Slack with a bot token) ``update`` the
  message's count, and ``reply`` in its thread with new evidence at most once per cooldown;
  webhooks stay quiet and their next post says how many events came in between.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.alerts.policy import Policy
from shared.alerts.problem import Alert, Delivery, ProblemRecord


def observe(
    record: ProblemRecord | None,
    alert: Alert,
    count: int,
    times: tuple[datetime | None, datetime | None],
    policy: Policy,
    receivers: dict[str, bool],
    now: datetime,
) -> ProblemRecord:
    """The record after ``count`` more events of the problem ``alert`` describes.

    ``times`` is the first and last event time of the new events (``None`` when the log carries
    none: then ``now`` stands in). ``receivers`` maps each receiver this problem routes to onto
    whether it can edit its messages.
    """
    first, last = times[0] or now, times[1] or now
    if record is None:
        record = ProblemRecord(alert=alert.model_copy(update={"count": 0}))
    previous = record.alert
    merged = alert.model_copy(
        update={
            "count": previous.count + count,
            "first_seen": min(filter(None, (previous.first_seen, first))),
            "last_seen": max(filter(None, (previous.last_seen, last))),
            "recovered": False,
        }
    )
    record = record.model_copy(update={"alert": merged})
    record.recent = _recent(record.recent, count, first, last, policy)
    over = _threshold_met(record.recent, policy)
    for name, can_edit in receivers.items():
        delivery = record.deliveries.setdefault(name, Delivery())
        _decide(delivery, merged.count, over, can_edit, policy.cooldown, now)
    return record


def _recent(
    recent: list[datetime], count: int, first: datetime, last: datetime, policy: Policy
) -> list[datetime]:
    """The latest event times, at most as many as the threshold needs."""
    keep = policy.threshold.count
    new = [first] + [last] * (min(count, keep) - 1)
    return sorted([*recent, *new])[-keep:]


def _threshold_met(recent: list[datetime], policy: Policy) -> bool:
    window = timedelta(minutes=policy.threshold.within_minutes)
    if len(recent) < policy.threshold.count:
        return False
    return recent[-1] - recent[-policy.threshold.count] <= window


def _decide(
    delivery: Delivery, count: int, over: bool, can_edit: bool, cooldown: timedelta, now: datetime
) -> None:
    """Add to ``delivery.pending`` what this observation calls for."""
    if "post" in delivery.pending:
        return  # the message still to be posted will carry the new count
    posted = delivery.posted_at
    if posted is None or now - posted >= cooldown:
        if over:
            delivery.pending = ["post"]
            delivery.since_last_post = count - delivery.count_at_post if posted else None
            delivery.count_at_post = count
            delivery.posted_at = now
            delivery.replied_at = None
        return
    if not can_edit or (delivery.message is None and not delivery.pending):
        return
    if "update" not in delivery.pending:
        delivery.pending.append("update")
    if "reply" not in delivery.pending and (
        delivery.replied_at is None or now - delivery.replied_at >= cooldown
    ):
        delivery.pending.append("reply")
        delivery.replied_at = now
