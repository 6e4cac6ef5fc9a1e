"""Another run observing a problem while this run's post or edit of it is in flight (the local
chat server runs the other run's observation before it answers): the message must end up
showing what the store has, and nothing may be left pending."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.alerts.alerter import _CATCH_UP_ROUNDS, Alerter
from shared.alerts.problem import ProblemRecord, problem_key
from shared.state.memory import MemoryStore
from tests.alerts.helpers import CLASSIFIER, OOM, Clock, alerter, process, record
from tests.alerts.test_delivery import bot_env
from tests.chat_servers import Recorded, SlackApi, Webhook, shown_count


def observe_during(other: Alerter, path: str) -> Callable[[Recorded], None]:
    """A ``meanwhile`` hook: at the first request to ``path``, ``other`` observes one more
    event of the problem (a second run, between reading its logs and delivering)."""
    fired: list[Recorded] = []

    def hook(request: Recorded) -> None:
        if not fired and request.path.endswith(path) and "thread_ts" not in request.body:
            fired.append(request)
            other.observe(CLASSIFIER.classify([record(OOM)]))

    return hook


def stored(store: MemoryStore) -> ProblemRecord:
    [finding] = CLASSIFIER.classify([record(OOM)])
    entry = store.get(problem_key(finding))
    assert entry is not None
    return ProblemRecord.model_validate(entry.value)


def last_shown(slack: SlackApi) -> int:
    """The count the message shows now: its last edit, else its post."""
    [post] = slack.posts()
    edits = [r.body for r in slack.requests if r.path.endswith("chat.update")]
    assert all(edit["ts"] == "1700000000.000001" for edit in edits)
    return shown_count(edits[-1] if edits else post)


@pytest.mark.parametrize("in_flight", ["chat.postMessage", "chat.update"])
def test_an_event_observed_while_a_message_is_sent_reaches_the_message(
    slack_api: SlackApi, in_flight: str
) -> None:
    store, clock = MemoryStore(), Clock()
    env = bot_env(slack_api)
    if in_flight == "chat.update":
        process(alerter(store, env, clock=clock), record(OOM))  # the post, count 1
        clock.advance(5)
    second = alerter(store, env, clock=clock)
    slack_api.meanwhile = observe_during(second, in_flight)
    process(alerter(store, env, clock=clock), record(OOM))
    second.deliver()  # the other run delivers what it observed, if anything is left

    state = stored(store)
    assert state.alert.count == (3 if in_flight == "chat.update" else 2)
    assert last_shown(slack_api) == state.alert.count
    assert not state.has_pending() and not store.pending()
    assert len(slack_api.posts()) == 1


def test_without_time_left_the_edit_goes_out_with_the_next_run(slack_api: SlackApi) -> None:
    store, clock = MemoryStore(), Clock()
    env = bot_env(slack_api)
    second = alerter(store, env, clock=clock)
    slack_api.meanwhile = observe_during(second, "chat.postMessage")
    process(alerter(store, env, clock=clock, budget=0), record(OOM))
    assert last_shown(slack_api) == 1
    assert stored(store).deliveries["slack"].pending == ["update"] and store.pending()

    slack_api.meanwhile = None
    report = process(alerter(store, env, clock=clock))  # the next run, no new events
    assert [s.action for s in report.outcome.sent] == ["update"]
    assert last_shown(slack_api) == stored(store).alert.count == 2
    assert not store.pending() and len(slack_api.posts()) == 1


def test_a_message_overtaken_at_every_send_is_edited_a_bounded_number_of_times(
    slack_api: SlackApi,
) -> None:
    store, clock = MemoryStore(), Clock()
    env = bot_env(slack_api)
    second = alerter(store, env, clock=clock)

    def always(request: Recorded) -> None:  # another run observes during every send
        if "thread_ts" not in request.body:
            second.observe(CLASSIFIER.classify([record(OOM)]))

    slack_api.meanwhile = always
    report = process(alerter(store, env, clock=clock), record(OOM))
    actions = [s.action for s in report.outcome.sent]
    assert actions.count("post") == 1 and actions.count("update") == _CATCH_UP_ROUNDS
    assert store.pending() and stored(store).deliveries["slack"].pending == ["update"]

    slack_api.meanwhile = None
    second.deliver()  # the other run finds the edit unclaimed now and sends it
    assert last_shown(slack_api) == stored(store).alert.count == _CATCH_UP_ROUNDS + 2
    assert not store.pending() and len(slack_api.posts()) == 1


def test_webhooks_still_wait_for_the_cooldown(teams_webhook: Webhook) -> None:
    store, clock = MemoryStore(), Clock()
    env = {"TEAMS_WEBHOOK_URL": teams_webhook.url}
    second = alerter(store, env, clock=clock)
    teams_webhook.meanwhile = observe_during(second, teams_webhook.path)
    process(alerter(store, env, clock=clock), record(OOM))
    second.deliver()
    process(alerter(store, env, clock=clock))
    assert len(teams_webhook.requests) == 1  # the count waits for the next post
    assert stored(store).alert.count == 2 and not store.pending()


class LosingStore(MemoryStore):
    """A store that, when told to, applies the next write but reports a lost race (its answer
    was lost on the way back)."""

    lose_next = False

    def put(self, key: str, value: dict[str, Any], version: object | None, **kw: Any) -> bool:
        written = super().put(key, value, version, **kw)
        if written and self.lose_next:
            self.lose_next = False
            return False
        return written


def test_a_lost_answer_to_the_finishing_write_keeps_the_edit(slack_api: SlackApi) -> None:
    """The write that records the post is applied but reported lost; the retried write starts
    from the record it wrote itself and must still leave the edit pending, then send it."""
    store, clock = LosingStore(), Clock()
    env = bot_env(slack_api)
    second = alerter(store, env, clock=clock)
    observe = observe_during(second, "chat.postMessage")

    def hook(request: Recorded) -> None:
        observe(request)
        if request.path.endswith("chat.postMessage"):
            store.lose_next = True  # the next write is this run's, recording the post

    slack_api.meanwhile = hook
    report = process(alerter(store, env, clock=clock), record(OOM))
    assert [s.action for s in report.outcome.sent] == ["post", "update"]
    assert last_shown(slack_api) == stored(store).alert.count == 2
    assert not store.pending() and len(slack_api.posts()) == 1
