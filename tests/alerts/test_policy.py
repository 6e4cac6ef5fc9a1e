"""Thresholds, cooldowns, overrides, mutes and routes decide which findings alert, when and
where; checked through the alerter with local chat servers standing in for Slack and Teams."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.model import LogRecord
from shared.state.memory import MemoryStore
from tests.alerts.helpers import OOM, T0, Clock, alerter, process, record
from tests.chat_servers import Webhook

THROTTLED = "POST /score returned 429 (Too many pending requests)"
TRACEBACK = "Traceback (most recent call last):\nValueError: could not convert string to float"


def webhooks(slack: Webhook, teams: Webhook) -> dict[str, str]:
    return {"SLACK_WEBHOOK_URL": slack.url, "TEAMS_WEBHOOK_URL": teams.url}


def receivers() -> dict[str, Any]:
    return {
        "receivers": {
            "oncall": {"type": "slack_webhook"},
            "ml-team": {"type": "teams"},
        }
    }


def test_zero_config_alerts_errors_on_first_occurrence_to_every_destination(
    slack_webhook: Webhook, teams_webhook: Webhook
) -> None:
    report = process(
        alerter(MemoryStore(), webhooks(slack_webhook, teams_webhook)),
        record(OOM),
        record(THROTTLED),
    )
    assert len(slack_webhook.requests) == 1 and len(teams_webhook.requests) == 1
    assert report.outcome.held == {"below minimum severity or switched off": 1}  # the warning


def test_threshold_waits_for_n_events_within_the_window(
    slack_webhook: Webhook, teams_webhook: Webhook
) -> None:
    store = MemoryStore()
    config = {"threshold": {"count": 3, "within_minutes": 5}}
    env = {"SLACK_WEBHOOK_URL": slack_webhook.url}
    # two events, then a third 20 minutes later: never three within five minutes
    process(alerter(store, env, config), record(OOM, at=T0), record(OOM, at=T0))
    process(alerter(store, env, config), record(OOM, at=T0 + timedelta(minutes=20)))
    assert slack_webhook.requests == []
    process(alerter(store, env, config), record(OOM, at=T0 + timedelta(minutes=22)))
    assert slack_webhook.requests == []
    process(alerter(store, env, config), record(OOM, at=T0 + timedelta(minutes=23)))
    assert len(slack_webhook.requests) == 1
    assert "*Count*\\n5" in str(slack_webhook.requests[0].body["blocks"])


def test_overrides_per_category_and_rule(slack_webhook: Webhook, teams_webhook: Webhook) -> None:
    config = {
        "min_severity": "critical",
        "overrides": {
            "categories": {"throttled": {"severity": "critical"}},
            "rules": {"resources.cuda-out-of-memory": {"enabled": False}},
        },
    }
    env = {"SLACK_WEBHOOK_URL": slack_webhook.url}
    report = process(
        alerter(MemoryStore(), env, config), record(OOM), record(THROTTLED), record(TRACEBACK)
    )
    [message] = slack_webhook.requests
    assert "429" in message.body["text"] and "CRITICAL" in message.body["text"]
    assert report.outcome.held["below minimum severity or switched off"] == 2


def test_per_category_cooldown(slack_webhook: Webhook, teams_webhook: Webhook) -> None:
    config = {"overrides": {"categories": {"out_of_memory": {"cooldown_minutes": 5}}}}
    env = {"SLACK_WEBHOOK_URL": slack_webhook.url}
    store, clock = MemoryStore(), Clock()
    process(alerter(store, env, config, clock=clock), record(OOM))
    clock.advance(6)
    process(alerter(store, env, config, clock=clock), record(OOM))
    assert len(slack_webhook.requests) == 2


def test_mutes_hold_matching_findings_until_they_expire(
    slack_webhook: Webhook, teams_webhook: Webhook
) -> None:
    config = {
        "mutes": [
            {
                "match": {"endpoint": "fraud-*", "category": "out_of_memory"},
                "until": (T0 + timedelta(hours=1)).isoformat(),
                "reason": "GPU upgrade in progress",
            }
        ]
    }
    env = {"SLACK_WEBHOOK_URL": slack_webhook.url}
    store, clock = MemoryStore(), Clock()
    report = process(alerter(store, env, config, clock=clock), record(OOM))
    assert report.outcome.held == {"muted: GPU upgrade in progress": 1}
    assert slack_webhook.requests == []
    other = record(OOM, endpoint="churn", variant="AllTraffic", instance="i-1")
    process(alerter(store, env, config, clock=clock), other)  # another endpoint is not muted
    clock.advance(61)
    process(alerter(store, env, config, clock=clock), record(OOM))
    assert len(slack_webhook.requests) == 2


def test_routes_send_by_endpoint_and_severity_with_continue(
    slack_webhook: Webhook, teams_webhook: Webhook
) -> None:
    config = receivers() | {
        "min_severity": "warning",
        "routes": [
            {
                "match": {"endpoint": "fraud-*", "severity": ["critical", "error"]},
                "receivers": ["oncall"],
                "continue": True,
            },
            {"match": {"cloud": "aws"}, "receivers": ["ml-team"]},
        ],
        "default_receivers": [],
    }
    env = webhooks(slack_webhook, teams_webhook)
    process(alerter(MemoryStore(), env, config), record(OOM))
    assert len(slack_webhook.requests) == 1 and len(teams_webhook.requests) == 1
    azure = LogRecord(message=THROTTLED, cloud="azure", endpoint="credit-ep", deployment="blue")
    report = process(alerter(MemoryStore(), env, config), azure)
    assert report.outcome.held == {"no receiver": 1}  # no route matched, no default receivers
    assert len(slack_webhook.requests) == 1 and len(teams_webhook.requests) == 1


def test_two_problems_alert_twice_whether_they_come_in_one_batch_or_two(
    teams_webhook: Webhook,
) -> None:
    """Problems are told apart by their masked message: the same rule at the same place with
    different messages is two alerts, however the log lines happened to be batched."""
    frames = (
        "Traceback (most recent call last):\n"
        '  File "/opt/ml/model/code/inference.py", line 41, in predict_fn\n'
        "    return model.predict(data)\n"
    )
    text = frames + "ValueError: could not convert string to float: 'abc'"
    nan = frames + "ValueError: Input contains NaN"
    env = {"TEAMS_WEBHOOK_URL": teams_webhook.url}
    together = process(alerter(MemoryStore(), env), record(text), record(nan))
    assert {f.title for f in together.findings} == {"Inference code raised ValueError"}
    assert len(together.findings) == 2 and len(teams_webhook.requests) == 2
    store = MemoryStore()
    process(alerter(store, env), record(text))
    process(alerter(store, env), record(nan))
    assert len(teams_webhook.requests) == 4
