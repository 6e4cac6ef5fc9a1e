"""The `medic` command line on good and bad input: every problem named with file and line, and
everything that was good in the same file still scanned."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.cli.main import main
from shared.sources.files import MAX_LINE_BYTES

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/var/azureml-app/score.py", line 9, in run\n'
    "RuntimeError: scoring exploded in a brand new way\n"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]], str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]
    return status, rows, captured.err


def test_scan_reports_bad_lines_and_still_scans_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "mixed.log"
    log.write_bytes(
        b"starting\n"
        + b"binary \x00\x01\x02 junk\n"
        + b'{"message": "broken json\n'
        + b'{"timestamp": 1, "message": "ok", }\n'
        + b"\xff\xfe invalid utf8 then a fatal error occurred\n"
        + b"x" * (MAX_LINE_BYTES * 16)
        + b"\n"
        + TRACEBACK.encode()
    )
    status, rows, err = run(capsys, "scan", "--json", str(log), str(tmp_path / "missing.log"))
    assert status == 1
    assert f"{log}:2: binary data (NUL bytes): line skipped" in err
    assert f"{log}:4: not valid JSON" in err
    assert f"{log}:5: invalid UTF-8 at byte 0" in err
    assert (
        f"{log}:6: line of {MAX_LINE_BYTES * 16 + 1} bytes cut to the first {MAX_LINE_BYTES}" in err
    )
    assert f"{tmp_path / 'missing.log'}: cannot read: No such file or directory" in err
    evidence = [str(r["evidence"]) for r in rows]
    assert any("RuntimeError: scoring exploded" in e for e in evidence)
    assert any("fatal error occurred" in e for e in evidence)
    assert all(r["file"] == str(log) for r in rows)


def test_scan_reads_cloudwatch_and_log_analytics_exports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_export = tmp_path / "insights.csv"
    csv_export.write_text(
        '1614272198232,"2021-02-25 16:56:38,031 [INFO ] W-9000-m-stdout Worker - '
        'kaboom: fatal error in worker",AllTraffic/i-03af43d35aa1655b6\n'
    )
    json_export = tmp_path / "la.jsonl"
    json_export.write_text(
        json.dumps(
            {
                "TimeGenerated": "2026-11-19T12:00:00Z",
                "Message": "kaboom: fatal error in worker",
                "DeploymentName": "blue",
                "ContainerName": "inference-server",
                "_ResourceId": "/subscriptions/s/resourcegroups/r/providers/"
                "microsoft.machinelearningservices/workspaces/w/onlineendpoints/credit-ep",
            }
        )
        + "\n"
    )
    status, rows, _ = run(capsys, "scan", "--json", str(csv_export), str(json_export))
    assert status == 0
    by_file = {r["file"]: r for r in rows}
    aws = by_file[str(csv_export)]
    assert (aws["cloud"], aws["variant"], aws["instance"]) == (
        "aws",
        "AllTraffic",
        "i-03af43d35aa1655b6",
    )
    assert aws["first_seen"] == "2021-02-25T16:56:38.232000+00:00"
    azure = by_file[str(json_export)]
    assert (azure["cloud"], azure["endpoint"], azure["deployment"], azure["container"]) == (
        "azure",
        "credit-ep",
        "blue",
        "inference-server",
    )


def test_scan_stdin_as_a_real_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shared.cli.main", "scan", "--json", "-"],
        input=TRACEBACK,
        capture_output=True,
        text=True,
        check=True,
    )
    [row] = [json.loads(line) for line in done.stdout.splitlines()]
    assert row["file"] == "<stdin>" and row["count"] == 1
    assert set(row) == {
        "file",
        "rule",
        "category",
        "severity",
        "title",
        "cloud",
        "endpoint",
        "variant",
        "deployment",
        "instance",
        "container",
        "count",
        "first_seen",
        "last_seen",
        "evidence",
        "fix",
        "commands",
        "docs",
    }


def test_replay_reports_corrupt_events_and_keeps_going(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text(json.dumps({"awslogs": {"data": "not base64!"}}))
    not_gzip = tmp_path / "notgzip.json"
    not_gzip.write_text(json.dumps({"awslogs": {"data": "aGVsbG8="}}))
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"hello": "world"}')
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    good = tmp_path / "good.json"
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/sagemaker/Endpoints/ep-1",
        "logStream": "AllTraffic/i-0abc123456/container-1",
        "logEvents": [{"id": "1", "timestamp": 1, "message": "RuntimeError: fatal error x"}],
    }
    import base64

    good.write_text(
        json.dumps(
            {
                "awslogs": {
                    "data": base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode()
                }
            }
        )
    )
    status, rows, err = run(
        capsys,
        "replay",
        "--json",
        str(corrupt),
        str(not_gzip),
        str(unknown),
        str(broken),
        str(good),
    )
    assert status == 1
    assert f"{corrupt}: awslogs.data: not valid base64" in err
    assert f"{not_gzip}: awslogs.data: not valid gzip" in err
    assert f"{unknown}: not a CloudWatch Logs subscription event" in err
    assert f"{broken}: Expecting property name" in err
    [row] = rows
    assert (row["endpoint"], row["variant"], row["container"]) == (
        "ep-1",
        "AllTraffic",
        "container-1",
    )


def test_demo_prints_findings_for_every_bundled_sample(capsys: pytest.CaptureFixture[str]) -> None:
    status, rows, _ = run(capsys, "demo", "--json")
    assert status == 0
    files = {Path(str(r["file"])).name for r in rows}
    samples = {p.name for p in Path("tests/events").glob("*/*.json")}
    assert samples - files == {"cloudwatch_control_message.json"}


def test_rules_lists_the_rulebook(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"id", "category", "severity", "title", "origin"} <= set(rows[0])
    assert main(["rules", "--categories"]) == 0
    assert "out_of_quota" in capsys.readouterr().out


def test_a_json_error_body_is_scanned_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An error body on one line keeps its code; only log rows are reduced to their message."""
    body = tmp_path / "body.log"
    body.write_text('{"code": "SomeBrandNewCode", "message": "the operation failed"}\n')
    _, rows, _ = run(capsys, "scan", "--json", str(body))
    [row] = rows
    assert "SomeBrandNewCode" in str(row["evidence"])


