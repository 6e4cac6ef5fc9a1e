"""Soak: a million CloudWatch events replayed through ``functions.aws.app.handler`` by two
concurrent workers, checking the alerts against the distinct problems injected.

Design:

- :mod:`tests.soak.corpus` writes the deliveries (by default 200 of 5,000 events, 16 log
  streams of 4 endpoints × 2 variants × 2 instances) and injects 32 distinct problems, each
  dozens of times across deliveries; the expected alerts follow from what was injected.
- Two worker processes (:mod:`tests.soak.worker`, ``spawn``) each call the real handler on
  *every* delivery: worker A in delivery order, worker B in an order shuffled within runs of
  8, so both often hold the same delivery at once (at-least-once input, the race the event-id
  memory and compare-and-set must survive), and otherwise B replays what A already did.
- State: one SQLite file (``sqlite:///…``) shared by both processes. It is the store that is
  durable, shared across processes and real (conditional ``UPDATE`` as compare-and-set), and it
  keeps a million events fast. moto's DynamoDB server (``tests/faults``) is closer to
  production, but it runs in the test process's interpreter: each worker would send it
  thousands of ``BatchGetItem``/``BatchWriteItem`` calls for the event ids, serialised on one
  GIL, taking many minutes; the fault tests already cover DynamoDB's conditional writes.
- Chat: a local Slack Web API (bot token: posts, edits and replies in thread) and a Teams
  Workflows webhook (posts only) in the test process, counting what they receive.

Set ``MEDIC_SOAK_EVENTS`` (at least 10,000) for a shorter run.
"""

from __future__ import annotations

import html
import json
import multiprocessing
import os
import random
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from benchmarks.batch import HEALTHY
from functions.aws.events import records_from_logs
from shared.alerts.problem import problem_key
from shared.classify.classifier import Classifier
from shared.model import Finding
from tests.chat_servers import SlackApi, Webhook, shown_count
from tests.soak import corpus
from tests.soak.corpus import Identity, Kind, Stream
from tests.soak.worker import Report, read_log, work

#: The full soak: a million events.
DEFAULT_EVENTS = 1_000_000
#: How far worker B's order strays from A's (deliveries shuffled within runs of this many).
WINDOW = 8
#: Longest a worker may take before the test gives up on it.
WORKER_TIMEOUT = 1_800
#: Environment a worker must not inherit: credentials and settings of a real deployment.
_FOREIGN = re.compile(r"^(MEDIC_|SLACK_|TEAMS_|POWERTOOLS_|AWS_)|(_SECRET_ARN|_SSM_PARAMETER)$")


def soak_events() -> int:
    """How many events to replay: ``MEDIC_SOAK_EVENTS``, else a million."""
    value = os.environ.get("MEDIC_SOAK_EVENTS", "").replace("_", "")
    return int(value) if value else DEFAULT_EVENTS


# -- the chat services -------------------------------------------------------------------------


class SlackThreads(SlackApi):
    """The Slack Web API, also remembering the ``ts`` it gave each top-level post, so edits
    and thread replies can be traced to the alert they belong to."""

    def __init__(self, server: HTTPServer) -> None:
        self.posted: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        super().__init__(server)

    def _post(self, request: Request) -> Response:
        with self._lock:  # the recorded request and its answer, as one
            response = super()._post(request)
            body = self.requests[-1].body
        answer = json.loads(response.get_data(as_text=True))
        if answer.get("ok") and "thread_ts" not in body:
            self.posted[answer["ts"]] = body
        return response

    def replies(self) -> list[dict[str, Any]]:
        """Bodies of thread replies."""
        return [
            r.body
            for r in self.requests
            if r.path.endswith("chat.postMessage") and "thread_ts" in r.body
        ]

    def updates(self) -> list[dict[str, Any]]:
        """Bodies of ``chat.update`` calls."""
        return [r.body for r in self.requests if r.path.endswith("chat.update")]


