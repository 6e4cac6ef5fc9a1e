"""``medic replay --send`` as the user runs it: separate processes sharing the SQLite state,
posting through the real Slack client to a local server that answers as Slack does."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.chat_servers import SlackApi

MEDIC = Path(sys.executable).parent / "medic"
GROUP = "/aws/sagemaker/Endpoints/fraud-detector"
TRACEBACK = [
    "Traceback (most recent call last):",
    '  File "/opt/ml/model/code/inference.py", line 12, in model_fn',
    "    import lightgbm",
    "ModuleNotFoundError: No module named 'lightgbm'",
]


def delivery(path: Path, first_id: int, epoch_ms: int) -> Path:
    """A CloudWatch Logs subscription delivery of one traceback, as the Lambda receives it."""
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": GROUP,
        "logStream": "AllTraffic/i-0abc123",
        "subscriptionFilters": ["medic"],
        "logEvents": [
            {"id": str(first_id + i), "timestamp": epoch_ms + i, "message": line}
            for i, line in enumerate(TRACEBACK)
        ],
    }
    data = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
    path.write_text(json.dumps({"awslogs": {"data": data}}))
    return path


def replay(event: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MEDIC), "replay", "--send", str(event)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_two_deliveries_minutes_apart_post_once_then_update(
    slack_api: SlackApi, tmp_path: Path
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "MEDIC_STATE": f"sqlite:///{tmp_path}/state.sqlite",
        "SLACK_BOT_TOKEN": slack_api.token,
        "SLACK_CHANNEL": "C0ALERTS",
        "SLACK_API_URL": slack_api.url,
    }
    first = delivery(tmp_path / "first.json", 1000, 1795090400000)
    second = delivery(tmp_path / "second.json", 2000, 1795090400000 + 7 * 60_000)

    one = replay(first, env)
    assert one.returncode == 0, one.stderr
    assert "sent post to slack: Python module 'lightgbm' is not installed" in one.stdout
    two = replay(second, env)
    assert two.returncode == 0, two.stderr
    assert "sent update to slack" in two.stdout and "sent reply to slack" in two.stdout
    again = replay(second, env)  # the same delivery once more: nothing new to say
    assert "4 event(s) already processed earlier were skipped" in again.stdout
    assert "Nothing to send." in again.stdout

    [post] = slack_api.posts()
    assert "fraud-detector" in post["text"]
    updates = [r.body for r in slack_api.requests if r.path.endswith("chat.update")]
    replies = [r.body for r in slack_api.requests if "thread_ts" in r.body]
    assert len(updates) == 1 and len(replies) == 1
    assert updates[0]["ts"] == replies[0]["thread_ts"] == "1700000000.000001"
    assert "*Count*\\n2" in json.dumps(updates[0]["blocks"])
