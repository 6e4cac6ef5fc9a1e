"""``functions.aws.app.handler`` end to end: subscription payloads, Kinesis batches and
EventBridge state changes in; DynamoDB state, Secrets Manager / SSM credentials and config
under moto; Slack and Teams answered by local servers."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from functions.aws import app
from shared.classify.classifier import Classifier
from shared.config import Config
from shared.runtime import Runtime
from tests.alerts.helpers import atomic_dynamodb, create_state_table
from tests.chat_servers import SlackApi, Webhook
from tests.helpers import run_together

GROUP = "/aws/sagemaker/Endpoints/fraud-detector"
TRACEBACK = [
    "2026-11-21 09:00:01,001 [INFO ] W-9000-model-stdout - Traceback (most recent call last):",
    "2026-11-21 09:00:01,002 [INFO ] W-9000-model-stdout -   "
    'File "/opt/ml/model/code/inference.py", line 7, in input_fn',
    "2026-11-21 09:00:01,003 [INFO ] W-9000-model-stdout - ValueError: bad row <!channel> "
    "key AKIAIOSFODNN7EXAMPLE",
]


@dataclass
class Context:
    """What the Lambda runtime passes as the context object."""

    function_name: str = "medic"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:medic"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def payload(
    messages: list[str], first_id: int = 100, stream: str = "AllTraffic/i-0abc/model"
) -> dict[str, Any]:
    return {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": GROUP,
        "logStream": stream,
        "subscriptionFilters": ["medic"],
        "logEvents": [
            {"id": str(first_id + i), "timestamp": 1795338001000 + i, "message": m}
            for i, m in enumerate(messages)
        ],
    }


def packed(data: dict[str, Any]) -> str:
    return base64.b64encode(gzip.compress(json.dumps(data).encode())).decode()


def subscription(messages: list[str], first_id: int = 100) -> dict[str, Any]:
    return {"awslogs": {"data": packed(payload(messages, first_id))}}


def state_change(status: str, reason: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"EndpointName": "fraud-detector", "EndpointStatus": status}
    if reason:
        detail["FailureReason"] = reason
    return {
        "version": "0",
        "id": f"evt-{status}",
        "detail-type": "SageMaker Endpoint State Change",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2026-11-21T09:05:00Z",
        "region": "eu-west-1",
        "detail": detail,
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's AWS with the state table, and a clean Lambda container (no warm caches)."""
    for name in (
        "MEDIC_CONFIG",
        "MEDIC_CONFIG_PARAMETER",
        "SLACK_BOT_TOKEN",
        "SLACK_CHANNEL",
        "SLACK_WEBHOOK_URL",
        "TEAMS_WEBHOOK_URL",
        "SLACK_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "medic")
    atomic_dynamodb(monkeypatch)  # conditional writes as atomic as DynamoDB's (see there)
    with mock_aws():
        create_state_table(boto3.client("dynamodb"), "medic-state")
        monkeypatch.setattr(app, "_RUNTIME", Runtime())  # a cold start
        parameters.clear_caches()
        yield boto3
        parameters.clear_caches()


@pytest.fixture
def deployed(
    aws: Any, monkeypatch: pytest.MonkeyPatch, slack_api: SlackApi, teams_webhook: Webhook
) -> None:
    """The environment template.yaml gives the function: secrets by reference, state in DynamoDB."""
    token = aws.client("secretsmanager").create_secret(
        Name="medic/slack", SecretString=slack_api.token
    )
    aws.client("ssm").put_parameter(
        Name="/medic/teams-url", Value=teams_webhook.url, Type="SecureString"
    )
    aws.client("ssm").put_parameter(
        Name="/medic/config",
        Value="cooldown_minutes: 60\nredact: ['internal-[0-9]+']\n",
        Type="String",
    )
    monkeypatch.setenv("MEDIC_STATE", "dynamodb://medic-state")
    monkeypatch.setenv("MEDIC_CONFIG_PARAMETER", "/medic/config")
    monkeypatch.setenv("SLACK_BOT_TOKEN_SECRET_ARN", token["ARN"])
    monkeypatch.setenv("SLACK_CHANNEL", "C0ALERTS")
    monkeypatch.setenv("SLACK_API_URL", slack_api.url)
    monkeypatch.setenv("TEAMS_WEBHOOK_URL_SSM_PARAMETER", "/medic/teams-url")


def test_a_subscription_delivery_alerts_once_escaped_and_redacted(
    deployed: None, slack_api: SlackApi, teams_webhook: Webhook
) -> None:
    assert app.handler(subscription(TRACEBACK), Context()) == {"batchItemFailures": []}
    [post] = slack_api.posts()
    [card] = teams_webhook.requests
    for body in (json.dumps(post), json.dumps(card.body)):
        assert (
            "fraud-detector" in body
            and "AllTraffic" in body
            and '"model"' in body.replace("\\n", '"')
        )
        assert "AKIAIOSFODNN7EXAMPLE" not in body
    assert "<!channel>" not in json.dumps(post) and "&lt;!channel&gt;" in json.dumps(post)
    assert "*Fix*" in json.dumps(post["blocks"])
    # the same delivery again (CloudWatch retries): nothing new is posted
    app.handler(subscription(TRACEBACK), Context())
    assert len(slack_api.requests) == 1 and len(teams_webhook.requests) == 1


def test_concurrent_invocations_on_one_problem_post_once(
    deployed: None, slack_api: SlackApi, teams_webhook: Webhook
) -> None:
    errors = run_together(
        lambda n: app.handler(subscription(TRACEBACK, first_id=1000 * (n + 1)), Context()), 3
    )
    assert not errors
    assert len(slack_api.posts()) == 1 and len(teams_webhook.requests) == 1


def test_a_failed_endpoint_alerts_and_its_recovery_updates_the_alert(
    deployed: None, slack_api: SlackApi, teams_webhook: Webhook
) -> None:
    reason = (
        "The primary container for production variant AllTraffic did not pass the ping health "
        "check. Please check CloudWatch logs for this endpoint."
    )
    app.handler(state_change("FAILED", reason), Context())
    [post] = slack_api.posts()
    assert "fraud-detector" in post["text"] and "AllTraffic" in json.dumps(post["blocks"])
    app.handler(state_change("IN_SERVICE"), Context())
    [update] = [r.body for r in slack_api.requests if r.path.endswith("chat.update")]
    assert update["ts"] == "1700000000.000001" and update["text"].startswith("✅ RECOVERED")
    assert len(teams_webhook.requests) == 2
    assert "RECOVERED" in json.dumps(teams_webhook.requests[1].body)
    app.handler(state_change("IN_SERVICE"), Context())  # nothing left open: nothing sent
    assert len(slack_api.requests) == 2 and len(teams_webhook.requests) == 2


def test_locally_with_only_webhooks_and_memory_state(
    aws: Any, monkeypatch: pytest.MonkeyPatch, slack_webhook: Webhook, teams_webhook: Webhook
) -> None:
    monkeypatch.setenv("MEDIC_STATE", "memory")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_webhook.url)
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", teams_webhook.url)
    app.handler(subscription(TRACEBACK), Context())
    assert len(slack_webhook.requests) == 1 and len(teams_webhook.requests) == 1


