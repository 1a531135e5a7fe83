"""Sessionizer snapshots: restore at any point equals one run; the format is pinned."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import (
    SNAPSHOT_VERSION,
    Assignment,
    Event,
    RejectedEventError,
    Rules,
    Sessionizer,
    SnapshotError,
)
from tests.helpers import AGENT, ALICE, BOB, at, ev
from tests.strategies import rules_strategy, streams

GOLDEN = Path(__file__).parent / "golden" / "snapshot-v1.json"


def feed_all(sessionizer: Sessionizer, events: list[Event]) -> list[Assignment | str]:
    out: list[Assignment | str] = []
    for event in events:
        try:
            out.append(sessionizer.feed(event))
        except RejectedEventError as error:
            out.append(error.reason)
    return out


@st.composite
def split_streams(draw: st.DrawFn) -> tuple[Rules, list[Event], int]:
    rules = draw(rules_strategy)
    events = draw(streams(rules))
    return rules, events, draw(st.integers(0, len(events)))


@given(split_streams())
def test_restore_at_any_split_equals_one_run(case: tuple[Rules, list[Event], int]) -> None:
    """Snapshot after k events, through JSON, restore, feed the rest: same as never stopping."""
    rules, events, k = case
    whole = Sessionizer(rules)
    expected = feed_all(whole, events)

    first = Sessionizer(rules)
    head = feed_all(first, events[:k])
    restored = Sessionizer.restore(json.loads(json.dumps(first.snapshot())))
    tail = feed_all(restored, events[k:])
    assert head + tail == expected
    assert restored.now == whole.now
    assert restored.snapshot() == whole.snapshot()


def golden_sessionizer() -> Sessionizer:
    s = Sessionizer()
    s.feed(ev("q1", 0, ALICE, input="hi"))
    s.feed(ev("a1", 1, AGENT, user_id="alice", parent_id="q1"))
    s.feed(ev("b1", 5, BOB, session_id="ticket-1"))
    s.feed(ev("b2", 6, BOB, session_id="ticket-1", ends_session=True))
    s.feed(ev("q2", 100, ALICE, scope="tenant-b"))
    return s


def test_snapshot_format_is_pinned() -> None:
    """The snapshot of a fixed stream equals the golden file (change the version to change it)."""
    snapshot = golden_sessionizer().snapshot()
    assert snapshot["version"] == SNAPSHOT_VERSION
    assert snapshot == json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_golden_snapshot_restores_and_continues() -> None:
    """The golden file restores into a working Sessionizer with the same rules and state."""
    restored = Sessionizer.restore(json.loads(GOLDEN.read_text(encoding="utf-8")))
    assert restored.rules == Rules()
    assert restored.now == at(100)
    assert restored.is_closed("ticket-1")
    assert restored.feed(ev("a1", 101, AGENT)).duplicate
    assert restored.feed(ev("r1", 130, BOB, parent_id="q1")).thread_parent_id == "q1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "other"}, "not a sessionkit snapshot"),
        ({"version": 99}, "version 99"),
        ({"sessions": [{"id": "x"}]}, r"sessions\[0\]\.event_ids"),
        ({"rules": {"join_window_us": -1, "idle_timeout_us": 1, "header_kinds": []}}, "rules"),
    ],
)
def test_bad_snapshots_are_refused(change: dict[str, object], message: str) -> None:
    """Another format, another version or broken content raise SnapshotError."""
    snapshot = {**golden_sessionizer().snapshot(), **change}
    with pytest.raises(SnapshotError, match=message):
        Sessionizer.restore(snapshot)


def edited(path: str, value: object) -> dict[str, Any]:
    """The golden snapshot with the field at ``path`` (dots, and numbers for list items) set."""
    snapshot: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    *parents, last = path.split(".")
    node: Any = snapshot
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return snapshot


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("now", "2026-01-01T09:01:40", "now"),  # naive
        ("now", 12, "now"),
        ("closed", ["ticket-1"], "closed"),
        ("closed", {"": "ticket-1"}, "closed['']"),
        ("sessions.0.event_ids", "q1", "sessions[0].event_ids"),
        ("sessions.0.event_ids", [], "sessions[0].event_ids"),
        ("sessions.0.explicit", "false", "sessions[0].explicit"),
        ("sessions.0.header_id", "a1", "sessions[0].header_id"),
        ("sessions.0.started_at", "yesterday", "sessions[0].started_at"),
        ("sessions.0.started_at", "2026-01-02T00:00:00+00:00", "sessions[0]"),
        ("sessions.0.last_input_at", "2026-01-02T00:00:00+00:00", "sessions[0].last_input_at"),
        ("sessions.1.id", "b314942d-cd93-537a-8e75-11f3eaa41162", "sessions[1].id"),
        ("sessions.1.event_ids", ["b1", "q1"], "sessions[1].event_ids"),
        ("sessions.0.id", None, "sessions[0].id"),
        ("latest.0.session_id", "nope", "latest[0].session_id"),
        ("latest.0.at", None, "latest[0].at"),
        ("latest", {}, "latest"),
    ],
)
def test_each_inconsistency_names_its_field(path: str, value: object, field: str) -> None:
    """A hand-edited snapshot that does not hold together is refused, naming the field."""
    with pytest.raises(SnapshotError, match=re.escape(f"field {field}")):
        Sessionizer.restore(edited(path, value))


def test_sessions_out_of_order_are_refused() -> None:
    """Remembered sessions come in order of their last input."""
    snapshot = json.loads(GOLDEN.read_text(encoding="utf-8"))
    snapshot["sessions"].reverse()
    with pytest.raises(SnapshotError, match="in order of last input"):
        Sessionizer.restore(snapshot)
