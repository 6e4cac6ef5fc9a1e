"""Routing: which receivers a finding goes to. Delivery is someone else's job."""

from __future__ import annotations

from shared.alerts.settings import AlertSettings
from shared.model import Finding


def receivers_for(settings: AlertSettings, finding: Finding, available: list[str]) -> list[str]:
    """Receiver names for ``finding``, in first-mention order.

    Routes are tried in order; the first that matches ends the walk unless it says
    ``continue``. A finding no route matched goes to ``default_receivers`` (all receivers
    when that key is absent). Names not in ``available`` are left out.
    """
    chosen: list[str] = []
    matched = False
    for route in settings.routes:
        if not route.match.matches(finding):
            continue
        matched = True
        chosen.extend(route.receivers)
        if not route.continue_:
            break
    if not matched:
        defaults = settings.default_receivers
        chosen = list(available) if defaults is None else list(defaults)
    return [name for name in dict.fromkeys(chosen) if name in available]
