"""AWS decoders and the Lambda handler on hostile input: a delivery decodes to well-typed
records or fails with ``DecodeError`` naming the layer, and a Kinesis batch still alerts on its
good record whatever the others hold, logging and counting each one it had to skip."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from functions.aws import app, events
from shared.classify.classifier import Classifier
from shared.runtime import Runtime
from tests.aws.test_handler import Context, packed, payload
from tests.chat_servers import Webhook
from tests.robustness.strategies import (
    GOOD_TRACEBACK,
    JSON_VALUES,
    assert_well_typed,
    awslogs_data,
    nasty_texts,
    shaped,
)

CLASSIFIER = Classifier()
#: CloudWatch event ids are 56-digit numbers; generated garbage never repeats these.
GOOD_FIRST_ID = 36_000_000_000_000_000_000_000_000_000_000_000_000_000_000_001
GOOD = {
    "kinesis": {
        "sequenceNumber": "good",
        "data": packed(payload(list(GOOD_TRACEBACK), first_id=GOOD_FIRST_ID)),
    },
    "eventID": "shardId-000000000000:good",
}


def deliveries() -> st.SearchStrategy[Any]:
    """CloudWatch Logs deliveries, corrupt at every layer, and envelopes of the wrong shape."""
    return st.one_of(
        st.builds(lambda data: {"awslogs": {"data": data}}, awslogs_data()),
        st.builds(lambda value: {"awslogs": value}, JSON_VALUES),
    )


@settings(max_examples=200, deadline=None)
@given(event=deliveries())
def test_a_delivery_decodes_to_typed_records_or_names_the_failing_layer(event: Any) -> None:
    try:
        decoded = events.decode_awslogs(event)
    except events.DecodeError as exc:
        assert str(exc).startswith("awslogs.data: ")
        return
    assert isinstance(decoded, dict)
    # The handler reads the records of an accepted payload outside its error handling.
    records = list(events.records_from_logs(decoded))
    assert_well_typed(records)
    assert isinstance(CLASSIFIER.classify(records), list)


@settings(max_examples=100, deadline=None)
@given(item=st.builds(lambda data: {"kinesis": {"data": data}}, awslogs_data()))
def test_a_kinesis_record_decodes_or_raises_decode_error(item: dict[str, Any]) -> None:
    try:
        decoded = events.kinesis_payload(item)
    except events.DecodeError:
        return
    assert_well_typed(list(events.records_from_logs(decoded)))


@settings(max_examples=200)
@given(event=st.one_of(JSON_VALUES, shaped(("awslogs", "Records", "detail-type", "logEvents"))))
def test_shape_checks_answer_for_any_json(event: Any) -> None:
    for check in (events.is_awslogs, events.is_logs_payload, events.is_state_change):
        assert isinstance(check(event), bool)
    assert isinstance(events.is_kinesis(event), bool)
    assert isinstance(events.is_kinesis({"Records": [event]}), bool)


def state_changes() -> st.SearchStrategy[Any]:
    """EventBridge state-change events with fields of any shape; FAILED is common."""
    status = st.one_of(st.sampled_from(("FAILED", "failed", "IN_SERVICE")), JSON_VALUES)
    detail = st.one_of(
        st.fixed_dictionaries(
            {"EndpointStatus": status},
            optional={
                "EndpointName": st.one_of(st.just("ep"), JSON_VALUES),
                "FailureReason": st.one_of(nasty_texts(), JSON_VALUES),
                "ProductionVariants": st.one_of(
                    st.lists(shaped(("VariantName",)), max_size=2), JSON_VALUES
                ),
            },
        ),
        JSON_VALUES,
    )
    return st.fixed_dictionaries(
        {"detail-type": st.just(events.STATE_CHANGE), "detail": detail},
        optional={k: JSON_VALUES for k in ("id", "time", "region", "account")},
    )


@settings(max_examples=150, deadline=None)
@given(event=state_changes())
def test_a_state_change_gives_typed_records_or_decode_error(event: dict[str, Any]) -> None:
    endpoint, status = events.endpoint_status(event)
    assert (endpoint is None or isinstance(endpoint, str)) and isinstance(status, str)
    try:
        records = list(events.records_from_state_change(event))
    except events.DecodeError:
        assert not isinstance(event.get("detail"), dict)
        return
    assert_well_typed(records)
    assert isinstance(CLASSIFIER.classify(records), list)


def _decodes(data: Any) -> bool:
    try:
        events.kinesis_payload({"kinesis": {"data": data}})
    except events.DecodeError:
        return False
    return True


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(bad=st.lists(awslogs_data(), min_size=1, max_size=4), position=st.integers(0, 4))
@example(  # a UTF-16 pair cut in half, as a JSON escape: a lone surrogate in the message
    bad=[
        packed({"messageType": "DATA_MESSAGE", "logEvents": [{"id": "1", "message": "E \ud800"}]})
    ],
    position=0,
)
def test_a_kinesis_batch_alerts_on_its_good_record_and_reports_the_bad_ones(
    lambda_env: Webhook,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    bad: list[Any],
    position: int,
) -> None:
    monkeypatch.setattr(app, "_RUNTIME", Runtime())  # a cold start: nothing remembered
    caplog.clear()
    counted: list[str] = []
    add_metric = app.metrics.add_metric

    def spy(**kwargs: Any) -> None:
        counted.append(kwargs["name"])
        add_metric(**kwargs)

    monkeypatch.setattr(app.metrics, "add_metric", spy)
    items = [
        {"kinesis": {"sequenceNumber": f"bad-{i}", "data": data}, "eventID": f"s:bad-{i}"}
        for i, data in enumerate(bad)
    ]
    items.insert(position % (len(items) + 1), GOOD)
    before = len(lambda_env.requests)

    assert app.handler({"Records": items}, Context()) == {"batchItemFailures": []}

    posted = json.dumps([r.body for r in lambda_env.requests[before:]])
    assert "lightgbm" in posted
    undecodable = sorted(f"kinesis record bad-{i}" for i, d in enumerate(bad) if not _decodes(d))
    skipped = [r for r in caplog.records if r.getMessage() == "undecodable delivery skipped"]
    assert sorted(r.__dict__["where"] for r in skipped) == undecodable
    assert all(r.__dict__["reason"].startswith("awslogs.data: ") for r in skipped)
    assert counted.count("BadInput") == len(undecodable)
