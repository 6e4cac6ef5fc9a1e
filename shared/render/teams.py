"""Microsoft Teams Adaptive Cards (schema 1.5) for Workflows webhooks.

Log text is escaped for the card's Markdown subset so it cannot form links or formatting, and
the whole payload is kept under Teams' size limit by shortening the evidence only.
"""

from __future__ import annotations

import json
from typing import Any

from shared.alerts.problem import Alert
from shared.render.common import clip, facts, headline, log_links, repeat_note

#: Teams refuses cards much over 28 KB; staying under 20 KB leaves room for its envelope.
SIZE_LIMIT = 20_000
_COLOR = {"critical": "Attention", "error": "Attention", "warning": "Warning", "info": "Accent"}
#: The characters that make links and emphasis in the card's Markdown subset.
_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\*_[]~`"})


def escape(text: str) -> str:
    """Log text made inert for the card's Markdown: no links or emphasis."""
    return text.translate(_MARKDOWN)


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _card(alert: Alert, evidence: list[str]) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        _text(
            escape(headline(alert)),
            size="Large",
            weight="Bolder",
            color="Good" if alert.recovered else _COLOR.get(alert.severity, "Default"),
        )
    ]
    note = repeat_note(alert)
    if note:
        body.append(_text(note, isSubtle=True))
    body.append(
        {
            "type": "FactSet",
            "facts": [{"title": label, "value": escape(value)} for label, value in facts(alert)],
        }
    )
    body += [_text("**Fix**", spacing="Medium"), _text(escape(alert.fix))]
    if alert.commands:
        body += [
            _text("**Commands**", spacing="Medium"),
            _text(escape("\n\n".join(alert.commands)), fontType="Monospace"),
        ]
    if evidence:
        body += [
            _text("**Evidence**", spacing="Medium"),
            _text("\n\n".join(escape(line) for line in evidence), fontType="Monospace"),
        ]
    body.append(_text(f"rule {escape(alert.rule)} · {alert.category}", isSubtle=True, size="Small"))
    actions = [
        {"type": "Action.OpenUrl", "title": label, "url": url} for label, url in log_links(alert)
    ]
    content: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.5",
        "msteams": {"width": "Full"},
        "body": body,
    }
    if actions:
        content["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": content}
        ],
    }


def card(alert: Alert) -> dict[str, Any]:
    """The Workflows webhook payload for an alert, under :data:`SIZE_LIMIT` bytes."""
    evidence = [clip(line, 1000) for line in alert.evidence]
    payload = _card(alert, evidence)
    while len(json.dumps(payload).encode()) > SIZE_LIMIT and evidence:
        if len(evidence) > 1:
            evidence.pop()
        elif len(evidence[0]) > 100:
            evidence[0] = clip(evidence[0], len(evidence[0]) // 2)
        else:
            evidence = []
        payload = _card(alert, evidence)
    return payload
