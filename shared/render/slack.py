"""Slack Block Kit messages for alerts.

Everything that came from a log (titles and fixes carry extracted values, evidence is log text)
is escaped, so a log line containing ``<!channel>`` or ``<https://evil|click>`` shows as text and
pings or links nobody. Slack's limits are kept: 150 characters per header, 3000 per section,
2000 per field, 50 blocks; evidence is what gets cut, never the fix or the commands.
"""

from __future__ import annotations

from typing import Any

from shared.alerts.problem import Alert
from shared.render.common import clip, facts, headline, log_links, repeat_note, when

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
EVIDENCE_LIMIT = 1500
Block = dict[str, Any]


def escape(text: str) -> str:
    """Log text made inert for Slack mrkdwn: no mentions, links or broken code blocks."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("```", "ˋˋˋ")


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _pieces(text: str, room: int) -> list[str]:
    """``text`` split into pieces of at most ``room`` characters, at line ends when possible."""
    pieces, current = [], ""
    for line in text.split("\n"):
        while len(line) > room:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:room])
            line = line[room:]
        if current and len(current) + 1 + len(line) > room:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    pieces.append(current)
    return pieces


def _chunks(label: str, text: str, *, code: bool) -> list[Block]:
    """``text`` under a bold label in as many sections as it needs (nothing is cut)."""
    fence = "```" if code else ""
    room = SECTION_LIMIT - len(label) - 2 * len(fence) - 4
    pieces = [f"{fence}{piece}{fence}" for piece in _pieces(text, room)]
    pieces[0] = f"*{label}*\n{pieces[0]}"
    return [_section(piece) for piece in pieces]


def _fields(alert: Alert) -> Block:
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": clip(f"*{label}*\n{escape(value)}", FIELD_LIMIT)}
            for label, value in facts(alert)[:10]
        ],
    }


def _evidence(lines: list[str]) -> str:
    return clip("\n".join(escape(line) for line in lines), EVIDENCE_LIMIT)


def _context(alert: Alert) -> Block:
    links = " · ".join(f"<{url}|{label}>" for label, url in log_links(alert))
    parts = [f"rule `{escape(alert.rule)}`", alert.category]
    if links:
        parts.append(links)
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(parts)}]}


def fallback_text(alert: Alert) -> str:
    """The top-level ``text``: what notifications and screen readers show."""
    where = "/".join(
        escape(v) for v in (alert.endpoint, alert.variant or alert.deployment, alert.container) if v
    )
    head = escape(headline(alert))
    return f"{head} ({where})" if where else head


def message(alert: Alert) -> dict[str, Any]:
    """The full alert: header, facts, fix, commands, evidence and links."""
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(escape(headline(alert)), HEADER_LIMIT)},
        }
    ]
    note = repeat_note(alert)
    if note:
        blocks.append(_section(f"_{note}_"))
    blocks.append(_fields(alert))
    blocks += _chunks("Fix", escape(alert.fix), code=False)
    if alert.commands:
        blocks += _chunks("Commands", escape("\n".join(alert.commands)), code=True)
    if alert.evidence:
        blocks.append(_section(f"*Evidence*\n```{_evidence(alert.evidence)}```"))
    blocks.append(_context(alert))
    return {"text": fallback_text(alert), "blocks": blocks[:50]}


def thread_reply(alert: Alert) -> dict[str, Any]:
    """A reply in the alert's thread: the new count and the latest evidence."""
    seen = f"Still happening: {alert.count} event(s) so far, the latest at {when(alert.last_seen)}."
    blocks: list[Block] = [_section(seen)]
    if alert.evidence:
        blocks.append(_section(f"```{_evidence(alert.evidence)}```"))
    return {"text": escape(seen), "blocks": blocks}
