"""Multi-line grouping: one event per traceback, stack trace or JSON body, per stream."""

from __future__ import annotations

from shared.classify.classifier import events
from shared.classify.group import MAX_EVENT_LINES, body
from shared.model import LogRecord

TS = (
    "2021-02-25 16:56:38,031 [INFO ] W-9000-densenet161_1.0-stdout "
    "org.pytorch.serve.wlm.WorkerLifeCycle - "
)


def records(lines: list[str], stream: str = "s") -> list[LogRecord]:
    return [LogRecord(message=line, source="g", stream=stream) for line in lines]


def test_prefixed_traceback_is_one_event_built_on_its_exception_line() -> None:
    lines = [
        TS + "Traceback (most recent call last):",
        TS + '  File "/opt/ml/model/code/inference.py", line 3, in model_fn',
        TS + "    import lightgbm",
        TS + "ModuleNotFoundError: No module named 'lightgbm'",
        TS + "Model loaded.",
    ]
    got = list(events(records(lines)))
    assert [len(e.lines) for e in got] == [4, 1]
    assert got[0].headline == 3
    assert got[0].lines[got[0].headline].endswith("No module named 'lightgbm'")


def test_chained_exceptions_stay_together_and_the_last_exception_heads() -> None:
    lines = [
        "Traceback (most recent call last):",
        '  File "a.py", line 1, in f',
        "KeyError: 'x'",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "b.py", line 2, in g',
        "RuntimeError: model init failed",
        "next unrelated line",
    ]
    got = list(events(records(lines)))
    assert len(got) == 2
    assert got[0].lines[got[0].headline or 0] == "RuntimeError: model init failed"
    assert got[1].lines == ["next unrelated line"]


def test_java_stack_trace_and_json_body_group() -> None:
    lines = [
        "ai.djl.engine.EngineException: Failed to load PyTorch native library",
        "\tat ai.djl.pytorch.engine.PtEngine.newInstance(PtEngine.java:85)",
        "Caused by: java.io.FileNotFoundException: libtorch.so",
        "\t... 12 more",
        'ModelError: Received client error (400) from primary with message "{',
        '  "code": 400,',
        '  "message": "bad input"',
        '}"',
    ]
    got = list(events(records(lines)))
    assert [len(e.lines) for e in got] == [4, 4]


def test_interleaved_streams_are_grouped_separately() -> None:
    a = records(["Traceback (most recent call last):", '  File "x.py", line 1, in f'], "a")
    b = records(["healthy line from b"], "b")
    a_end = records(["ValueError: boom"], "a")
    got = list(events([a[0], b[0], a[1], a_end[0]]))
    by_stream = {e.records[0].stream: e for e in got}
    assert by_stream["a"].lines[-1] == "ValueError: boom"
    assert by_stream["b"].lines == ["healthy line from b"]


def test_multi_line_record_keeps_its_traceback_to_itself() -> None:
    lambda_error = (
        "[ERROR] ModelError: boom\nTraceback (most recent call last):\n"
        '  File "/var/task/app.py", line 22, in handler\n    runtime.invoke_endpoint()'
    )
    got = list(events(records([lambda_error, "END RequestId: 1"])))
    assert [e.lines[-1] for e in got] == ["    runtime.invoke_endpoint()", "END RequestId: 1"]


def test_message_logged_with_a_traceback_joins_it() -> None:
    lines = [
        "2026-11-19 12:13:21,002 E [8] azmlinfsrv - User's init function failed",
        "Traceback (most recent call last):",
        '  File "/var/azureml-app/score.py", line 6, in init',
        "ModuleNotFoundError: No module named 'lightgbm'",
    ]
    got = list(events(records(lines)))
    assert len(got) == 1 and got[0].headline == 3


def test_runaway_continuation_is_capped() -> None:
    lines = ["Traceback (most recent call last):"] + ["  frame"] * (MAX_EVENT_LINES + 50)
    got = list(events(records(lines)))
    assert len(got[0].lines) == MAX_EVENT_LINES
    assert sum(len(e.lines) for e in got) == len(lines)


def test_a_healthy_line_before_a_traceback_stays_apart() -> None:
    lines = [
        '2026-11-19 12:13:21,412 [INFO ] pool-2-thread-3 ACCESS_LOG - "GET /ping HTTP/1.1" 200 1',
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in f',
        "ValueError: boom",
    ]
    assert [len(e.lines) for e in events(records(lines))] == [1, 3]


def test_padded_level_lines_are_separate_events() -> None:
    lines = [
        "2023-08-01T12:00:00.123456Z  INFO text_generation_launcher: Starting download process.",
        "2023-08-01T12:00:01.123456Z  WARN text_generation_launcher: No safetensors weights found",
    ]
    assert [len(e.lines) for e in events(records(lines))] == [1, 1]


def test_an_error_line_ending_in_a_colon_takes_the_line_it_announces() -> None:
    lines = [
        "ParamValidationError: Parameter validation failed:",
        'Unknown parameter in OutputConfig: "S3FailurePath", must be one of: S3OutputPath',
        "Loaded settings:",
        "workers=2",
    ]
    assert [len(e.lines) for e in events(records(lines))] == [2, 1, 1]


def test_a_level_in_brackets_is_prefix_not_a_closing_bracket() -> None:
    lines = [
        "2026-11-21 09:00:01,001 [INFO ] model loaded",
        "2026-11-21 09:00:02,001 [INFO ] serving on port 8080",
    ]
    grouped = list(events([LogRecord(message=m, stream="s") for m in lines]))
    assert len(grouped) == 2  # neither line reads as the continuation "] …" of the other


def test_a_model_server_line_with_one_logger_word_is_prefix_stripped() -> None:
    lines = [
        "2026-11-21 09:00:01,001 [INFO ] W-9000-model-stdout - Traceback (most recent call last):",
        '2026-11-21 09:00:01,002 [INFO ] W-9000-model-stdout -   File "x.py", line 7, in f',
        "2026-11-21 09:00:01,003 [INFO ] W-9000-model-stdout - ValueError: bad row",
    ]
    [event] = list(events([LogRecord(message=m, stream="s") for m in lines]))
    assert event.headline == 2


def test_only_an_ascii_timestamp_is_a_prefix() -> None:
    """Loggers stamp lines in ASCII; the same shape in other digits or spaces is message text,
    for grouping and for the prefilter alike."""
    tail = " [ERROR] W-9000-model-stdout x - Backend worker died."
    assert body("2026-11-19 12:13:22,930" + tail) == "Backend worker died."
    for odd in ("\uff12\uff10\uff12\uff16-11-19 12:13:22,930", "2026-11-19\u200312:13:22,930"):
        assert body(odd + tail) == odd + tail
