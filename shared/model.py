"""Value objects that flow through the pipeline: log records in, findings out.

The core never sees a cloud event: adapters turn CloudWatch, EventBridge, Event Hub and file
input into :class:`LogRecord` values, and the classifier turns those into :class:`Finding` values
whose JSON form is the public contract of ``medic scan --json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

Severity = Literal["critical", "error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "error", "warning", "info")
#: Higher is more severe; used to sort findings and compare with thresholds.
SEVERITY_RANK: dict[str, int] = {"critical": 3, "error": 2, "warning": 1, "info": 0}

#: The closed category vocabulary; every rule declares exactly one of these.
CATEGORIES: dict[str, str] = {
    "out_of_quota": "subscription/account quota or regional capacity exhausted",
    "pod_unschedulable": "Kubernetes cannot place the pod",
    "image_build_failed": "the environment image failed to build",
    "image_pull_failed": "the container image cannot be pulled",
    "model_download_failed": "model or code artifacts cannot be fetched or unpacked",
    "container_start_failed": "the container never starts",
    "container_crashed": "the container started, then crashed or was terminated",
    "health_check_failed": "ping, liveness or readiness checks fail",
    "scoring_script_failed": "the user's scoring code fails",
    "missing_dependency": "a package or module the code needs is absent or incompatible",
    "model_load_failed": "the model server cannot load the model",
    "out_of_memory": "host or accelerator memory exhausted",
    "permission_denied": "an identity lacks a permission",
    "secrets_injection_failed": "secret references cannot be resolved at deployment",
    "resource_not_found": "a named resource does not exist",
    "invalid_configuration": "the deployment or function configuration is invalid",
    "cluster_unreachable": "the platform cannot reach or authenticate to its cluster or network",
    "operation_conflict": "a concurrent operation cancelled or blocked this one",
    "deployment_timeout": "the deployment did not become ready in time",
    "platform_error": "the cloud provider's own infrastructure failed",
    "model_error": "the model container answered an invocation with an error",
    "bad_request": "the request does not fit what the model expects",
    "payload_too_large": "request or inter-container payload over a size limit",
    "request_timeout": "the model took longer than the allowed time",
    "container_unresponsive": "the platform got no answer at all from the container",
    "throttled": "too many requests",
    "bandwidth_limited": "the endpoint's bandwidth limit delays requests",
    "cors_blocked": "a browser call was blocked by CORS",
    "caller_code_error": "the calling application is at fault",
    "unclassified": "an error-level event that matches no rule",
}

#: Fields every record may carry and every rule may name in its templates.
LOCATION_FIELDS: tuple[str, ...] = (
    "cloud",
    "endpoint",
    "variant",
    "deployment",
    "instance",
    "container",
    "region",
    "account",
    "log_group",
    "stream",
)


_SURROGATES = re.compile("[\ud800-\udfff]")


def utf8_safe(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD. JSON escapes such as ``"\\ud800"``
    (a UTF-16 pair cut in half) decode to them, and RE2, which matches UTF-8, cannot take a
    string that holds one."""
    return text if text.isascii() else _SURROGATES.sub("\ufffd", text)


@dataclass(slots=True)
class LogRecord:
    """One log event as delivered by its source, with what the source tells about its origin.

    ``source`` names where it came from (a file path, a log group, an Azure resource id) and
    ``stream`` the stream inside it; records of one source and stream are grouped into multi-line
    events. ``line`` is the 1-based line number when the record came from a file.

    A record is a value: nothing changes it once made. It is not declared frozen because a
    frozen dataclass sets each of its fields through ``object.__setattr__``, which makes every
    record three times as dear to build, and a delivery builds one per line it keeps.
    """

    message: str
    cloud: str | None = None
    endpoint: str | None = None
    variant: str | None = None
    deployment: str | None = None
    instance: str | None = None
    container: str | None = None
    timestamp: datetime | None = None
    source: str | None = None
    stream: str | None = None
    line: int | None = None
    event_id: str | None = None
    region: str | None = None
    account: str | None = None

    def __post_init__(self) -> None:
        # Text enters the pipeline here, whatever the source: a lone surrogate would break RE2
        # and every store, so it is replaced once, at the edge.
        for name in _RECORD_TEXT:
            value = getattr(self, name)
            if value and not value.isascii():
                setattr(self, name, utf8_safe(value))

    def location(self) -> dict[str, str]:
        """The origin fields this record knows, for templates and findings."""
        known = {
            "cloud": self.cloud,
            "endpoint": self.endpoint,
            "variant": self.variant,
            "deployment": self.deployment,
            "instance": self.instance,
            "container": self.container,
            "region": self.region,
            "account": self.account,
            "stream": self.stream,
        }
        if self.cloud == "aws" and self.source and self.source.startswith("/aws/"):
            known["log_group"] = self.source
        if (
            self.cloud == "azure"
            and self.source
            and self.source.lower().startswith("/subscriptions/")
        ):
            known["resource_id"] = self.source
        return {k: v for k, v in known.items() if v}


#: The text fields of a record.
_RECORD_TEXT = tuple(f.name for f in fields(LogRecord) if str(f.type).startswith("str"))


def finding_key(
    file: str | None,
    cloud: str | None,
    endpoint: str | None,
    variant: str | None,
    deployment: str | None,
    container: str | None,
    rule: str,
    template: str | None,
    title: str,
) -> tuple[str | None, ...]:
    """The identity of a problem (see :meth:`Finding.key`), also computed before a finding
    is built, to merge a repeat into the known one."""
    return (file, cloud, endpoint, variant, deployment, container, rule, template, title)


@dataclass(slots=True)
class Finding:
    """One problem: a rule's diagnosis of one or more events at one place.

    Findings with the same :meth:`key` describe the same problem and are merged: ``count`` is
    how many events it covers, ``first_seen``/``last_seen`` their time span (``None`` when the
    input carries no timestamps), ``evidence`` a few of the log lines it rests on.
    """

    rule: str
    category: str
    severity: Severity
    title: str
    fix: str
    cloud: str | None = None
    endpoint: str | None = None
    variant: str | None = None
    deployment: str | None = None
    instance: str | None = None
    container: str | None = None
    file: str | None = None
    count: int = 1
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    evidence: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    docs: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    #: Order of first occurrence within one run, used to sort findings of equal severity.
    seq: int = 0
    #: From a fallback or the catch-all (a rule of negative priority) rather than a diagnosis.
    generic: bool = False

    def key(self) -> tuple[str | None, ...]:
        """Identity of the problem: where it happened, which rule, the masked message (the
        ``template`` field, as in the stored problem's key, so a batch merges exactly what
        separate batches would alert on as one problem) and the rendered title (the rule's key
        values)."""
        return finding_key(
            self.file,
            self.cloud,
            self.endpoint,
            self.variant,
            self.deployment,
            self.container,
            self.rule,
            self.fields.get("template"),
            self.title,
        )

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape of a finding (the operator contract)."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "file": self.file,
            "rule": self.rule,
            "category": self.category,
            "severity": self.severity,
            "title": self.title,
            "cloud": self.cloud,
            "endpoint": self.endpoint,
            "variant": self.variant,
            "deployment": self.deployment,
            "instance": self.instance,
            "container": self.container,
            "count": self.count,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "evidence": list(self.evidence),
            "fix": self.fix,
            "commands": list(self.commands),
            "docs": self.docs,
        }
