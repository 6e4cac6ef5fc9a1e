"""Test helpers: run text through the same reader and classifier as ``medic scan``."""

from __future__ import annotations

import io

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
