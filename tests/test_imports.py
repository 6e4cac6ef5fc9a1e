"""Cold starts: importing an entry point loads only what every invocation needs.

Each new Lambda container or Functions worker pays for its entry module's imports before the
first event. SDKs and modules that only some paths use (a state store, a chat client, YAML,
rendering, the CLI) are imported where they are used; these tests fail when someone brings one
back to the top of a module on the import path. Each check runs in a fresh interpreter, since
this one has imported nearly everything already. Timing is left to ``benchmarks.imports``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Needed by some paths only, never by importing an entry point.
NOT_AT_IMPORT = (
    "yaml",  # parsed where rules or configs are read (the first invocation)
    "sqlite3",
    "slack_sdk",
    "urllib.request",
    "azure.data.tables",
    "azure.monitor.query",
    "azure.identity",
    "azure.core",
    "shared.cli",
    "shared.sources",
    "shared.render",
    "shared.notify.factory",
    "shared.notify.slack_bot",
    "shared.notify.slack_webhook",
    "shared.notify.teams",
    "shared.state.factory",
    "shared.state.memory",
    "shared.state.sqlite",
    "shared.state.dynamodb",
    "shared.state.azuretable",
)


def loaded_after(code: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` are in ``sys.modules`` after running ``code`` in a fresh
    interpreter from the repository root."""
    report = f"print(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    probe = f"import json, sys\n{code}\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    ("module", "also"),
    [
        # Powertools imports the botocore package itself (for its version), not the AWS SDK.
        ("functions.aws.app", ("boto3",)),
        # The poller's query and checkpoint: only when a workspace is set (MEDIC_WORKSPACE_ID).
        (
            "function_app",
            (
                "boto3",
                "botocore",
                "aws_lambda_powertools",
                "functions.azure.loganalytics",
                "functions.azure.checkpoint",
            ),
        ),
    ],
)
def test_importing_an_entry_point_leaves_path_specific_modules_unloaded(
    module: str, also: tuple[str, ...]
) -> None:
    assert loaded_after(f"import {module}", NOT_AT_IMPORT + also) == []


def test_building_slack_notifiers_does_not_import_the_slack_sdk() -> None:
    """Notifiers are built on every invocation; the chat client only when a message is sent."""
    code = (
        "from shared.config import Config\n"
        "from shared.notify.factory import build_notifiers\n"
        "env = {'SLACK_BOT_TOKEN': 'xoxb-1', 'SLACK_CHANNEL': 'C1',\n"
        "       'SLACK_WEBHOOK_URL': 'https://hooks.slack.invalid/x'}\n"
        "assert sorted(build_notifiers(Config(), env)) == ['slack', 'slack-webhook']"
    )
    assert loaded_after(code, ("slack_sdk",)) == []


def test_alert_settings_builds_no_validator_of_its_own() -> None:
    """The alerting settings are only ever validated as part of ``Config``, which has its own
    validator; building one for ``AlertSettings`` too would cost every cold start for nothing."""
    code = (
        "import function_app\n"
        "from shared.alerts.settings import AlertSettings\n"
        "assert not AlertSettings.__pydantic_complete__"
    )
    assert loaded_after(code, ()) == []


@pytest.mark.parametrize("module", ["functions.aws.app", "function_app"])
def test_an_entry_point_does_not_search_installed_packages_for_pydantic_plugins(
    module: str,
) -> None:
    """The search reads every installed package's metadata on each cold start; medic uses no
    plugins. A value the environment sets is left alone."""
    probe = (
        f"import os, {module}\n"
        "from pydantic.plugin import _loader\n"
        "print(os.environ['PYDANTIC_DISABLE_PLUGINS'], _loader._plugins is None)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    for setting, expected in [(None, "__all__ True"), ("other", "other False")]:
        child = env if setting is None else {**env, "PYDANTIC_DISABLE_PLUGINS": setting}
        done = subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, env=child, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split("\n")[-2] == expected