def test_scan_reads_rows_copied_from_the_cloudwatch_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows_file = tmp_path / "console.txt"
    rows_file.write_text(
        "| 1661392701632 | 2022-08-25T01:58:21,510 [WARN ] W-9000-model_1.0 Aggregator - "
        "kaboom: fatal error | AllTraffic/i-0ebe254fbdc09af06 |\n"
        "-- | --\n"
        "2020-06-08T09:15:51.852+02:00 | another fatal error in the worker\n"
        "2025-01-15T10:16:06.329-08:002025-01-15T18:16:06,223 [ERROR] W-9000-m Worker - "
        "third fatal error | 2025-01-15T18:16:06,223 [ERROR] W-9000-m Worker - third fatal error"
        " | AllTraffic/i-098f59f854f0cab5b\n"
    )
    _, rows, _ = run(capsys, "scan", "--json", str(rows_file))
    by_evidence = {str(r["evidence"][0]): r for r in rows}  # type: ignore[index]
    first = by_evidence[
        "2022-08-25T01:58:21,510 [WARN ] W-9000-model_1.0 Aggregator - kaboom: fatal error"
    ]
    assert (first["variant"], first["instance"]) == ("AllTraffic", "i-0ebe254fbdc09af06")
    assert first["first_seen"] == "2022-08-25T01:58:21.632000+00:00"
    second = by_evidence["another fatal error in the worker"]
    assert second["first_seen"] == "2020-06-08T09:15:51.852000+02:00"
    third = by_evidence["2025-01-15T18:16:06,223 [ERROR] W-9000-m Worker - third fatal error"]
    assert (third["variant"], third["first_seen"]) == (
        "AllTraffic",
        "2025-01-15T10:16:06.329000-08:00",
    )


def test_scan_reads_docker_compose_prefixes_as_the_container(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SageMaker local mode prints `docker compose` logs: the prefix names the container."""
    log = tmp_path / "local.log"
    prefix = "algo-1-pmyh1_1  | 2019-11-11 16:31:06,305 [INFO ] W-9022-model-stdout Worker - "
    log.write_text(
        prefix
        + "Traceback (most recent call last):\n"
        + prefix
        + '  File "/opt/ml/code/inference.py", line 3, in predict_fn\n'
        + prefix
        + "RuntimeError: kaboom in the handler\n"
    )
    _, rows, _ = run(capsys, "scan", "--json", str(log))
    [row] = rows
    assert row["container"] == "algo-1-pmyh1_1"
    assert row["count"] == 1
    levelled = tmp_path / "levels.log"
    levelled.write_text("ERROR | worker pool failed to start\n")
    _, rows, _ = run(capsys, "scan", "--json", str(levelled))
    assert rows[0]["container"] is None


def test_replay_prints_the_slack_and_teams_renderings(capsys: pytest.CaptureFixture[str]) -> None:
    event = "tests/events/aws/cloudwatch_pipeline_cuda_oom.json"
    assert main(["replay", event]) == 0
    out = capsys.readouterr().out
    slack_part = out.split("--- Slack message: GPU ran out of memory ---\n", 1)[1]
    slack = json.loads(slack_part.split("\n--- ", 1)[0])
    assert slack["blocks"][0]["type"] == "header" and "container-2" in slack["text"]
    teams_part = out.split("--- Teams card: GPU ran out of memory ---\n", 1)[1]
    teams = json.loads(teams_part.split("\n\n", 1)[0].split("\n--- ", 1)[0])
    assert teams["attachments"][0]["content"]["type"] == "AdaptiveCard"
    assert "[ERROR] GPU ran out of memory" in out  # the findings follow
