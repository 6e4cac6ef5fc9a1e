"""From findings to delivered messages, through the state store.

:meth:`Alerter.observe` records each finding against its problem and decides what to send;
:meth:`Alerter.deliver` sends what is pending, in this run's records and in any left undelivered
by earlier runs. Both change records only by compare-and-set, so concurrent runs never post the
same first message twice, and an undelivered message stays pending until a run delivers it.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from shared.alerts.aggregate import observe
from shared.alerts.policy import muted_by, policy_for
from shared.alerts.problem import Action, Alert, Delivery, ProblemRecord, problem_key
from shared.alerts.route import receivers_for
from shared.alerts.settings import AlertSettings
from shared.model import Finding
from shared.notify.base import DeliveryError, Notifier
from shared.notify.retry import Budget, with_retries
from shared.redact import redactor
from shared.state.base import Store

log = logging.getLogger("medic.alerts")
#: How long a record outlives its last change, and how long a run's claim on a delivery holds.
RECORD_TTL = timedelta(days=7)
CLAIM_LEASE = timedelta(minutes=5)
_CAS_ATTEMPTS = 20
#: How many more times a run edits a message whose problem changed while the run was sending
#: it (other runs observed it meanwhile, finding the message pending already). Each round is
#: caused by a further observation; what is overtaken after the last goes out with the next run.
_CATCH_UP_ROUNDS = 5


def _failure_key(cloud: str, endpoint: str) -> str:
    return f"failed-endpoint:{cloud}:{endpoint}"


def _recovered(record: ProblemRecord | None) -> ProblemRecord | None:
    """A record whose endpoint is back in service; the next failure alerts afresh."""
    if record is None or record.alert.recovered:
        return None
    record.alert = record.alert.model_copy(update={"recovered": True, "since_last_post": None})
    for delivery in record.deliveries.values():
        if delivery.posted_at is None and not delivery.pending:
            continue  # never alerted there: nothing to take back
        if delivery.message is not None:
            delivery.pending = [a for a in delivery.pending if a != "reply"]
            if "update" not in delivery.pending:
                delivery.pending.append("update")
        else:
            delivery.pending = ["post"]
        delivery.posted_at = None
        delivery.since_last_post = None
        delivery.count_at_post = record.alert.count
    return record


def utcnow() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


@dataclass
class Sent:
    """One message that reached a receiver."""

    receiver: str
    action: Action
    alert: Alert


@dataclass
class Outcome:
    """What a run did: messages sent, findings held back and why, deliveries that failed."""

    sent: list[Sent] = field(default_factory=list)
    held: Counter[str] = field(default_factory=Counter)
    failed: list[str] = field(default_factory=list)


class Alerter:
    """Applies the alerting settings to findings, with state in ``store``."""

    def __init__(
        self,
        settings: AlertSettings,
        store: Store,
        notifiers: dict[str, Notifier],
        *,
        budget: Budget | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.store = store
        self.notifiers = notifiers
        self.budget = budget or Budget(60)
        self.clock = clock
        self.redact = redactor(tuple(settings.redact))
        self.run_id = uuid.uuid4().hex
        self.outcome = Outcome()
        self._touched: list[str] = []

    # -- deciding ------------------------------------------------------------------------------

    def observe(self, findings: Iterable[Finding]) -> None:
        """Count each finding against its problem and queue the messages it calls for."""
        now = self.clock()
        for finding in findings:
            policy = policy_for(self.settings, finding)
            if policy is None:
                self.outcome.held["below minimum severity or switched off"] += 1
                continue
            mute = muted_by(self.settings, finding, now)
            if mute is not None:
                self.outcome.held[f"muted: {mute.reason}"] += 1
                continue
            finding = replace(finding, severity=policy.severity)
            names = receivers_for(self.settings, finding, list(self.notifiers))
            if not names:
                self.outcome.held["no receiver"] += 1
                continue
            alert = Alert.from_finding(finding, self.redact, policy.severity)
            can_edit = {name: self.notifiers[name].can_edit for name in names}
            change = partial(
                observe,
                alert=alert,
                count=finding.count,
                times=(finding.first_seen, finding.last_seen),
                policy=policy,
                receivers=can_edit,
                now=now,
            )
            self._update(alert.key, change)
            self._touched.append(alert.key)

    def _update(
        self, key: str, change: Callable[[ProblemRecord | None], ProblemRecord | None]
    ) -> ProblemRecord | None:
        """Read, change and write back one problem record (see :meth:`_write`)."""
        result: list[ProblemRecord | None] = [None]

        def on_value(value: dict[str, Any] | None) -> tuple[dict[str, Any], bool] | None:
            record = ProblemRecord.model_validate(value) if value is not None else None
            result[0] = updated = change(record)
            if updated is None:
                result[0] = record
                return None
            return updated.model_dump(mode="json"), updated.has_pending()

        self._write(key, on_value)
        return result[0]

    def _write(
        self,
        key: str,
        change: Callable[[dict[str, Any] | None], tuple[dict[str, Any], bool] | None],
    ) -> None:
        """Compare-and-set ``key``: ``change`` maps the stored value to the new value and its
        pending flag (``None``: nothing to write), again from the top if another run wrote
        the record in between."""
        for _ in range(_CAS_ATTEMPTS):
            stored = self.store.get(key)
            new = change(stored.value if stored else None)
            if new is None:
                return
            version = stored.version if stored else None
            expires = self.clock() + RECORD_TTL
            if self.store.put(key, new[0], version, pending=new[1], expires=expires):
                return
        raise RuntimeError(f"state record {key} kept changing under {_CAS_ATTEMPTS} attempts")

    # -- endpoint state ------------------------------------------------------------------------

    def remember_failure(self, cloud: str, endpoint: str, findings: Iterable[Finding]) -> None:
        """Note which problems describe ``endpoint`` failing, so its recovery can close them."""
        keys = [problem_key(f) for f in findings]
        if not keys:
            return

        def change(pointer: dict[str, Any] | None) -> tuple[dict[str, Any], bool]:
            known = (pointer or {}).get("keys", [])
            return {"keys": list(dict.fromkeys([*known, *keys]))}, False

        self._write(_failure_key(cloud, endpoint), change)

    def recover(self, cloud: str, endpoint: str) -> int:
        """Mark the problems of a failed endpoint as recovered: editable messages are updated
        to say so, webhooks get a short recovered message. Returns how many were open."""
        closed: list[str] = []

        def take(pointer: dict[str, Any] | None) -> tuple[dict[str, Any], bool] | None:
            closed[:] = (pointer or {}).get("keys", [])
            return ({"keys": []}, False) if closed else None

        self._write(_failure_key(cloud, endpoint), take)
        for key in closed:
            self._update(key, _recovered)
            self._touched.append(key)
        return len(closed)

    # -- delivering ----------------------------------------------------------------------------

    def deliver(self) -> Outcome:
        """Send everything pending: this run's problems first, then leftovers of earlier runs.

        A message whose problem changed while it was being sent (another run observed more
        events meanwhile) is edited again in this run while time is left, at most
        ``_CATCH_UP_ROUNDS`` times; an edit still pending after that goes out with the next run.
        The other run cannot send it: it found the delivery claimed by this one.
        """
        keys = list(dict.fromkeys([*self._touched, *self.store.pending()]))
        self._touched = []
        stale: list[tuple[str, str]] = []
        for key in keys:
            for name in self._claim(key):
                if self._deliver_one(key, name):
                    stale.append((key, name))
        for _ in range(_CATCH_UP_ROUNDS):
            overtaken: list[tuple[str, str]] = []
            for key, name in stale:
                if self.budget.remaining() <= 0:
                    return self.outcome  # the edits stay pending: the next run sends them
                if self._claim(key, only=name) and self._deliver_one(key, name):
                    overtaken.append((key, name))
            stale = overtaken
        return self.outcome

    def _claim(self, key: str, only: str | None = None) -> list[str]:
        """Mark this run as the one delivering the record's pending messages (to receiver
        ``only``, if given); returns the receivers claimed (none when another live run holds
        them)."""
        now = self.clock()
        claimed: list[str] = []

        def change(record: ProblemRecord | None) -> ProblemRecord | None:
            claimed.clear()
            if record is None:
                return None
            changed = False
            for name, delivery in record.deliveries.items():
                if not delivery.pending or name not in self.notifiers:
                    continue
                if only is not None and name != only:
                    continue
                if delivery.claimed_by == self.run_id:
                    # Already ours: the claim was written, but the store's answer was lost and
                    # the retried write found it there. Not another run's claim to wait for.
                    claimed.append(name)
                    continue
                if delivery.claimed_at and now - delivery.claimed_at < CLAIM_LEASE:
                    continue
                delivery.claimed_by, delivery.claimed_at = self.run_id, now
                claimed.append(name)
                changed = True
            return record if changed else None

        self._update(key, change)
        return claimed

    def _deliver_one(self, key: str, name: str) -> bool:
        """Send one receiver's pending messages of a problem; returns whether the problem
        changed while they were sent, so that an edit to bring the message up to date is
        pending."""
        stored = self.store.get(key)
        if stored is None:
            return False
        record = ProblemRecord.model_validate(stored.value)
        delivery = record.deliveries[name]
        if delivery.claimed_by != self.run_id:
            return False
        notifier = self.notifiers[name]
        alert = _as_sent(record, delivery)
        done: list[Action] = []
        message = delivery.message
        error: DeliveryError | None = None
        for action in list(delivery.pending):
            try:
                if action == "post":
                    message = with_retries(partial(notifier.post, alert), self.budget)
                elif message is not None and notifier.can_edit:
                    method = notifier.reply if action == "reply" else notifier.update
                    with_retries(partial(method, message, alert), self.budget)
            except DeliveryError as exc:
                error = exc
                break
            done.append(action)
            self.outcome.sent.append(Sent(name, action, alert))
        if error is not None:
            self.outcome.failed.append(str(error))
            log.warning("delivery failed, kept for the next run: %s", error)
        return self._finish(key, name, done, alert, message, error)

    def _finish(
        self,
        key: str,
        name: str,
        done: list[Action],
        sent: Alert,
        message: object,
        error: DeliveryError | None,
    ) -> bool:
        """Record what was delivered; what was not stays pending, unclaimed, for a retry.

        ``sent`` is the alert as the delivery read it. Another run may have observed more
        events since: its observation added nothing, the messages in flight being pending
        already, and taking them off now would leave the message showing the older alert
        for good. So when the message was posted or edited and the record now says something
        else, an edit stays pending (receivers that can edit; webhooks wait for the cooldown
        as always). Returns whether it does and nothing failed, so it may go out at once.

        ``change`` may run again on the record it wrote itself (a lost answer): the edit it
        left pending is then kept (or taken off and put back), the record still differing
        from ``sent``.
        """
        requeued = [False]

        def change(record: ProblemRecord | None) -> ProblemRecord | None:
            requeued[0] = False
            if record is None:
                return None
            delivery = record.deliveries.setdefault(name, Delivery())
            remaining = list(delivery.pending)
            for action in done:
                if action in remaining:
                    remaining.remove(action)
            if "post" in done and message is not None:
                delivery.message = message  # type: ignore[assignment]
            if (
                ("post" in done or "update" in done)
                and _as_sent(record, delivery) != sent
                and self.notifiers[name].can_edit
                and delivery.message is not None
                and "post" not in remaining  # a new post is due: it will show the latest
            ):
                if "update" not in remaining:
                    remaining.append("update")
                requeued[0] = True
            delivery.pending = remaining
            delivery.claimed_by = delivery.claimed_at = None
            delivery.attempts = delivery.attempts + 1 if error else 0
            delivery.last_error = str(error) if error else None
            return record

        self._update(key, change)
        return requeued[0] and error is None


def _as_sent(record: ProblemRecord, delivery: Delivery) -> Alert:
    """The alert as a receiver's next message would show it."""
    return record.alert.model_copy(update={"since_last_post": delivery.since_last_post})
