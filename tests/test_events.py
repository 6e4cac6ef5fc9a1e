"""Cloud event decoders: CloudWatch subscription deliveries, EventBridge state changes and
Event Hub diagnostic batches become records that say where they came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.aws import events as aws
from functions.azure import events as azure

EVENTS = Path(__file__).resolve().parent / "events"


def load(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((EVENTS / name).read_text())
    return data


def test_subscription_delivery_decodes_to_records_of_the_pipeline_container() -> None:
    payload = aws.decode_awslogs(load("aws/cloudwatch_pipeline_cuda_oom.json"))
    records = list(aws.records_from_logs(payload))
    assert len(records) == len(payload["logEvents"])
    first = records[0]
    assert (first.cloud, first.endpoint, first.variant, first.container) == (
        "aws",
        "fraud-detector",
        "AllTraffic",
        "container-2",
    )
    assert first.event_id == payload["logEvents"][0]["id"]
    assert first.timestamp is not None and first.timestamp.year == 2026


@pytest.mark.parametrize("picked", [None, lambda messages: range(len(messages))])
def test_log_events_without_a_text_message_are_left_out(picked: aws.Relevance | None) -> None:
    good = [{"id": "1", "message": "first"}, {"id": "5", "message": "last"}]
    bad: list[object] = ["junk", None, 7, ["message"], {"id": "3"}, {"message": 5}]
    payload = {"messageType": "DATA_MESSAGE", "logEvents": [good[0], *bad, good[1]]}
    records = list(aws.records_from_logs(payload, picked))
    assert [(r.event_id, r.message) for r in records] == [("1", "first"), ("5", "last")]


def test_control_message_carries_no_records() -> None:
    payload = aws.decode_awslogs(load("aws/cloudwatch_control_message.json"))
    assert payload["messageType"] == "CONTROL_MESSAGE"
    assert list(aws.records_from_logs(payload)) == []


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"awslogs": {"data": "@@@"}}, "not valid base64"),
        ({"awslogs": {"data": "aGVsbG8="}}, "not valid gzip"),
        ({"awslogs": {}}, "missing or not a string"),
    ],
)
def test_corrupt_delivery_names_the_failing_layer(event: dict[str, object], message: str) -> None:
    with pytest.raises(aws.DecodeError, match=message):
        aws.decode_awslogs(event)


def test_failed_endpoint_event_becomes_its_failure_reason() -> None:
    [record] = aws.records_from_state_change(load("aws/eventbridge_endpoint_failed.json"))
    assert record.endpoint == "sentiment-bert" and record.variant == "AllTraffic"
    assert "did not pass the ping health check" in record.message
    in_service = load("aws/eventbridge_endpoint_failed.json")
    in_service["detail"] = {**in_service["detail"], "EndpointStatus": "IN_SERVICE"}  # type: ignore[dict-item]
    assert list(aws.records_from_state_change(in_service)) == []


def test_diagnostic_batch_reads_console_traffic_and_event_logs() -> None:
    report = azure.BatchReport()
    console = list(
        azure.records_from_diagnostics(load("azure/eventhub_console_traceback.json"), report)
    )
    assert {(r.endpoint, r.deployment, r.container) for r in console} == {
        ("credit-ep", "blue", "inference-server")
    }
    traffic = list(azure.records_from_diagnostics(load("azure/eventhub_traffic.json"), report))
    assert traffic[1].message == (
        "POST /score returned 424 (Model Error); model status 500 (Internal Server Error)"
    )
    assert report.skipped == {"AmlComputeClusterEvent": 1}


def test_bad_records_are_reported_and_good_ones_kept() -> None:
    report = azure.BatchReport()
    batch = {
        "records": [
            "not an object",
            {"category": azure.CONSOLE, "properties": "{not json"},
            {
                "category": azure.CONSOLE,
                "resourceId": "/x/onlineEndpoints/ep",
                "properties": json.dumps({"Message": "hello", "DeploymentName": "d"}),
            },
        ]
    }
    records = list(azure.records_from_diagnostics(batch, report, "batch.json"))
    assert [(r.message, r.endpoint, r.deployment) for r in records] == [("hello", "ep", "d")]
    assert report.bad == [
        "batch.json: records[0] is not an object",
        f"batch.json: records[1] ({azure.CONSOLE}) has no message",
    ]
