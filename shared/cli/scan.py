"""``medic scan``: classify log files, each its own stream, in bounded memory."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import ExitStack
from typing import IO

from shared.classify.classifier import FindingSet
from shared.cli.output import print_findings
from shared.config import classifier_from_config
from shared.sources.files import Problem, read_records


def _report(problem: Problem) -> None:
    print(f"medic: {problem}", file=sys.stderr)


def run_scan(paths: Sequence[str], *, as_json: bool, config_path: str | None) -> int:
    """Scan every file; an unreadable one is reported and the others are still scanned.

    Exit status: 0 when every file was read, 1 when some file could not be read.
    """
    classifier = classifier_from_config(config_path)
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
            classifier.collect(read_records(stream, name, _report), findings, file=name)
    print_findings(findings.ordered(), as_json=as_json, out=sys.stdout)
    return status
