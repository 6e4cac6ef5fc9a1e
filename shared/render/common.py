"""What both renderings share: labels, times, links to the logs, and safe truncation."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from shared.alerts.problem import Alert

SEVERITY_MARK = {"critical": "🔴", "error": "🟠", "warning": "🟡", "info": "🔵"}


def headline(alert: Alert) -> str:
    """``🔴 CRITICAL · title``, or the recovered form."""
    if alert.recovered:
        return f"✅ RECOVERED · {alert.title}"
    return f"{SEVERITY_MARK.get(alert.severity, '')} {alert.severity.upper()} · {alert.title}"


def when(value: datetime | None) -> str | None:
    """A time as people read it in an alert: UTC, to the second."""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else None


def facts(alert: Alert) -> list[tuple[str, str]]:
    """The labelled facts of an alert, only those that are known."""
    rows = [
        ("Endpoint", alert.endpoint),
        ("Variant", alert.variant),
        ("Deployment", alert.deployment),
        ("Container", alert.container),
        ("Instance", alert.instance),
        ("Count", str(alert.count)),
        ("First seen", when(alert.first_seen)),
        ("Last seen", when(alert.last_seen)),
    ]
    return [(label, value) for label, value in rows if value]


def repeat_note(alert: Alert) -> str | None:
    """For a repeat posted after the cooldown: how many events came in between."""
    if alert.since_last_post is None:
        return None
    return f"Seen {alert.since_last_post} more time(s) since the previous alert for this problem."


def _cloudwatch_part(value: str) -> str:
    return quote(quote(value, safe=""), safe="").replace("%", "$")


def _aws_console(region: str | None, service: str, fragment: str) -> str:
    """A console page of ``service``; without a region the console picks the user's last."""
    host = f"{region}.console.aws.amazon.com" if region else "console.aws.amazon.com"
    query = f"?region={region}" if region else ""
    return f"https://{host}/{service}/home{query}#{fragment}"


def log_links(alert: Alert) -> list[tuple[str, str]]:
    """(label, URL) of the console pages that show this problem's logs."""
    links: list[tuple[str, str]] = []
    if alert.cloud == "aws" and alert.log_group:
        url = _aws_console(alert.region, "cloudwatch", "logsV2:log-groups/log-group/")
        url += _cloudwatch_part(alert.log_group)
        if alert.stream:
            url += "/log-events/" + _cloudwatch_part(alert.stream)
        links.append(("CloudWatch logs", url))
    if alert.cloud == "aws" and alert.endpoint:
        fragment = f"/endpoints/{quote(alert.endpoint, safe='')}"
        links.append(("Endpoint", _aws_console(alert.region, "sagemaker", fragment)))
    if alert.cloud == "azure" and alert.resource_id:
        base = f"https://portal.azure.com/#@/resource{quote(alert.resource_id, safe='/')}"
        links.append(("Azure portal", f"{base}/overview"))
        links.append(("Endpoint logs", f"{base}/logs"))
    if alert.docs:
        links.append(("Docs", alert.docs))
    return links


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