@pytest.fixture
def slack(chat_server: HTTPServer) -> SlackThreads:
    """A local server answering as the Slack Web API."""
    return SlackThreads(chat_server)


def _after_dot(headline: str) -> str:
    """The title in ``🔴 CRITICAL · title``."""
    return headline.split(" · ", 1)[1]


def slack_identity(body: dict[str, Any]) -> Identity:
    """Endpoint, variant, rule and title of a Slack alert message (post or edit)."""
    blocks = body["blocks"]
    title = html.unescape(_after_dot(blocks[0]["text"]["text"]))
    facts = {}
    for block in blocks:
        for item in block.get("fields", []):
            label, _, value = item["text"].partition("\n")
            facts[label.strip("*")] = html.unescape(value)
    [context] = [b for b in blocks if b["type"] == "context"]
    rule = re.search(r"rule `([^`]+)`", context["elements"][0]["text"])
    assert rule, context
    return (facts["Endpoint"], facts["Variant"], html.unescape(rule.group(1)), title)


def _teams_unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def teams_identity(body: dict[str, Any]) -> Identity:
    """Endpoint, variant, rule and title of a Teams alert card."""
    parts = body["attachments"][0]["content"]["body"]
    title = _teams_unescape(_after_dot(parts[0]["text"]))
    [facts] = [p["facts"] for p in parts if p["type"] == "FactSet"]
    known = {f["title"]: _teams_unescape(f["value"]) for f in facts}
    [rule_line] = [p["text"] for p in parts if str(p.get("text", "")).startswith("rule ")]
    rule = _teams_unescape(rule_line.removeprefix("rule ").split(" · ")[0])
    return (known["Endpoint"], known["Variant"], rule, title)


# -- the premises of the corpus ----------------------------------------------------------------


@cache
def _classifier() -> Classifier:
    """The built-in rulebook's classifier, compiled once for these checks."""
    return Classifier()


def _classify(stream: Stream, lines: list[str]) -> list[Finding]:
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": corpus.ACCOUNT,
        "logGroup": stream.group,
        "logStream": stream.name,
        "logEvents": [
            {"id": str(i), "timestamp": 1795580000000 + i, "message": line}
            for i, line in enumerate(lines)
        ],
    }
    classifier = _classifier()
    return classifier.classify(records_from_logs(payload, classifier.relevant))


@pytest.mark.parametrize("kind", corpus.KINDS, ids=lambda k: k.name)
def test_each_kind_is_one_problem_as_declared(kind: Kind) -> None:
    """The corpus's premises, on a few lines: a kind is diagnosed by its declared rule and
    title at an alerting severity; its occurrences on both instances of a variant, with their
    varying numbers and healthy lines around, are one problem; at another variant it is
    another problem."""
    rng = random.Random(1)
    first, second, elsewhere = corpus.streams()[0], corpus.streams()[1], corpus.streams()[2]
    assert (first.endpoint, first.variant) == (second.endpoint, second.variant)
    keys = set()
    for stream in (first, second):
        for _ in range(3):
            lines = [HEALTHY[0].format(ms=5), *kind.lines(rng), *corpus.BENIGN]
            [finding] = _classify(stream, lines)
            assert (finding.rule, finding.title) == (kind.rule, kind.title)
            assert finding.severity in ("critical", "error")
            keys.add(problem_key(finding))
    assert len(keys) == 1
    [other] = _classify(elsewhere, kind.lines(rng))
    assert problem_key(other) not in keys


def test_kinds_at_one_place_stay_apart_in_one_delivery() -> None:
    """Every place's kinds, injected into one delivery as the corpus does it, come out as
    that many findings, each its declared rule and title."""
    for number, place in enumerate(corpus.places()):
        rng = random.Random(number)
        stream = next(s for s in corpus.streams() if (s.endpoint, s.variant) == place)
        kinds = [p.kind for p in corpus.problems() if (p.endpoint, p.variant) == place]
        injections = [k.lines(rng) for k in kinds for _ in range(2)]
        rng.shuffle(injections)
        lines, _ = corpus._interleave(rng, 400, injections)
        found = {(f.rule, f.title): f.count for f in _classify(stream, lines)}
        assert found == {(k.rule, k.title): 2 for k in kinds}


