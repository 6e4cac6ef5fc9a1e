"""From log records to findings: group into events, match, build and merge findings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shared.classify.engine import Engine, Verdict
from shared.classify.group import Event, Grouper, body
from shared.classify.mask import mask
from shared.classify.prefilter import Prefilter
from shared.model import SEVERITY_RANK, Finding, LogRecord, finding_key
from shared.redact import Redactor
from shared.rulebook.load import Rulebook, builtin_rulebook
from shared.rulebook.schema import Rule
from shared.rulebook.template import render

UNCLASSIFIED = "unclassified"
#: Evidence lines kept per finding, and characters kept per evidence line.
MAX_EVIDENCE_LINES = 5
MAX_EVIDENCE_CHARS = 500


class Classifier:
    """Applies one rulebook to events; cheap to call, so build it once per process."""

    def __init__(self, rulebook: Rulebook | None = None, redact: Redactor | None = None) -> None:
        self.rulebook = rulebook if rulebook is not None else builtin_rulebook()
        self.engine = Engine(self.rulebook)
        self.redact = redact or Redactor()
        self.prefilter = Prefilter.of(self.rulebook)

    def relevant(self, messages: Sequence[str]) -> list[int]:
        """Indices of the messages of one stream that can change what :meth:`classify` finds
        (all of them when the rulebook has a rule the prefilter cannot read)."""
        if self.prefilter is None:
            return list(range(len(messages)))
        return self.prefilter.relevant(messages)

    def classify_event(self, event: Event, *, file: str | None = None) -> Finding | None:
        """The finding for one event, or ``None`` when it is harmless or no rule applies."""
        reading = self._read(event, file)
        return reading.finding() if reading is not None else None

    def classify(self, records: Iterable[LogRecord], *, file: str | None = None) -> list[Finding]:
        """Findings for a sequence of records, merged per problem, most severe first."""
        findings = FindingSet()
        self.collect(records, findings, file=file)
        return findings.ordered()

    def collect(
        self, records: Iterable[LogRecord], findings: FindingSet, *, file: str | None = None
    ) -> None:
        """Classify one stream of records into ``findings`` (shared across several streams).
        An event of a problem already in ``findings`` is merged into it before the rest of a
        finding (fix, commands) is rendered: most error events repeat a known problem."""
        for event in events(records):
            reading = self._read(event, file)
            if reading is None:
                continue
            known = findings.get(reading.key)
            if known is None:
                findings.add(reading.finding())
            else:
                findings.merge(known, 1, *reading.span(), reading.evidence)

    def _read(self, event: Event, file: str | None) -> _Reading | None:
        verdict = self.engine.match(event.text)
        if verdict is None or not isinstance(verdict.rule, Rule):
            return None
        return _Reading.of(verdict.rule, verdict, event, file, self.redact)


def events(records: Iterable[LogRecord]) -> Iterator[Event]:
    """Group records into events, in the order events complete."""
    grouper = Grouper()
    for record in records:
        if (closed := grouper.feed(record)) is not None:
            yield closed
    yield from grouper.flush()


@dataclass(slots=True)  # one per event: frozen fields cost more to set
class _Reading:
    """What a rule's verdict says about one event, as far as telling its problem apart needs:
    the template values, the evidence and the title. The finding is built from it on demand."""

    rule: Rule
    event: Event
    file: str | None
    values: dict[str, str]
    evidence: list[str]
    title: str

    @classmethod
    def of(
        cls, rule: Rule, verdict: Verdict, event: Event, file: str | None, redact: Redactor
    ) -> _Reading:
        """Credentials are redacted from everything taken from the log before it is masked or
        put into a template, where a pattern could no longer see them."""
        text = event.text
        # The text is redacted whole when fields were taken from it; an event of one line is
        # also its own evidence line, so that redaction serves both.
        one_line = verdict.evidence == text
        clean = redact(text) if verdict.fields or one_line else text
        extracted = _redact_fields(verdict.fields, text, clean, redact)
        values: dict[str, str] = {**event.records[0].location(), **extracted, "rule": rule.id}
        headline = event.lines[event.headline] if event.headline is not None else None
        # The catch-all shows the exception line a traceback ends on, others add it.
        unclassified = rule.category == UNCLASSIFIED
        shown = (headline or verdict.evidence) if unclassified else verdict.evidence
        evidence = [clean if one_line else redact(shown)]  # one line: whichever, it is the text
        if not unclassified and headline and headline != verdict.evidence:
            evidence.append(redact(headline))
        # What the evidence says once its variable parts are masked: the catch-all and the
        # vocabulary fallbacks put it in their titles, so different messages stay different
        # problems.
        # The evidence is most often the event's first line, untouched by redaction (the very
        # same string), whose body grouping already took.
        line = evidence[0].strip()
        opening = event.opening if line is event.lines[0] else None
        values["template"] = mask(opening if opening is not None else body(line))
        clipped = [_clip(line) for line in evidence]
        return cls(rule, event, file, values, clipped, render(rule.title, values))

    @property
    def key(self) -> tuple[str | None, ...]:
        """The :meth:`Finding.key` of the finding this reading gives."""
        values = self.values
        return finding_key(
            self.file,
            values.get("cloud"),
            values.get("endpoint"),
            values.get("variant"),
            values.get("deployment"),
            values.get("container"),
            self.rule.id,
            values["template"],
            self.title,
        )

    def span(self) -> tuple[datetime | None, datetime | None]:
        """The first and last timestamps of the event's records."""
        stamps = [r.timestamp for r in self.event.records if r.timestamp is not None]
        return (min(stamps), max(stamps)) if stamps else (None, None)

    def finding(self) -> Finding:
        """The whole finding, fix and commands rendered."""
        rule, values = self.rule, self.values
        first_seen, last_seen = self.span()
        return Finding(
            rule=rule.id,
            category=rule.category,
            severity=rule.severity,
            title=self.title,
            fix=render(rule.fix, values),
            cloud=values.get("cloud"),
            endpoint=values.get("endpoint"),
            variant=values.get("variant"),
            deployment=values.get("deployment"),
            instance=values.get("instance"),
            container=values.get("container"),
            file=self.file,
            first_seen=first_seen,
            last_seen=last_seen,
            evidence=list(self.evidence),
            commands=[
                render(c, values, shell=True) for c in rule.commands_for(values.get("cloud"))
            ],
            docs=rule.docs,
            fields=values,
            generic=rule.priority < 0,
        )


