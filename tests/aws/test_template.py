"""template.yaml promises that `make infra` (sam validate --lint, cfn-lint, sam build) cannot
check: least-privilege IAM, scoped invoke permission, the runtime, and an environment that
matches what the function reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags kept as ``{"Fn::X": value}``."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)
DOC: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
RESOURCES: dict[str, Any] = DOC["Resources"]


def _statements() -> list[dict[str, Any]]:
    policies = RESOURCES["MedicFunction"]["Properties"]["Policies"]
    return [s for p in policies if "Statement" in p for s in p["Statement"]]


def test_no_wildcard_actions_and_no_wildcard_resources() -> None:
    for statement in _statements():
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in action for action in actions), statement
        assert statement["Resource"] != "*", statement


def test_logs_may_invoke_the_function_only_from_endpoint_log_groups() -> None:
    permission = RESOURCES["LogsInvokePermission"]["Properties"]
    assert permission["Principal"] == "logs.amazonaws.com"
    assert "log-group:/aws/sagemaker/Endpoints/*" in permission["SourceArn"]["Fn::Sub"]
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_function_runs_python312_with_state_in_the_table_and_secrets_by_reference() -> None:
    function = RESOURCES["MedicFunction"]
    props = function["Properties"]
    assert props["Runtime"] == "python3.12" and function["Metadata"]["BuildMethod"] == "makefile"
    assert props["Handler"] == "functions.aws.app.handler"
    env = props["Environment"]["Variables"]
    assert env["MEDIC_STATE"] == {"Fn::Sub": "dynamodb://${StateTable}"}
    for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "TEAMS_WEBHOOK_URL"):
        assert name not in env and f"{name}_SECRET_ARN" in env  # never a plain parameter
    destination = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert destination["Type"] == "SQS"


def test_state_table_matches_the_store() -> None:
    table = RESOURCES["StateTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "pending" and index["Projection"]["NonKeyAttributes"] == [
        "expires_at"
    ]
