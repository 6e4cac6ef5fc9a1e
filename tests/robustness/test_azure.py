"""Azure decoders and the Event Hubs function on hostile input: every record of a diagnostic
batch is either read, counted as another category, or reported as bad with its event and
index, and a batch still alerts on its good event whatever the others hold."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from functions.azure import eventhub, invocation
from functions.azure.events import CATEGORIES, BatchReport, records_from_diagnostics
from functions.azure.loganalytics import as_diagnostic
from shared.classify.classifier import Classifier
from tests.azure.test_functions import functions, hub_event, sample
from tests.chat_servers import Webhook
from tests.robustness.strategies import (
    BAD_BODIES,
    JSON_VALUES,
    assert_well_typed,
    nasty_texts,
    shaped,
)

CLASSIFIER = Classifier()
PROPERTY_NAMES = (
    "Message",
    "message",
    "EndpointName",
    "DeploymentName",
    "InstanceId",
    "ContainerName",
    "XRequestId",
    "ResponseCode",
    "ModelStatusCode",
    "ResponseCodeReason",
    "TimeGenerated",
    "Location",
    "Method",
    "Path",
)
_VALUES = st.one_of(nasty_texts(), JSON_VALUES)


def _properties() -> st.SearchStrategy[Any]:
    props = shaped(PROPERTY_NAMES, _VALUES)
    return st.one_of(
        props,
        props.map(json.dumps),  # Event Hubs may carry properties as a JSON string
        st.just('{"Message":' * 5_000 + '"x"' + "}" * 5_000),
        JSON_VALUES,
    )


def diagnostic_records() -> st.SearchStrategy[Any]:
    """Diagnostic records of the endpoint categories (mostly) with fields of any shape."""
    record = st.fixed_dictionaries(
        {"category": st.one_of(st.sampled_from(CATEGORIES), JSON_VALUES)},
        optional={
            "properties": _properties(),
            "resourceId": st.one_of(st.just("/x/onlineEndpoints/ep/deployments/d"), _VALUES),
            "time": JSON_VALUES,
            "location": JSON_VALUES,
        },
    )
    return st.one_of(record, JSON_VALUES)


def batches() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries({"records": st.lists(diagnostic_records(), max_size=6)}),
        shaped(("records",)),
        JSON_VALUES,
    )


@settings(max_examples=200, deadline=None)
@given(batch=batches())
def test_every_record_is_read_skipped_or_reported_with_its_index(batch: Any) -> None:
    report = BatchReport()
    records = list(records_from_diagnostics(batch, report, "event 7"))
    assert_well_typed(records)
    assert all(problem.startswith("event 7: ") for problem in report.bad)
    items = batch.get("records") if isinstance(batch, dict) else None
    if not isinstance(items, list):
        assert report.bad == ["event 7: no 'records' list"] and not records
        return
    named = [p for p in report.bad if p.startswith("event 7: records[")]
    indices = {int(p.split("[", 1)[1].split("]", 1)[0]) for p in named}
    assert len(named) == len(report.bad) and indices <= set(range(len(items)))
    assert len(records) + len(named) + sum(report.skipped.values()) == len(items)
    assert isinstance(CLASSIFIER.classify(records), list)


@settings(max_examples=100, deadline=None)
@given(row=shaped(("Category", "ResourceId", "_ResourceId", *PROPERTY_NAMES), _VALUES))
def test_a_workspace_row_of_any_shape_decodes_like_a_diagnostic_record(row: Any) -> None:
    row.setdefault("Category", "AmlOnlineEndpointConsoleLog")
    report = BatchReport()
    records = list(records_from_diagnostics({"records": [as_diagnostic(row)]}, report, "row"))
    assert_well_typed(records)
    assert len(records) + len(report.bad) + sum(report.skipped.values()) == 1


def hub_bodies() -> st.SearchStrategy[bytes]:
    """Event bodies: not JSON, not UTF-8, nested too deeply, or JSON batches of any shape."""
    return st.one_of(BAD_BODIES, batches().map(lambda batch: json.dumps(batch).encode()))


def _is_batch(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("records"), list)


@settings(max_examples=100, deadline=None)
@given(bodies=st.lists(st.tuples(hub_bodies(), st.booleans()), max_size=5))
def test_an_unreadable_event_is_reported_by_its_sequence_number_or_position(
    bodies: list[tuple[bytes, bool]],
) -> None:
    hub = [
        func.EventHubEvent(body=body, sequence_number=100 + i if numbered else None)
        for i, (body, numbered) in enumerate(bodies)
    ]
    report = BatchReport()
    assert_well_typed(list(eventhub.decode(hub, report)))
    for i, (body, numbered) in enumerate(bodies):
        if not _is_batch(body):
            where = f"event {100 + i if numbered else i}: "
            assert any(p.startswith(where) for p in report.bad), (where, report.bad)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(bad=st.lists(hub_bodies(), min_size=1, max_size=4), position=st.integers(0, 4))
@example(  # lone surrogates (JSON escapes of half a UTF-16 pair) in a message and a name
    bad=[
        json.dumps(
            {
                "records": [
                    {
                        "category": "AmlOnlineEndpointConsoleLog",
                        "properties": {"Message": "ERROR \ud800", "EndpointName": "\udfff"},
                    }
                ]
            }
        ).encode()
    ],
    position=1,
)
def test_an_event_hub_batch_alerts_on_its_good_event_and_reports_the_bad_ones(
    azure_env: Webhook,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    bad: list[bytes],
    position: int,
) -> None:
    monkeypatch.setattr(invocation, "RUNTIME", invocation.AzureRuntime())  # a cold instance
    caplog.clear()
    hub = [hub_event(body, 100 + i) for i, body in enumerate(bad)]
    hub.insert(position % (len(hub) + 1), hub_event(sample("eventhub_console_traceback.json"), 1))
    before = len(azure_env.requests)

    functions()["diagnostics"](hub)

    assert "lightgbm" in json.dumps([r.body for r in azure_env.requests[before:]])
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    for i, body in enumerate(bad):
        if not _is_batch(body):
            assert any(f"unusable input skipped: event {100 + i}: " in e for e in errors)
