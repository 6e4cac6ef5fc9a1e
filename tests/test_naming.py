"""Reading origins and times off what the platforms send: log group and stream names, resource
ids, and timestamps in every form the sources use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.naming import azure_resource, parse_time, sagemaker_endpoint, sagemaker_stream

MOMENT = datetime(2026, 11, 19, 12, 13, 21, 412000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        1795090401412,  # CloudWatch: epoch milliseconds
        1795090401.412,  # epoch seconds with a fraction
        "1795090401412",  # milliseconds as text
        "2026-11-19T12:13:21.412Z",
        "2026-11-19 12:13:21,412",  # a log line's own stamp, read as UTC
        "2026-11-19T12:13:21.4120000Z",  # Azure's 100-ns ticks
        "2026-11-19T13:13:21.412+01:00",
        datetime(2026, 11, 19, 12, 13, 21, 412000),  # naive: taken as UTC
        datetime(2026, 11, 19, 13, 13, 21, 412000, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_times_in_every_form_read_as_the_same_moment(value: object) -> None:
    """Every form gives an aware time; one that names an offset keeps it."""
    parsed = parse_time(value)
    assert parsed == MOMENT
    assert parsed is not None and parsed.utcoffset() is not None


def test_whole_epoch_seconds_are_seconds() -> None:
    assert parse_time(1795090401) == MOMENT.replace(microsecond=0)


@pytest.mark.parametrize(
    "value",
    [None, True, False, "", "not a time", 10**30, float("nan"), float("inf"), [1], {"t": 1}],
)
def test_anything_else_is_no_time(value: object) -> None:
    """A flag, an out-of-range number or a wrong type gives no time rather than an error:
    the record is still classified, only without a timestamp."""
    assert parse_time(value) is None


def test_sagemaker_names() -> None:
    assert sagemaker_endpoint("/aws/sagemaker/Endpoints/churn-prod") == "churn-prod"
    assert sagemaker_endpoint("/aws/lambda/other") is None
    assert sagemaker_stream("AllTraffic/i-0abc123def456") == {
        "variant": "AllTraffic",
        "instance": "i-0abc123def456",
    }
    assert sagemaker_stream("AllTraffic/i-0abc123def456/container-1")["container"] == (
        "container-1"
    )
    assert sagemaker_stream("AllTraffic/host-1", strict=True) == {}


def test_azure_resource_names() -> None:
    resource = (
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices"
        "/workspaces/ws/onlineEndpoints/Churn-EP/deployments/Blue"
    )
    assert azure_resource(resource) == {"endpoint": "churn-ep", "deployment": "blue"}
    assert azure_resource("/subscriptions/s/resourceGroups/rg") == {}
