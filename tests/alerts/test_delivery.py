"""Delivery through the real slack-sdk client and urllib against local servers that answer as
Slack and Teams do: one message per problem, updates and thread replies for repeats, retries
that honour Retry-After, clear errors that are not retried, and nothing lost or doubled."""

from __future__ import annotations

import logging

import pytest

from shared.state.memory import MemoryStore
from tests.alerts.helpers import OOM, Clock, alerter, process, record
from tests.chat_servers import Failure, SlackApi, Webhook


def bot_env(slack: SlackApi) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_CHANNEL": "C0ALERTS",
        "SLACK_API_URL": slack.url,
    }


def test_first_occurrence_posts_one_message_naming_place_and_fix(slack_api: SlackApi) -> None:
    report = process(alerter(MemoryStore(), bot_env(slack_api)), record(OOM), record(OOM))
    [post] = slack_api.posts()
    assert post["channel"] == "C0ALERTS"
    text = str(post["blocks"])
    assert "fraud-detector" in text and "AllTraffic" in text and "container-2" in text
    assert "*Fix*" in text and "GPU" in text
    assert "CRITICAL" in post["text"] or "ERROR" in post["text"]
    assert [s.action for s in report.outcome.sent] == ["post"]


def test_repeats_within_cooldown_update_the_message_and_reply_once(slack_api: SlackApi) -> None:
    store, clock = MemoryStore(), Clock()
    process(alerter(store, bot_env(slack_api), clock=clock), record(OOM))
    for minute in (5, 10, 20):
        clock.advance(5 if minute == 5 else minute - 5)
        process(alerter(store, bot_env(slack_api), clock=clock), record(OOM))
    paths = slack_api.paths()
    assert len(slack_api.posts()) == 1
    replies = [r for r in slack_api.requests if "thread_ts" in r.body]
    assert len(replies) == 1  # at most one thread reply per cooldown (60 minutes by default)
    assert replies[0].body["thread_ts"] == "1700000000.000001"
    updates = [r for r in slack_api.requests if r.path.endswith("chat.update")]
    assert len(updates) == 3 and paths.count("/api/chat.update") == 3
    assert "*Count*\\n4" in str(updates[-1].body["blocks"])
    assert updates[-1].body["ts"] == "1700000000.000001"
    clock.advance(61)
    process(alerter(store, bot_env(slack_api), clock=clock), record(OOM))
    assert len(slack_api.posts()) == 2  # after the cooldown the problem may alert again


def test_webhooks_post_again_only_after_cooldown_saying_how_many_since(
    slack_webhook: Webhook, teams_webhook: Webhook
) -> None:
    env = {"SLACK_WEBHOOK_URL": slack_webhook.url, "TEAMS_WEBHOOK_URL": teams_webhook.url}
    store, clock = MemoryStore(), Clock()
    process(alerter(store, env, clock=clock), record(OOM))
    for _ in range(3):
        clock.advance(10)
        process(alerter(store, env, clock=clock), record(OOM))
    assert len(slack_webhook.requests) == 1 and len(teams_webhook.requests) == 1
    clock.advance(40)
    process(alerter(store, env, clock=clock), record(OOM))
    assert len(slack_webhook.requests) == 2 and len(teams_webhook.requests) == 2
    assert "Seen 4 more time(s) since the previous alert" in str(slack_webhook.requests[1].body)
    assert "Seen 4 more time(s)" in str(teams_webhook.requests[1].body)
    assert teams_webhook.requests[0].body["attachments"][0]["content"]["version"] == "1.5"


def test_slack_429_waits_for_retry_after_then_delivers(slack_api: SlackApi) -> None:
    slack_api.fail_next(Failure(status=429, retry_after=1, body="ratelimited"))
    report = process(alerter(MemoryStore(), bot_env(slack_api)), record(OOM))
    assert len(slack_api.requests) == 2
    assert [s.action for s in report.outcome.sent] == ["post"]
    assert not report.outcome.failed


