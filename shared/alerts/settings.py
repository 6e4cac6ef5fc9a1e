"""What a user tunes about alerting: which findings alert, when, where they go, what is hidden.

These models are part of the config file schema (:class:`shared.config.Config`); every key is
documented in ``docs/config.md``. Credentials never appear here: receivers name the environment
variables that hold them, so a config file can be committed and shared.

Built on every cold start, like the rule schema: annotations are objects rather than strings and
empty defaults are plain values (see :mod:`shared.rulebook.schema`).
"""

import fnmatch
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from shared.model import SEVERITY_RANK, Finding, Severity
from shared.rulebook.schema import Category, Pattern

EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
ReceiverName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


class Threshold(_Strict):
    """Alert only once ``count`` events of one problem fall within ``within_minutes``."""

    count: int = Field(default=1, ge=1, le=100_000)
    within_minutes: float = Field(default=10, gt=0, le=7 * 24 * 60)


class Override(_Strict):
    """Settings for one category or one rule; unset keys fall back to the wider setting."""

    enabled: bool | None = None
    severity: Severity | None = None
    threshold: Threshold | None = None
    cooldown_minutes: float | None = Field(default=None, ge=0, le=30 * 24 * 60)


class Overrides(_Strict):
    """Per-category and per-rule settings; a rule's override beats its category's."""

    categories: dict[Category, Override] = {}
    rules: dict[str, Override] = {}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Selector(_Strict):
    """Which findings a route or mute applies to; every key given must match, none means all.

    ``endpoint`` entries are shell-style globs (``fraud-*``); the others are exact values.
    """

    cloud: Literal["aws", "azure"] | None = None
    endpoint: list[str] | None = None
    category: list[Category] | None = None
    rule: list[str] | None = None
    severity: list[Severity] | None = None
    container: list[str] | None = None

    _lists = field_validator(
        "endpoint", "category", "rule", "severity", "container", mode="before"
    )(_one_or_many)

    def matches(self, finding: Finding) -> bool:
        """Whether ``finding`` satisfies every key of this selector."""
        if self.cloud is not None and finding.cloud != self.cloud:
            return False
        if self.endpoint is not None and not any(
            fnmatch.fnmatchcase(finding.endpoint or "", glob) for glob in self.endpoint
        ):
            return False
        checks = (
            (self.category, finding.category),
            (self.rule, finding.rule),
            (self.severity, finding.severity),
            (self.container, finding.container),
        )
        return all(wanted is None or value in wanted for wanted, value in checks)


class Mute(_Strict):
    """Silence matching findings until a time, with the reason shown by ``config check``."""

    match: Selector
    until: Annotated[datetime, AfterValidator(_aware)]
    reason: str = Field(min_length=1)

    def active(self, now: datetime) -> bool:
        """Whether the mute still holds at ``now``."""
        return now < self.until


class Route(_Strict):
    """Send matching findings to ``receivers``; the first matching route wins unless it says
    ``continue: true``, in which case later routes are tried too."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    match: Selector = Field(default_factory=Selector)
    receivers: list[ReceiverName] = Field(min_length=1)
    continue_: bool = Field(default=False, alias="continue")


class SlackBot(_Strict):
    """Slack through the Web API with a bot token: can update its message and reply in thread."""

    type: Literal["slack"]
    channel: str | None = Field(default=None, min_length=1)
    channel_env: EnvName = "SLACK_CHANNEL"
    token_env: EnvName = "SLACK_BOT_TOKEN"
    api_url_env: EnvName = "SLACK_API_URL"


class SlackWebhook(_Strict):
    """Slack through an incoming webhook: posts only, cannot edit or thread."""

    type: Literal["slack_webhook"]
    url_env: EnvName = "SLACK_WEBHOOK_URL"


class TeamsWebhook(_Strict):
    """Microsoft Teams through a Workflows webhook, as an Adaptive Card."""

    type: Literal["teams"]
    url_env: EnvName = "TEAMS_WEBHOOK_URL"


Receiver = Annotated[SlackBot | SlackWebhook | TeamsWebhook, Field(discriminator="type")]


class AlertSettings(_Strict):
    """The alerting part of the config file.

    Only ever validated as part of :class:`shared.config.Config`, which builds its own validator,
    so none is built for this class unless something validates one directly.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    min_severity: Severity = "error"
    threshold: Threshold = Field(default_factory=Threshold)
    cooldown_minutes: float = Field(default=60, ge=0, le=30 * 24 * 60)
    overrides: Overrides = Field(default_factory=Overrides)
    mutes: list[Mute] = []
    receivers: dict[ReceiverName, Receiver] = {}
    routes: list[Route] = []
    default_receivers: list[ReceiverName] | None = None
    redact: list[Pattern] = []


def severity_at_least(severity: str, floor: str) -> bool:
    """Whether ``severity`` is ``floor`` or worse."""
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[floor]
