"""The classifier alone on the standard batch: its stages against the decode floor, what the
prefilter saves, and how classification time grows from 50 to 1,000 extra rules (compared with
itself, so the machine's speed cancels out).
"""

from __future__ import annotations

from functools import partial

from benchmarks.batch import EVENTS, REPEATS, deliveries, interleaved
from functions.aws.events import decode_awslogs, records_from_logs
from shared.classify.classifier import Classifier
from shared.rulebook.load import Rulebook, builtin_rulebook
from shared.rulebook.schema import Rule


def synthetic_rules(count: int) -> tuple[Rule, ...]:
    """``count`` distinct rules shaped like real ones (a literal phrase plus captured fields)."""
    return tuple(
        Rule.model_validate(
            {
                "id": f"bench.r{i}",
                "category": "model_error",
                "severity": "error",
                "title": "synthetic {code}",
                "match": {"any": [f"(?i)synthetic failure {i} in (?P<code>[a-z]+) handler"]},
                "fix": "none",
            }
        )
        for i in range(count)
    )


def main() -> None:
    """Print the classifier figures."""
    batches = deliveries(EVENTS, REPEATS)  # the timed runs read lines they have not seen
    event = batches[0]
    classifier = Classifier()
    size = len(event["awslogs"]["data"])
    relevant = classifier.relevant
    findings = classifier.classify(records_from_logs(decode_awslogs(event), relevant))
    times = interleaved(
        {
            "decode": lambda _: decode_awslogs(event),
            "pipeline": lambda n: classifier.classify(
                records_from_logs(decode_awslogs(batches[n]), relevant)
            ),
            "unfiltered": lambda n: classifier.classify(
                records_from_logs(decode_awslogs(batches[n]))
            ),
        }
    )
    decode, pipeline, unfiltered = times["decode"], times["pipeline"], times["unfiltered"]
    assert [f.key() for f in findings] == [
        f.key() for f in classifier.classify(records_from_logs(decode_awslogs(event)))
    ], "the prefilter changed what was found"
    kept = len(relevant([e["message"] for e in decode_awslogs(event)["logEvents"]]))
    print(
        f"Classifier alone: {EVENTS} CloudWatch events, {size / 1024:.0f} KiB encoded,"
        f" best of {REPEATS} interleaved runs"
    )
    print(f"  decode only (base64 + gunzip + JSON):     {decode * 1000:8.1f} ms")
    print(
        f"  decode + prefilter + group + classify:    {pipeline * 1000:8.1f} ms"
        f"   ({EVENTS / pipeline:,.0f} events/s, {len(findings)} findings)"
    )
    print(f"  ratio to the decode floor:                {pipeline / decode:8.2f}x")
    print(
        f"  (the prefilter kept {kept} of {EVENTS} lines; without it: {unfiltered * 1000:.1f} ms,"
        f" {unfiltered / decode:.1f}x)"
    )

    print(
        f"\nPrefilter scaling: built-in rulebook ({len(classifier.rulebook.rules)} rules) "
        "plus synthetic rules, same batch, records already decoded"
    )
    records = list(records_from_logs(decode_awslogs(event)))
    base = builtin_rulebook()
    classifiers = {
        extra: Classifier(
            Rulebook(base.rules + synthetic_rules(extra), base.ignore, base.extractors, {})
        )
        for extra in (50, 200, 1000)
    }
    by_rules = interleaved(
        {extra: partial(lambda c, _: c.classify(records), c) for extra, c in classifiers.items()}
    )
    for extra, seconds in by_rules.items():
        print(f"  +{extra:5d} rules: {seconds * 1000:8.1f} ms   ({EVENTS / seconds:,.0f} events/s)")
    growth = by_rules[1000] / by_rules[50] - 1
    print(f"  from +50 to +1000 rules the time grows by {growth:+.0%}   (target: within 30%)")