def test_a_warm_instance_without_a_config_reuses_its_classifier(
    aws: Any, monkeypatch: pytest.MonkeyPatch, slack_webhook: Webhook
) -> None:
    """Compiling the rulebook is paid once per instance, with the zero-config defaults too."""
    monkeypatch.setenv("MEDIC_STATE", "memory")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_webhook.url)
    built: list[Classifier] = []
    real = Config.classifier

    def counted(self: Config, where: str | None) -> Classifier:
        built.append(real(self, where))
        return built[-1]

    monkeypatch.setattr(Config, "classifier", counted)
    app.handler(subscription(TRACEBACK), Context())
    app.handler(subscription(TRACEBACK, first_id=900), Context())
    assert len(built) == 1
    assert len(slack_webhook.requests) == 1


def test_with_no_destination_it_logs_what_it_would_send(
    aws: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MEDIC_STATE", "memory")
    app.handler(subscription(TRACEBACK), Context())
    [record] = [r for r in caplog.records if "no destination configured" in r.getMessage()]
    alert = record.__dict__["alert"]
    assert alert["endpoint"] == "fraud-detector" and alert["container"] == "model"
    assert "AKIAIOSFODNN7EXAMPLE" not in json.dumps(alert)


def test_kinesis_batch_skips_a_corrupt_record_and_reports_only_failed_items(
    deployed: None, slack_api: SlackApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = {
        "kinesis": {"sequenceNumber": "1", "data": packed(payload(TRACEBACK))},
        "eventID": "s:1",
    }
    corrupt = {"kinesis": {"sequenceNumber": "2", "data": "not base64!"}, "eventID": "s:2"}
    assert app.handler({"Records": [corrupt, good]}, Context()) == {"batchItemFailures": []}
    assert len(slack_api.posts()) == 1
    # the store failing for one record reports that record alone, for Kinesis to retry
    monkeypatch.setenv("MEDIC_STATE", "dynamodb://no-such-table")
    other = {
        "kinesis": {"sequenceNumber": "3", "data": packed(payload(["ERROR boom"], 500))},
        "eventID": "s:3",
    }
    assert app.handler({"Records": [other]}, Context()) == {
        "batchItemFailures": [{"itemIdentifier": "3"}]
    }


def test_a_bad_config_stops_the_function_with_its_problems(
    aws: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    aws.client("ssm").put_parameter(Name="/medic/bad", Value="min_severity: loud\n", Type="String")
    monkeypatch.setenv("MEDIC_CONFIG_PARAMETER", "/medic/bad")
    with pytest.raises(Exception, match="ssm:/medic/bad:1: min_severity"):
        app.handler(subscription(TRACEBACK), Context())
    [record] = [r for r in caplog.records if "config is invalid" in r.getMessage()]
    assert "ssm:/medic/bad:1: min_severity" in str(record.__dict__["problems"])


def test_the_bundled_kinesis_sample_runs_through_the_handler(
    aws: Any, monkeypatch: pytest.MonkeyPatch, slack_webhook: Webhook
) -> None:
    monkeypatch.setenv("MEDIC_STATE", "memory")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_webhook.url)
    sample = (
        Path(__file__).resolve().parents[1] / "events" / "aws" / "kinesis_subscription_batch.json"
    )
    assert app.handler(json.loads(sample.read_text()), Context()) == {"batchItemFailures": []}
    [message] = slack_webhook.requests
    assert "sentencepiece" in message.body["text"] and "summarizer/Canary" in message.body["text"]
