"""Test helpers: run text through the same reader and classifier as ``medic scan``."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable

from shared.classify.classifier import Classifier, FindingSet
from shared.model import Finding
from shared.sources.files import Problem, read_records


def scan_text(classifier: Classifier, text: str, name: str = "example.log") -> list[Finding]:
    """Findings for a log text, exactly as ``medic scan`` would produce them for a file."""
    problems: list[Problem] = []
    findings = FindingSet()
    classifier.collect(
        read_records(io.BytesIO(text.encode()), name, problems.append), findings, file=name
    )
    return findings.ordered()


def run_together(work: Callable[[int], object], count: int) -> list[BaseException]:
    """``work(0)`` … ``work(count - 1)`` in threads released at the same moment (what
    concurrent invocations look like); returns what they raised."""
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as exc:  # reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
