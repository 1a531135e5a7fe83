"""``sessionkit stats``: how big and how long the sessions of a SQLite file are."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sessionkit import SessionStatus
from sessionkit.cli._args import open_readonly
from sessionkit.cli._text import table
from sessionkit.replay import format_duration
from sessionkit.storage import SessionQueries

__all__ = ["add_parser", "collect", "percentile", "run"]

DESCRIPTION = """\
Statistics of the sessions recorded in a SQLite file: counts, events per session and session
duration (first event to last input) at the 50th, 90th and 99th percentiles (nearest rank), and
the share of headerless and explicit sessions.
"""

PERCENTILES = (50, 90, 99)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "stats", help="statistics of the sessions", description=DESCRIPTION
    )
    parser.add_argument("db", metavar="DB", help="a SQLite file written by `sessionkit replay`")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of values sorted in ascending order (0 if none)."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def collect(store: SessionQueries) -> dict[str, Any]:
    """The statistics of every session in ``store``, as ``stats --format json`` prints them."""
    counts: list[int] = []
    durations: list[float] = []
    headerless = explicit = still_open = 0
    after = None
    while True:
        page = store.sessions(only_sessions=True, limit=1000, after=after)
        for item in page.items:
            row = item.session
            counts.append(row.event_count)
            durations.append((row.last_input_at - row.started_at).total_seconds())
            headerless += row.header_id is None
            explicit += row.explicit
            still_open += row.status is SessionStatus.OPEN
        after = page.next_after
        if after is None:
            break
    counts.sort()
    durations.sort()
    sessions = len(counts)

    def share(n: int) -> float:
        return round(n / sessions, 4) if sessions else 0.0

    return {
        "sessions": sessions,
        "events": sum(counts),
        "open": still_open,
        "closed": sessions - still_open,
        "events_per_session": {
            **{f"p{p}": percentile(counts, p) for p in PERCENTILES},
            "max": counts[-1] if counts else 0,
        },
        "duration_seconds": {
            **{f"p{p}": percentile(durations, p) for p in PERCENTILES},
            "max": durations[-1] if durations else 0,
        },
        "headerless": headerless,
        "headerless_share": share(headerless),
        "explicit": explicit,
        "explicit_share": share(explicit),
    }


def run(options: argparse.Namespace) -> int:
    with open_readonly(options.db) as store:
        stats = collect(store)
    if options.format == "json":
        print(json.dumps(stats, indent=2))
        return 0
    per = stats["events_per_session"]
    duration = stats["duration_seconds"]
    rows = [
        [
            "sessions",
            f"{stats['sessions']:,}",
            f"{stats['open']:,} open, {stats['closed']:,} closed",
        ],
        ["events", f"{stats['events']:,}", ""],
        ["headerless", f"{stats['headerless']:,}", f"{stats['headerless_share']:.1%}"],
        ["explicit", f"{stats['explicit']:,}", f"{stats['explicit_share']:.1%}"],
    ]
    quantiles = [
        ["events per session", *(f"{per[k]:g}" for k in ("p50", "p90", "p99", "max"))],
        ["session duration", *(_whole_seconds(duration[k]) for k in ("p50", "p90", "p99", "max"))],
    ]
    print(table(None, rows, right=(1,)))
    print()
    print(table(["", "p50", "p90", "p99", "max"], quantiles, right=(1, 2, 3, 4)))
    return 0


def _whole_seconds(seconds: float) -> str:
    """A duration to the second, as ``format_duration`` writes it: ``45s``, ``1h30m``."""
    return format_duration(timedelta(seconds=round(seconds)))
