"""Sessionizer snapshots: restore at any point equals one run; the format is pinned."""

from __future__ import annotations

import json
from pathlib import Path

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
        ({"sessions": [{"id": "x"}]}, "does not hold together"),
        ({"rules": {"join_window_us": -1, "idle_timeout_us": 1, "header_kinds": []}}, "hold"),
    ],
)
def test_bad_snapshots_are_refused(change: dict[str, object], message: str) -> None:
    """Another format, another version or broken content raise SnapshotError."""
    snapshot = {**golden_sessionizer().snapshot(), **change}
    with pytest.raises(SnapshotError, match=message):
        Sessionizer.restore(snapshot)
