"""What a warm function instance keeps between invocations, whatever the cloud.

A serverless instance serves many invocations. Opening the state store (SDK clients,
connection pools) and compiling the rulebook are paid once per instance, not once per
invocation; notifiers are cheap and are built per invocation so rotated credentials apply.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.alerts.alerter import Alerter
from shared.classify.classifier import Classifier
from shared.config import Config
from shared.notify.base import Notifier
from shared.notify.retry import Budget
from shared.state.base import Store

#: The store an entry point uses when ``MEDIC_STATE`` is unset: nothing survives the instance.
DEFAULT_STATE = "memory"


class Runtime:
    """Per-instance cache of state stores (by URL) and the classifier of the config in force."""

    def __init__(self) -> None:
        self._stores: dict[str, Store] = {}
        self._classifier: tuple[Config, Classifier] | None = None

    def store(self, url: str) -> Store:
        """The store ``url`` names, opened on first use."""
        if url not in self._stores:
            from shared.state.factory import open_store

            self._stores[url] = open_store(url)
        return self._stores[url]

    def classifier(self, config: Config, where: str | None) -> Classifier:
        """The classifier of ``config``, rebuilt only when another config object is in force
        (configs are cached per version, so an unchanged config is the same object)."""
        if self._classifier is None or self._classifier[0] is not config:
            self._classifier = (config, config.classifier(where))
        return self._classifier[1]

    def alerter(self, config: Config, env: Mapping[str, str], seconds: float) -> Alerter:
        """An alerter for one invocation: receivers from the config or the environment (alerts
        are logged when none is configured), the ``MEDIC_STATE`` store, and ``seconds`` to
        spend on deliveries."""
        from shared.notify.factory import build_notifiers

        notifiers: dict[str, Notifier] = build_notifiers(config, env)
        if not notifiers:
            from shared.notify.log import LogNotifier

            notifiers = {"log": LogNotifier()}
        store = self.store(env.get("MEDIC_STATE") or DEFAULT_STATE)
        return Alerter(config, store, notifiers, budget=Budget(max(1.0, seconds)))
