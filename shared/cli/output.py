"""How findings are printed: one JSON object per line, or a short block per finding."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from shared.model import Finding
from shared.pipeline import RunReport

_WHERE = ("cloud", "endpoint", "variant", "deployment", "instance", "container")


def print_findings(findings: list[Finding], *, as_json: bool, out: TextIO) -> None:
    """The findings in the format the user asked for."""
    (print_json if as_json else print_text)(findings, out)


def print_json(findings: Iterable[Finding], out: TextIO) -> None:
    """One finding per line in the contract's JSON shape."""
    for finding in findings:
        out.write(json.dumps(finding.to_json(), ensure_ascii=False) + "\n")


def print_text(findings: list[Finding], out: TextIO) -> None:
    """A block per finding: what, where, the fix, the commands, the evidence."""
    if not findings:
        out.write("No findings.\n")
        return
    for finding in findings:
        data = finding.to_json()
        where = "  ".join(f"{k}={data[k]}" for k in _WHERE if data[k])
        times = ""
        if finding.first_seen:
            times = f"  first {data['first_seen']}  last {data['last_seen']}"
        out.write(f"[{finding.severity.upper()}] {finding.title}\n")
        out.write(f"  {finding.category} · rule {finding.rule} · ×{finding.count}{times}\n")
        if finding.file:
            out.write(f"  file: {finding.file}\n")
        if where:
            out.write(f"  where: {where}\n")
        out.write(f"  fix: {finding.fix}\n")
        for command in finding.commands:
            out.write(f"    $ {command}\n")
        for line in finding.evidence[:3]:
            out.write(f"  | {line}\n")
        if finding.docs:
            out.write(f"  docs: {finding.docs}\n")
        out.write("\n")


def print_outcome(report: RunReport, *, sent: bool, out: TextIO) -> None:
    """One line per message sent, then what was held back and what failed."""
    outcome = report.outcome
    if report.duplicates:
        out.write(f"{report.duplicates} event(s) already processed earlier were skipped.\n")
    if sent:
        for item in outcome.sent:
            out.write(f"sent {item.action} to {item.receiver}: {item.alert.title}\n")
        if not outcome.sent:
            out.write("Nothing to send.\n")
    for reason, count in sorted(outcome.held.items()):
        out.write(f"held back {count} finding(s): {reason}\n")
    for failure in outcome.failed:
        out.write(f"not delivered (kept for the next run): {failure}\n")
