"""The exact Slack and Teams payloads, pinned by golden files, and what makes them safe:
escaping of log text, redaction of credentials, and the services' size limits.

Set ``MEDIC_UPDATE_GOLDEN=1`` to rewrite the golden files after an intended change, then
review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from shared.alerts.problem import Alert
from shared.cli.replay import records_of
from shared.model import Finding
from shared.redact import Redactor
from shared.render import slack, teams
from tests.alerts.helpers import CLASSIFIER, record

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "golden"
SAMPLES = {
    "pipeline_cuda_oom": "aws/cloudwatch_pipeline_cuda_oom.json",
    "missing_module": "aws/cloudwatch_missing_module.json",
    "endpoint_failed": "aws/eventbridge_endpoint_failed.json",
    "azure_traceback": "azure/eventhub_console_traceback.json",
}


def alert_of(finding: Finding, redact: Redactor | None = None) -> Alert:
    alert = Alert.from_finding(finding, redact or Redactor(), finding.severity)
    return alert.model_copy(
        update={
            "count": finding.count,
            "first_seen": finding.first_seen,
            "last_seen": finding.last_seen,
        }
    )


def sample_alert(name: str) -> Alert:
    path = ROOT / "events" / SAMPLES[name]
    records = list(records_of(json.loads(path.read_text()), str(path)))
    return alert_of(CLASSIFIER.classify(records)[0])


def check_golden(name: str, payload: dict[str, Any]) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("MEDIC_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing; run with MEDIC_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_payloads_match_the_golden_files(name: str) -> None:
    alert = sample_alert(name)
    check_golden(f"{name}.slack", slack.message(alert))
    check_golden(f"{name}.slack-reply", slack.thread_reply(alert))
    check_golden(f"{name}.teams", teams.card(alert))


def test_a_repeat_after_cooldown_and_a_recovery_say_so() -> None:
    alert = sample_alert("pipeline_cuda_oom").model_copy(update={"since_last_post": 12})
    assert "Seen 12 more time(s)" in json.dumps(slack.message(alert))
    assert "Seen 12 more time(s)" in json.dumps(teams.card(alert))
    recovered = alert.model_copy(update={"recovered": True, "since_last_post": None})
    assert slack.message(recovered)["text"].startswith("✅ RECOVERED")


ADVERSARIAL = [
    "<!channel> <!here> <@U024BE7LH> <#C123|general> "
    "<https://evil.example/login|click here to fix> &lt;b&gt; ``` ```",
    "Traceback (most recent call last):\nValueError: [reset your password](https://evil.example) "
    "**urgent** _now_ <at>everyone</at>",
]


def adversarial_alert(text: str) -> Alert:
    [finding, *_] = CLASSIFIER.classify([record(f"ERROR {text}")])
    return alert_of(finding)


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_log_text_cannot_ping_link_or_format_in_slack(text: str) -> None:
    payload = json.dumps(slack.message(adversarial_alert(text)))
    for live in ("<!channel>", "<!here>", "<@U024", "<#C123", "<https://evil", "```  ```"):
        assert live not in payload
    assert "&lt;!channel&gt;" in payload or "reset your password" in payload
    # the rule's own links (console, docs) are the only live links left
    links = [part for part in payload.split("<") if part.startswith("http")]
    assert all(not link.startswith("https://evil") for link in links)


def test_log_text_cannot_link_or_format_in_teams() -> None:
    card = json.dumps(teams.card(adversarial_alert(ADVERSARIAL[1])))
    assert "[reset your password](" not in card
    assert "\\\\[reset your password\\\\]" in card
    assert "**urgent**" not in card


SECRETS = {
    "aws key id": ("creds AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
    "aws secret": (
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG",
    ),
    "bearer": ("Authorization: Bearer abcdef0123456789abcdef", "abcdef0123456789abcdef"),
    "jwt": (
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9P",
        "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
    ),
    "sas": (
        "https://acct.blob.core.windows.net/models/m.pkl?sv=2022-11-02&se=2026&sig=Zm9vYmFyYmF6cXV4",
        "Zm9vYmFyYmF6cXV4",
    ),
    "connection string": (
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0a2V5c2VjcmV0a2V5==;",
        "c2VjcmV0a2V5c2VjcmV0a2V5",
    ),
    "slack token": ("using xoxb-1234567890-0987654321-AbCdEfGhIjKl", "AbCdEfGhIjKl"),
    "url password": ("connect postgres://scorer:Hunter2Pass@db.internal:5432/x", "Hunter2Pass"),
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_credentials_in_log_text_never_reach_a_message(name: str) -> None:
    line, secret = SECRETS[name]
    text = f"Traceback (most recent call last):\nRuntimeError: failed with {line}"
    alert = adversarial_alert(text)
    for payload in (slack.message(alert), slack.thread_reply(alert), teams.card(alert)):
        assert secret not in json.dumps(payload)
    assert "REDACTED" in " ".join(alert.evidence)


def test_config_patterns_redact_too() -> None:
    [finding] = CLASSIFIER.classify(
        [record("Traceback (most recent call last):\nKeyError: customer ACME-12345-XYZ")]
    )
    alert = alert_of(finding, Redactor(("ACME-[0-9]+-[A-Z]+",)))
    assert "ACME-12345" not in json.dumps(slack.message(alert))


def test_limits_cut_evidence_never_the_fix() -> None:
    base = sample_alert("pipeline_cuda_oom")
    long_fix = "Do this. " * 600  # 5,400 characters
    alert = base.model_copy(
        update={"fix": long_fix, "evidence": ["x" * 5000] * 5, "title": "T" * 300}
    )
    message = slack.message(alert)
    sections = [b for b in message["blocks"] if b["type"] == "section" and "text" in b]
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert len(message["blocks"][0]["text"]["text"]) <= 150
    fix_text = "".join(b["text"]["text"] for b in sections if "Do this" in b["text"]["text"])
    assert fix_text.count("Do this.") == 600
    card = teams.card(alert.model_copy(update={"evidence": ["y" * 30000] * 5}))
    assert len(json.dumps(card).encode()) <= teams.SIZE_LIMIT
    assert json.dumps(card).count("Do this.") == 600
