"""Which findings alert and with what threshold and cooldown, after overrides and mutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.alerts.settings import AlertSettings, Mute, Override, Threshold, severity_at_least
from shared.model import Finding, Severity


@dataclass(frozen=True)
class Policy:
    """The settings in force for one finding."""

    severity: Severity
    threshold: Threshold
    cooldown: timedelta


def _pick(overrides: list[Override | None], name: str, default: object) -> object:
    for override in overrides:
        value = getattr(override, name) if override is not None else None
        if value is not None:
            return value
    return default


def policy_for(settings: AlertSettings, finding: Finding) -> Policy | None:
    """The policy for ``finding``, or ``None`` when it must not alert (switched off, or below
    the minimum severity once overrides have set its severity)."""
    layers = [
        settings.overrides.rules.get(finding.rule),
        settings.overrides.categories.get(finding.category),
    ]
    if _pick(layers, "enabled", True) is False:
        return None
    severity: Severity = _pick(layers, "severity", finding.severity)  # type: ignore[assignment]
    if not severity_at_least(severity, settings.min_severity):
        return None
    threshold: Threshold = _pick(layers, "threshold", settings.threshold)  # type: ignore[assignment]
    minutes: float = _pick(layers, "cooldown_minutes", settings.cooldown_minutes)  # type: ignore[assignment]
    return Policy(severity, threshold, timedelta(minutes=minutes))


def muted_by(settings: AlertSettings, finding: Finding, now: datetime) -> Mute | None:
    """The first mute in force at ``now`` that covers ``finding``."""
    return next((m for m in settings.mutes if m.active(now) and m.match.matches(finding)), None)
