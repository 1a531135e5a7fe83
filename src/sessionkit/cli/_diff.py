"""``sessionkit diff``: replay logs under two rule sets and show how the sessions change."""

from __future__ import annotations

import argparse
import json
from typing import Any

from sessionkit import Rules
from sessionkit.cli._args import add_log_options, log_reader, positive_int, rules_from_spec
from sessionkit.cli._text import short_time, table, visible
from sessionkit.replay import (
    CHANGE_KINDS,
    RuleComparison,
    SessionRef,
    compare_rules,
    format_duration,
)

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Replay the same logs under two rule sets, a and b, and report how the sessions change: unchanged,
split, merged or regrouped, with counts and a few examples. A rule set is written as
join-window=45s,idle-timeout=24h,header-kinds=user,agent; settings left out keep their defaults.
Nothing is written.
"""

_LABELS = {
    "unchanged": "unchanged",
    "split": "split",
    "merged": "merged",
    "regrouped": "regrouped",
    "only_a": "only under a",
    "only_b": "only under b",
}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "diff", help="compare the sessions of two rule sets", description=DESCRIPTION
    )
    add_log_options(parser)
    parser.add_argument("--a", required=True, metavar="RULES", help="rule set a (the baseline)")
    parser.add_argument("--b", required=True, metavar="RULES", help="rule set b")
    parser.add_argument(
        "--examples", type=positive_int, default=3, metavar="N", help="examples per kind (3)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(options: argparse.Namespace) -> int:
    rules_a, rules_b = rules_from_spec(options.a), rules_from_spec(options.b)
    reader = log_reader(options)
    result = compare_rules(
        reader, rules_a, rules_b, max_lateness=options.max_lateness, examples=options.examples
    )
    if options.format == "json":
        document = _json(result)
        document["lines_read"] = reader.lines_read
        print(json.dumps(document, indent=2))
    else:
        print(_text(result, reader.lines_read))
    return 0


def spec(rules: Rules) -> str:
    """A rule set written as ``diff`` reads it."""
    kinds = ",".join(sorted(kind.value for kind in rules.header_kinds))
    return (
        f"join-window={format_duration(rules.join_window)},"
        f"idle-timeout={format_duration(rules.idle_timeout)},header-kinds={kinds}"
    )


def _ref(ref: SessionRef) -> str:
    return f"{ref.session_id} (from {ref.first_event_id}, {short_time(ref.started_at)})"


def _text(result: RuleComparison, lines_read: int) -> str:
    lines = [
        f"a: {spec(result.rules_a)}",
        f"b: {spec(result.rules_b)}",
        f"lines read: {lines_read:,}; events grouped under both: {result.events_both:,}, "
        f"only under a: {result.events_only_a:,}, only under b: {result.events_only_b:,}, "
        f"neither: {result.events_neither:,}",
        f"sessions under a: {sum(result.sessions_a.values()):,}, "
        f"under b: {sum(result.sessions_b.values()):,}",
        "",
    ]
    rows = [
        [
            _LABELS[kind],
            f"{result.groups[kind]:,}",
            f"{result.sessions_a[kind]:,}",
            f"{result.sessions_b[kind]:,}",
        ]
        for kind in CHANGE_KINDS
    ]
    lines += table(
        ["CHANGE", "GROUPS", "SESSIONS A", "SESSIONS B"], rows, right=(1, 2, 3)
    ).splitlines()
    for kind in CHANGE_KINDS:
        if kind == "unchanged" or not result.examples[kind]:
            continue
        lines += ["", f"{_LABELS[kind]}, for example:"]
        for change in result.examples[kind]:
            lines += [f"  a {_ref(ref)}" for ref in change.a]
            lines += [f"    -> b {_ref(ref)}" for ref in change.b]
    return "\n".join(visible(line) for line in lines)  # ids and texts come from logs


def _json(result: RuleComparison) -> dict[str, Any]:
    def refs(items: tuple[SessionRef, ...]) -> list[dict[str, str]]:
        return [
            {
                "session_id": ref.session_id,
                "scope": ref.scope,
                "first_event_id": ref.first_event_id,
                "started_at": ref.started_at.isoformat(),
            }
            for ref in items
        ]

    return {
        "a": spec(result.rules_a),
        "b": spec(result.rules_b),
        "events": {
            "both": result.events_both,
            "only_a": result.events_only_a,
            "only_b": result.events_only_b,
            "neither": result.events_neither,
        },
        "changes": {
            kind: {
                "groups": result.groups[kind],
                "sessions_a": result.sessions_a[kind],
                "sessions_b": result.sessions_b[kind],
                "examples": [
                    {"a": refs(change.a), "b": refs(change.b)} for change in result.examples[kind]
                ],
            }
            for kind in CHANGE_KINDS
        },
    }
