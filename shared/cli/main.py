"""``medic``: scan log files, replay recorded cloud events, list rules, check a config."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from shared.notify.factory import ReceiverSetupError
from shared.rulebook.errors import RulebookError
from shared.state.factory import StateConfigError

SetupError = (ReceiverSetupError, StateConfigError)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medic",
        description="Classify ML inference endpoint logs and say how to fix what broke.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = sub.add_parser("scan", help="classify log files (each file is one log stream)")
    scan.add_argument("files", nargs="+", metavar="FILE", help="log file, or - for stdin")
    scan.add_argument("--json", action="store_true", help="one finding per line as JSON")
    scan.add_argument("--config", metavar="FILE", help="config file (default: $MEDIC_CONFIG)")

    replay = sub.add_parser("replay", help="run recorded cloud events through the pipeline")
    replay.add_argument("events", nargs="+", metavar="EVENT.json")
    replay.add_argument("--config", metavar="FILE", help="config file (default: $MEDIC_CONFIG)")
    replay.add_argument("--json", action="store_true", help="one finding per line as JSON")
    replay.add_argument(
        "--send", action="store_true", help="deliver the alerts to the configured receivers"
    )

    demo = sub.add_parser("demo", help="replay the bundled sample events")
    demo.add_argument("--json", action="store_true", help="one finding per line as JSON")

    rules = sub.add_parser("rules", help="list the rulebook")
    rules.add_argument("--json", action="store_true", help="one rule per line as JSON")
    rules.add_argument("--config", metavar="FILE", help="include this config's rules")
    rules.add_argument("--categories", action="store_true", help="list the categories")

    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_sub.add_parser("check", help="validate a config file")
    check.add_argument("file", metavar="FILE")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``medic`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "scan":
            from shared.cli.scan import run_scan

            return run_scan(args.files, as_json=args.json, config_path=args.config)
        if args.command == "replay":
            from shared.cli.replay import run_replay

            return run_replay(
                args.events, as_json=args.json, config_path=args.config, send=args.send
            )
        if args.command == "demo":
            from shared.cli.replay import run_demo

            return run_demo(as_json=args.json)
        if args.command == "rules":
            return _rules(args.json, args.config, args.categories)
        return _config_check(args.file)
    except RulebookError as exc:
        for problem in exc.problems:
            print(f"medic: {problem}", file=sys.stderr)
        return 2
    except SetupError as exc:
        print(f"medic: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


def _rules(as_json: bool, config_path: str | None, categories: bool) -> int:
    from shared.config import config_from_env
    from shared.model import CATEGORIES

    if categories:
        for name, meaning in CATEGORIES.items():
            print(f"{name:24} {meaning}")
        return 0
    config, where = config_from_env(config_path)
    book = config.rulebook(where or "config")
    for rule in book.rules:
        if as_json:
            row = rule.model_dump(
                include={"id", "category", "severity", "priority", "title", "docs"}
            )
            print(json.dumps({**row, "origin": book.origin.get(rule.id)}))
        else:
            print(f"{rule.id:48} {rule.category:24} {rule.severity:8} {rule.title}")
    if not as_json:
        print(
            f"\n{len(book.rules)} rules, {len(book.ignore)} ignore rules, "
            f"{len(book.extractors)} field extractors"
        )
    return 0


def _config_check(path: str) -> int:
    from shared.config import load_config

    config = load_config(path)
    config.rulebook(path)
    receivers = ", ".join(config.receivers) or "from the environment"
    print(
        f"{path}: OK ({len(config.rules)} rules, {len(config.ignore)} ignore rules, "
        f"{len(config.routes)} routes, receivers: {receivers})"
    )
    now = datetime.now(UTC)
    for mute in config.mutes:
        state = "active" if mute.active(now) else "expired"
        print(f"  mute until {mute.until.isoformat()} ({state}): {mute.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