def _redact_fields(
    fields: dict[str, str], text: str, clean: str, redact: Redactor
) -> dict[str, str]:
    """Extracted values with credentials removed. A value is judged in its context too: a
    group may capture a token without the ``Bearer`` that marks it, so a value taken from the
    text that the redaction of the whole text (``clean``) cut into, and that no pattern catches
    alone, is withheld. (A rule's constant fields are not in the text, and are kept.)
    """
    if not fields:
        return {}
    redacted = {}
    for name, value in fields.items():
        safe = redact(value)
        cut = safe == value and value in text and value not in clean
        redacted[name] = "[REDACTED]" if cut else safe
    return redacted


def _clip(line: str) -> str:
    line = line.strip()
    return line if len(line) <= MAX_EVIDENCE_CHARS else line[: MAX_EVIDENCE_CHARS - 1] + "…"


@dataclass
class FindingSet:
    """Findings merged per problem (:meth:`Finding.key`): count, time span, some evidence."""

    _by_key: dict[tuple[str | None, ...], Finding] = field(default_factory=dict)

    def add(self, finding: Finding) -> Finding:
        """Merge a finding into the set; returns the merged finding."""
        key = finding.key()
        known = self._by_key.get(key)
        if known is None:
            finding.seq = len(self._by_key)
            self._by_key[key] = finding
            return finding
        return self.merge(
            known, finding.count, finding.first_seen, finding.last_seen, finding.evidence
        )

    def get(self, key: tuple[str | None, ...]) -> Finding | None:
        """The finding of the problem with this :meth:`Finding.key`, if the set holds it."""
        return self._by_key.get(key)

    @staticmethod
    def merge(
        known: Finding,
        count: int,
        first_seen: datetime | None,
        last_seen: datetime | None,
        evidence: Iterable[str],
    ) -> Finding:
        """Count more events into a finding of the set: their number, time span and evidence."""
        known.count += count
        if first_seen and (not known.first_seen or first_seen < known.first_seen):
            known.first_seen = first_seen
        if last_seen and (not known.last_seen or last_seen > known.last_seen):
            known.last_seen = last_seen
        for line in evidence:
            if len(known.evidence) < MAX_EVIDENCE_LINES and line not in known.evidence:
                known.evidence.append(line)
        return known

    def ordered(self) -> list[Finding]:
        """Most severe first; then a diagnosis, a fallback's reading of the words, and last the
        catch-all that knows nothing; then first occurrence."""
        return sorted(
            self._by_key.values(),
            key=lambda f: (
                -SEVERITY_RANK[f.severity],
                f.generic,
                f.category == UNCLASSIFIED,
                f.seq,
            ),
        )