def test_retry_after_beyond_the_time_budget_keeps_the_alert_for_the_next_run(
    slack_api: SlackApi,
) -> None:
    store = MemoryStore()
    slack_api.fail_next(Failure(status=429, retry_after=120, body="ratelimited"))
    report = process(alerter(store, bot_env(slack_api), budget=5), record(OOM))
    assert report.outcome.failed and "would not fit the time left" in report.outcome.failed[0]
    assert len(slack_api.requests) == 1 and store.pending()
    report = process(alerter(store, bot_env(slack_api)))  # the next run, no new events
    assert [s.action for s in report.outcome.sent] == ["post"]
    assert len(slack_api.posts()) == 2 and not store.pending()


def test_server_errors_are_retried_with_backoff(
    slack_api: SlackApi, teams_webhook: Webhook
) -> None:
    slack_api.fail_next(Failure(status=500), Failure(status=503))
    teams_webhook.fail_next(Failure(status=502), Failure(status=429, retry_after=1))
    env = bot_env(slack_api) | {"TEAMS_WEBHOOK_URL": teams_webhook.url}
    report = process(alerter(MemoryStore(), env), record(OOM))
    assert sorted(s.receiver for s in report.outcome.sent) == ["slack", "teams"]
    assert len(slack_api.requests) == 3 and len(teams_webhook.requests) == 3


@pytest.mark.parametrize("error", ["invalid_auth", "channel_not_found", "not_in_channel"])
def test_slack_refusals_are_clear_and_not_retried_but_kept(
    slack_api: SlackApi, teams_webhook: Webhook, error: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = MemoryStore()
    slack_api.fail_next(Failure(error=error))
    env = bot_env(slack_api) | {"TEAMS_WEBHOOK_URL": teams_webhook.url}
    report = process(alerter(store, env), record(OOM))
    assert len(slack_api.requests) == 1  # not retried
    assert report.outcome.failed == [f"slack: Slack chat_postMessage answered {error}"]
    assert [s.receiver for s in report.outcome.sent] == ["teams"]  # the other one still got it
    process(alerter(store, env))  # fixed meanwhile: the next run delivers it, once
    assert len(slack_api.posts()) == 2 and len(teams_webhook.requests) == 1
    assert slack_api.token not in caplog.text and "/workflows/" not in "\n".join(
        r.getMessage() for r in caplog.records if r.name != "werkzeug"
    )


def test_teams_client_errors_are_clear_and_webhook_secrets_stay_hidden(
    teams_webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    url = teams_webhook.url + "?api-version=1&sig=TOPSECRETSIG"
    teams_webhook.fail_next(Failure(status=400, body="bad card"))
    caplog.set_level(logging.DEBUG)
    report = process(alerter(MemoryStore(), {"TEAMS_WEBHOOK_URL": url}), record(OOM))
    [failure] = report.outcome.failed
    assert "answered 400" in failure and "127.0.0.1" in failure
    assert "TOPSECRETSIG" not in failure and "/workflows/" not in failure
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert "TOPSECRETSIG" not in ours and "/workflows/" not in ours
    assert len(teams_webhook.requests) == 1


def test_dropped_connections_are_retried_then_kept(slack_api: SlackApi) -> None:
    store = MemoryStore()
    env = bot_env(slack_api) | {"SLACK_API_URL": "http://127.0.0.1:9/api/"}  # nothing listens
    report = process(alerter(store, env, budget=3), record(OOM))
    assert report.outcome.failed and "failed to connect" in report.outcome.failed[0]
    assert store.pending()
    process(alerter(store, bot_env(slack_api)))
    assert len(slack_api.posts()) == 1 and not store.pending()


def test_a_redelivered_batch_posts_nothing(slack_api: SlackApi) -> None:
    store = MemoryStore()
    batch = [record(OOM, event_id="3781"), record(OOM, event_id="3782")]
    process(alerter(store, bot_env(slack_api)), *batch)
    report = process(alerter(store, bot_env(slack_api)), *batch)
    assert report.duplicates == 2 and not report.findings
    assert len(slack_api.requests) == 1
