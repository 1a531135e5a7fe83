"""python -m sessionkit.testing.synth: deterministic, realistic, readable by the default layout."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime

from sessionkit import Sessionizer
from sessionkit.replay import LogReader, ReplaySummary, replay_records
from sessionkit.testing.synth import generate, main


def synth(*args: str) -> str:
    out = io.StringIO()
    assert main(list(args), out=out) == 0
    return out.getvalue()


def test_the_same_arguments_give_the_same_bytes() -> None:
    """Deterministic across calls and processes; another seed gives another log."""
    first = synth("--events", "500", "--users", "20", "--seed", "3")
    assert first == synth("--events", "500", "--users", "20", "--seed", "3")
    other = subprocess.run(
        [
            sys.executable,
            "-m",
            "sessionkit.testing.synth",
            "--events",
            "500",
            "--users",
            "20",
            "--seed",
            "3",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.stdout == first
    assert synth("--events", "500", "--users", "20", "--seed", "4") != first


def test_lines_are_valid_in_time_order_and_exercise_the_rules() -> None:
    """Every line reads as an event; times never go back; explicit ids, ends, headerless
    sessions, joins by window and by parent link all occur."""
    text = synth("--events", "3000", "--users", "50", "--seed", "1")
    assert len(text.splitlines()) == 3000
    reader = LogReader(["-"], stdin=io.BytesIO(text.encode()))
    summary = ReplaySummary()
    rules_seen = set()
    last: datetime | None = None
    for outcome in replay_records(reader, Sessionizer().feed_each):
        summary.add(outcome)
        rules_seen.add(getattr(outcome, "assignment", None) and outcome.assignment.rule.value)  # type: ignore[union-attr]
    summary.lines_read = reader.lines_read
    assert summary.balanced
    assert set(summary.rejected_by_reason) <= {"session_closed"}  # realistic, and rare
    assert summary.rejected < 30
    assert {"explicit_id", "parent_link", "join_window", "new_session"} <= rules_seen
    assert summary.headerless_sessions > 0
    assert summary.explicit_sessions > 0
    for event in (item.event for item in LogReader(["-"], stdin=io.BytesIO(text.encode()))):  # type: ignore[union-attr]
        assert last is None or event.at >= last
        last = event.at
    assert any(json.loads(line).get("session_end") for line in text.splitlines())


def test_generate_streams_exactly_n_records() -> None:
    assert sum(1 for _ in generate(0, 5, 0)) == 0
    records = list(generate(10, 1, 0))
    assert len(records) == 10
    assert len({record["event_id"] for record in records}) == 10
