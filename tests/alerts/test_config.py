"""The alerting keys of the config file: the example validates, every problem is reported with
its line and path, and a config naming a receiver without credentials does not start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shared.cli.main import main
from shared.config import load_config
from shared.notify.factory import ReceiverSetupError, build_notifiers

ROOT = Path(__file__).resolve().parents[2]
MEDIC = Path(sys.executable).parent / "medic"


def test_the_example_config_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(ROOT / "medic.example.yaml")]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "3 routes" in out and "mute until 2026-12-01" in out
    config = load_config(ROOT / "medic.example.yaml")
    assert config.overrides.categories["throttled"].threshold is not None


BROKEN = """\
min_severity: loud
threshold: {count: 0}
receivers:
  oncall: {type: slack}
routes:
  - match: {endpoint: "a-*"}
    receivers: [oncall]
  - match: {category: throttled}
    receivers: [oncall]
  - match:
      severity: [urgent]
    receivers: [oncall]
mutes:
  - match: {endpoint: x}
    until: tomorrow
"""


def test_every_problem_is_reported_with_line_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "medic.yaml"
    path.write_text(BROKEN)
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:1: min_severity: Input should be 'critical', 'error'" in err
    assert f"{path}:2: threshold.count: Input should be greater than or equal to 1" in err
    assert f"{path}:11: routes[2].match.severity[0]: Input should be 'critical'" in err
    assert f"{path}:15: mutes[0].until: Input should be a valid datetime" in err
    assert f"{path}:14: mutes[0].reason: Field required" in err


def test_references_to_unknown_receivers_and_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "medic.yaml"
    path.write_text(
        "receivers:\n  a: {type: teams}\nroutes:\n  - receivers: [a]\n  - receivers: [b]\n"
    )
    assert main(["config", "check", str(path)]) == 2
    assert f"{path}:5: routes[1].receivers[0]: no receiver named 'b'; declared: a" in (
        capsys.readouterr().err
    )
    path.write_text("overrides:\n  rules:\n    no.such-rule: {enabled: false}\n")
    assert main(["config", "check", str(path)]) == 2
    assert "overrides.rules.no.such-rule: no rule 'no.such-rule'" in capsys.readouterr().err


def test_receivers_come_from_the_environment() -> None:
    config = load_config(ROOT / "medic.example.yaml")
    with pytest.raises(ReceiverSetupError) as caught:
        build_notifiers(config, {"SLACK_BOT_TOKEN": "xoxb-1"})
    message = str(caught.value)
    assert "receivers.ml-team: environment variable TEAMS_WEBHOOK_URL is not set" in message
    assert "FRAUD_SLACK_WEBHOOK_URL" in message
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "TEAMS_WEBHOOK_URL": "https://example.invalid/t",
        "FRAUD_SLACK_WEBHOOK_URL": "https://example.invalid/s",
    }
    assert set(build_notifiers(config, env)) == {"ml-oncall", "ml-team", "fraud-squad"}
    assert set(
        build_notifiers(
            load_config(ROOT / "medic.example.yaml").model_copy(update={"receivers": {}}),
            {"SLACK_WEBHOOK_URL": "https://example.invalid/s"},
        )
    ) == {"slack-webhook"}


def test_send_refuses_to_start_on_a_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "medic.yaml"
    path.write_text("routes:\n  - match: {severity: [urgent]}\n    receivers: [slack]\n")
    event = ROOT / "tests" / "events" / "aws" / "cloudwatch_missing_module.json"
    result = subprocess.run(
        [str(MEDIC), "replay", "--send", "--config", str(path), str(event)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "", "MEDIC_STATE": "memory"},
        check=False,
    )
    assert result.returncode == 2
    assert f"{path}:2: routes[0].match.severity[0]" in result.stderr