def test_a_worker_report_catches_what_the_handler_logs_as_failed() -> None:
    """The soak's "no failures" rests on reading the handler's output: a warning (a delivery
    kept for later), an error, or a failure metric must each count."""
    report = Report("A")
    read_log(
        report,
        "\n".join(
            [
                '{"level":"INFO","message":"batch processed","events":3,"duplicates":1,'
                '"sent":["post → slack"]}',
                '{"level":"WARNING","message":"delivery failed, kept for the next run: x"}',
                '{"level":"ERROR","message":"undecodable delivery skipped"}',
                '{"_aws":{},"DeliveryFailures":[1.0],"BadInput":[0.0]}',
                "not json",
            ]
        ),
    )
    assert (report.records, report.duplicates, report.sent) == (3, 1, ["post → slack"])
    assert len(report.failures()) == 3 and report.other_output == ["not json"]


# -- the soak ----------------------------------------------------------------------------------


def worker_env(state: str, slack: SlackThreads, teams: Webhook) -> dict[str, str]:
    """The environment of a worker: this one without deployment settings, plus the shared
    store, the Slack bot and the Teams webhook (no config file: the zero-config defaults,
    a 60-minute cooldown)."""
    env = {k: v for k, v in os.environ.items() if not _FOREIGN.search(k)}
    return env | {
        "MEDIC_STATE": state,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_CHANNEL": "C0ALERTS",
        "SLACK_API_URL": slack.url,
        "TEAMS_WEBHOOK_URL": teams.url,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_SERVICE_NAME": "medic",
    }


