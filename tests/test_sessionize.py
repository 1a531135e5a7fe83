"""sessionize(), SessionAssembly and thread trees: whole sessions from a stream."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessionkit import (
    CloseReason,
    Rules,
    SessionClosedError,
    SessionStatus,
    build_thread_tree,
    sessionize,
)
from sessionkit.testing import START, Conversation
from tests.helpers import AGENT, ALICE, BOB, TOOL, at, ev


def shape(session_roots: tuple[object, ...]) -> list[tuple[int, str]]:
    return [(d, n.event.id) for r in session_roots for d, n in r.walk()]  # type: ignore[attr-defined]


class TestSessionize:
    def test_a_support_conversation(self) -> None:
        """A user, an agent planning with an LLM and calling a tool: one session, one tree."""
        c = Conversation()
        q1 = c.ask("alice", "Where is my order?")
        llm = c.llm(q1, after=1)
        c.tool(q1, after=1)
        c.add(c.agent, "It shipped.", prefix="a", parent=llm, user="alice", after=1)
        c.ask("alice", "Thanks", after=30)
        c.ask("bob", "Hi", after=200)
        first, second = sessionize(c)
        assert [e.id for e in first.events] == ["q1", "llm1", "tool1", "a1", "q2"]
        assert first.header is q1
        assert shape(first.roots) == [(0, "q1"), (1, "llm1"), (2, "a1"), (1, "tool1"), (1, "q2")]
        assert (first.started_at, first.last_input_at) == (START, START + timedelta(seconds=33))
        assert first.status is SessionStatus.OPEN
        assert first.closed_at is None
        assert first.close_reason is None
        assert not first.explicit
        assert [e.id for e in second.events] == ["q3"]

    def test_sessions_come_in_order_of_their_first_event(self) -> None:
        """Sessions are listed by when they started, not when they last had input."""
        events = [ev("b1", 0, BOB), ev("a1", 1, ALICE), ev("b2", 2, BOB)]
        assert [[e.id for e in s.events] for s in sessionize(events)] == [["b1", "b2"], ["a1"]]

    def test_closed_sessions_carry_their_reason(self) -> None:
        """Ended and idle sessions are CLOSED with reason and time; duplicates add nothing."""
        events = [
            ev("q1", 0, session_id="s1", ends_session=True),
            ev("q1", 1, session_id="s1"),  # a duplicate: nothing changes
            ev("q2", 10),
            ev("q3", timedelta(days=2)),
        ]
        ended, idle, still_open = sessionize(events)
        assert (ended.status, ended.close_reason, ended.closed_at) == (
            SessionStatus.CLOSED,
            CloseReason.ENDED,
            at(0),
        )
        assert ended.explicit and ended.id == "s1" and len(ended.events) == 1
        assert (idle.close_reason, idle.closed_at) == (
            CloseReason.IDLE,
            at(timedelta(days=1, seconds=10)),
        )
        assert still_open.status is SessionStatus.OPEN

    def test_headerless_session(self) -> None:
        """A session opened by a tool has no header; its events are all roots."""
        (session,) = sessionize([ev("t1", 0, TOOL, user_id="alice"), ev("q1", 5, ALICE)])
        assert session.header is None
        assert shape(session.roots) == [(0, "t1"), (0, "q1")]

    def test_rules_are_applied(self) -> None:
        """A longer window joins what the default window splits."""
        events = [ev("q1", 0), ev("q2", 100)]
        assert len(sessionize(events)) == 2
        assert len(sessionize(events, Rules(join_window=timedelta(minutes=2)))) == 1

    def test_raises_on_the_first_rejected_event(self) -> None:
        """sessionize is strict: a refused event raises."""
        with pytest.raises(SessionClosedError):
            sessionize(
                [ev("q1", 0, session_id="s", ends_session=True), ev("q2", 1, session_id="s")]
            )

    def test_empty_stream(self) -> None:
        """No events, no sessions."""
        assert sessionize([]) == []


class TestThreadTrees:
    def test_deep_thread_builds_without_recursion(self) -> None:
        """A 20,000-deep reply chain builds and walks (no recursion limit is hit)."""
        n = 20_000
        events = [ev("e0", 0)] + [ev(f"e{i}", 0, AGENT, parent_id=f"e{i - 1}") for i in range(1, n)]
        (session,) = sessionize(events)
        walked = list(session.roots[0].walk())
        assert len(walked) == n
        assert walked[-1] == (n - 1, walked[-1][1])
        assert walked[-1][1].event.id == f"e{n - 1}"

    def test_children_keep_feed_order(self) -> None:
        """Siblings appear in the order they were fed."""
        events = [ev("r", 0), ev("c", 1), ev("a", 2), ev("b", 3)]
        (root,) = build_thread_tree(events, [None, "r", "r", "r"])
        assert [c.event.id for c in root.children] == ["c", "a", "b"]

    def test_parents_must_match_events(self) -> None:
        """Mismatched lengths are a programming error, not silently truncated."""
        with pytest.raises(ValueError, match="zip"):
            build_thread_tree([ev("r", 0)], [None, "r"])
