"""``medic scan``: classify log files, each its own stream, in bounded memory."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import ExitStack
from typing import IO

from shared.classify.classifier import Classifier, FindingSet, events
from shared.cli.output import print_json, print_text
from shared.config import config_from_env
from shared.sources.files import Problem, read_records


def _report(problem: Problem) -> None:
    print(f"medic: {problem}", file=sys.stderr)


def run_scan(paths: Sequence[str], *, as_json: bool, config_path: str | None) -> int:
    """Scan every file; an unreadable one is reported and the others are still scanned.

    Exit status: 0 when every file was read, 1 when some file could not be read.
    """
    config, where = config_from_env(config_path)
    classifier = Classifier(config.rulebook(where or "config"))
    findings = FindingSet()
    status = 0
    for path in paths:
        name = "<stdin>" if path == "-" else path
        with ExitStack() as stack:
            try:
                stream: IO[bytes] = (
                    sys.stdin.buffer if path == "-" else stack.enter_context(open(path, "rb"))
                )
            except OSError as exc:
                _report(Problem(name, None, f"cannot read: {exc.strerror or exc}"))
                status = 1
                continue
            for event in events(read_records(stream, name, _report)):
                finding = classifier.classify_event(event, file=name)
                if finding is not None:
                    findings.add(finding)
    ordered = findings.ordered()
    if as_json:
        print_json(ordered, sys.stdout)
    else:
        print_text(ordered, sys.stdout)
    return status