def run_workers(
    orders: dict[str, list[int]], deliveries: Path, env: dict[str, str], out: Path
) -> dict[str, Report]:
    """One process per worker, released together; their reports once all have finished."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(orders))
    processes = [
        context.Process(
            target=work,
            args=(name, order, str(deliveries), env, str(out), start),
            name=f"soak-{name}",
        )
        for name, order in orders.items()
    ]
    for process in processes:
        process.start()
    deadline = time.monotonic() + WORKER_TIMEOUT
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    stuck = [p for p in processes if p.is_alive()]
    for process in stuck:
        process.kill()
        process.join()
    assert not stuck, f"workers still running after {WORKER_TIMEOUT} s: {stuck}"
    for process in processes:
        assert process.exitcode == 0, (process.name, process.exitcode, _tail(out, process))
    return {name: Report.load(out / f"{name}.json") for name in orders}


def _tail(out: Path, process: Any) -> str:
    log = out / f"{str(process.name).removeprefix('soak-')}.log"
    return log.read_text()[-4000:] if log.exists() else ""


def stored_problems(path: Path) -> Iterator[tuple[Identity, int, bool]]:
    """Each problem record the workers left in the store: identity, event count, pending."""
    with sqlite3.connect(path) as db:
        for pending, body in db.execute("SELECT pending, body FROM problems"):
            alert = json.loads(body)["alert"]
            identity = (alert["endpoint"], alert["variant"], alert["rule"], alert["title"])
            yield identity, int(alert["count"]), bool(pending)


def remembered(path: Path, ids: list[str]) -> set[str]:
    """Which of ``ids`` the store remembers as processed."""
    found: set[str] = set()
    with sqlite3.connect(path) as db:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(f"SELECT id FROM events WHERE id IN ({marks})", chunk)
            found.update(row[0] for row in rows)
    return found


@pytest.mark.soak
def test_two_workers_replaying_a_million_events_post_one_alert_per_problem(
    tmp_path: Path, slack: SlackThreads, teams_webhook: Webhook
) -> None:
    """Every delivery handled twice, concurrently, by two workers sharing one store: one
    top-level alert per injected problem on each receiver, none for anything else, nothing
    undelivered, no event lost, no failure reported."""
    began = time.perf_counter()
    plan = corpus.build(tmp_path / "deliveries.jsonl", soak_events())
    built = time.perf_counter()
    expected = plan.expected
    order = list(range(plan.deliveries))
    orders = {"A": order, "B": corpus.shuffled_nearby(order, WINDOW, seed=7)}
    assert orders["B"] != order and sorted(orders["B"]) == order
    state = tmp_path / "state.sqlite"
    # The store exists before the workers start, as the DynamoDB table does in a deployment:
    env = worker_env(f"sqlite:///{state}", slack, teams_webhook)
    reports = run_workers(orders, plan.path, env, tmp_path)
    ran = time.perf_counter()

    # The workers: every delivery handled by each, at the same time, and nothing went wrong.
    a, b = reports["A"], reports["B"]
    assert {name: r.failures() for name, r in reports.items()} == {"A": [], "B": []}
    assert a.invocations == b.invocations == plan.deliveries
    assert a.started < b.finished and b.started < a.finished, "the workers did not overlap"

    # Teams (cannot edit): exactly one card per problem, nothing else.
    cards = Counter(teams_identity(r.body) for r in teams_webhook.requests)
    assert cards == Counter(expected), _difference(cards, expected)

    # Slack: one top-level post per problem; edits and thread replies only on those posts.
    posts = Counter(slack_identity(body) for body in slack.posted.values())
    assert posts == Counter(expected), _difference(posts, expected)
    assert len(slack.posts()) == len(slack.posted) == len(expected)
    alert_of = {ts: slack_identity(body) for ts, body in slack.posted.items()}
    replies = Counter(body["thread_ts"] for body in slack.replies())
    assert set(replies) <= set(alert_of) and max(replies.values(), default=0) <= 1
    updates = slack.updates()
    assert all(alert_of[u["ts"]] == slack_identity(u) for u in updates)
    assert set(slack.paths()) <= {"/api/chat.postMessage", "/api/chat.update"}

    # The store: one record per problem, nothing left to deliver, every event counted (some
    # twice: both workers read a delivery before either remembered it), none forgotten.
    stored = {identity: (count, pending) for identity, count, pending in stored_problems(state)}
    assert set(stored) == expected
    assert not [identity for identity, (_, pending) in stored.items() if pending]
    for identity in expected:
        injected = plan.occurrences[identity]
        assert injected <= stored[identity][0] <= 2 * injected, identity
    assert remembered(state, plan.injected_ids) == set(plan.injected_ids)

    # What each Slack message shows last (its last edit, else the post) is the store's count:
    # an event observed while another run's post or edit was in flight was edited in after it.
    shown = {ts: shown_count(body) for ts, body in slack.posted.items()}
    for body in updates:
        shown[body["ts"]] = shown_count(body)
    stale = [alert_of[ts] for ts, count in shown.items() if count != stored[alert_of[ts]][0]]
    print(
        f"\nsoak: {plan.events:,} events in {plan.deliveries} deliveries, "
        f"{len(expected)} problems, {sum(plan.occurrences.values())} injected events\n"
        f"  build {built - began:.1f} s, workers {ran - built:.1f} s, "
        f"total {time.perf_counter() - began:.1f} s\n"
        f"  A classified {a.records:,} records ({a.duplicates:,} already processed), "
        f"B {b.records:,} ({b.duplicates:,})\n"
        f"  slack: {len(slack.posted)} posts, {sum(replies.values())} replies, "
        f"{len(updates)} edits; teams: {len(teams_webhook.requests)} cards\n"
        f"  Slack messages left showing an older count than the store: {len(stale)}"
    )
    assert stale == []


def _difference(got: Counter[Identity], expected: set[Identity]) -> str:
    missing = sorted(expected - set(got))
    extra = sorted(set(got) - expected)
    twice = sorted(i for i, n in got.items() if n > 1)
    return f"missing {missing}; unexpected {extra}; more than once {twice}"
