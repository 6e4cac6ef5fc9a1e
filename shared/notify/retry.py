"""Retrying a delivery within a time budget: honour Retry-After, back off on the rest.

A Lambda invocation or a CLI run has a limited time; a wait that would not fit is not started,
and the message stays pending in the store for the next run instead.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from shared.notify.base import DeliveryError

T = TypeVar("T")


@dataclass
class Budget:
    """The time a run may still spend on delivery, in seconds from ``clock``'s point of view."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.seconds - (self.clock() - self.started))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a retryable failure."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0


def with_retries(
    call: Callable[[], T],
    budget: Budget,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``call()``, retried on retryable :class:`DeliveryError` while attempts and budget last.

    The last error is raised when giving up, so the caller can keep the message pending.
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except DeliveryError as error:
            if not error.retryable or attempt == policy.attempts:
                raise
            backoff = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
            wait = error.retry_after if error.retry_after is not None else backoff
            wait += random.uniform(0, policy.base_delay / 2) if error.retry_after is None else 0
            if wait > budget.remaining():
                raise DeliveryError(
                    f"{error} (a retry in {wait:.0f}s would not fit the time left)",
                    retryable=True,
                    retry_after=error.retry_after,
                ) from error
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
