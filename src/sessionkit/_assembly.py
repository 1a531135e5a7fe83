"""Builds whole :class:`~sessionkit.Session` values from what a Sessionizer decided.

The Sessionizer keeps no events; whoever keeps them (``sessionize``, a store) hands each
:class:`~sessionkit.Assignment` to a :class:`SessionAssembly`, which keeps the events of every
session with their thread parents and turns them into sessions with thread trees.
"""

from __future__ import annotations

from collections.abc import Iterable

from sessionkit._model import (
    Assignment,
    Event,
    Session,
    SessionStatus,
    SessionSummary,
    ThreadNode,
)
from sessionkit._rules import Rules
from sessionkit._sessionizer import Sessionizer

__all__ = ["SessionAssembly", "build_thread_tree", "sessionize"]


class _Parts:
    """The events of one session so far, with their thread parents, and its closing."""

    __slots__ = ("closed", "events", "explicit", "header", "parents")

    def __init__(self, explicit: bool, header: Event | None) -> None:
        self.explicit = explicit
        self.header = header
        self.events: list[Event] = []
        self.parents: list[str | None] = []
        self.closed: SessionSummary | None = None

    def summary(self, scope: str, id: str) -> SessionSummary:
        if self.closed is not None:
            return self.closed
        first, last = self.events[0], self.events[-1]
        header_id = None if self.header is None else self.header.id
        return SessionSummary(
            id,
            scope,
            self.explicit,
            header_id,
            first.at,
            last.at,
            len(self.events),
            SessionStatus.OPEN,
            None,
            None,
        )


def build_thread_tree(
    events: Iterable[Event], parents: Iterable[str | None]
) -> tuple[ThreadNode, ...]:
    """The thread tree of a session's events (feed order) given each one's thread parent id.

    A parent always comes before its children, so one pass from the end builds every node after
    its children: no recursion, whatever the depth.
    """
    pairs = list(zip(events, parents, strict=True))
    children: dict[str, list[ThreadNode]] = {}
    roots: list[ThreadNode] = []
    for event, parent in reversed(pairs):
        below = children.pop(event.id, [])
        below.reverse()
        node = ThreadNode(event, tuple(below))
        if parent is None:
            roots.append(node)
        else:
            children.setdefault(parent, []).append(node)
    roots.reverse()
    return tuple(roots)


class SessionAssembly:
    """Collects assignments (and closings) and returns whole sessions, in order of their start."""

    def __init__(self) -> None:
        self._parts: dict[tuple[str, str], _Parts] = {}

    def record(self, assignment: Assignment) -> None:
        """Add an assigned event to its session (duplicates add nothing) and apply its closings."""
        event = assignment.event
        if not assignment.duplicate:
            key = (event.scope, assignment.session_id)
            if assignment.started:
                header = event if assignment.header else None
                self._parts[key] = _Parts(assignment.explicit, header)
            parts = self._parts[key]
            parts.events.append(event)
            parts.parents.append(assignment.thread_parent_id)
        self.close(assignment.closed)

    def close(self, closed: Iterable[SessionSummary]) -> None:
        """Mark sessions closed, as ``Sessionizer.advance`` (or an assignment) reported them."""
        for summary in closed:
            self._parts[(summary.scope, summary.id)].closed = summary

    def sessions(self) -> list[Session]:
        """Every session so far, in order of its first event."""
        return [
            Session(
                summary=parts.summary(scope, id),
                header=parts.header,
                events=tuple(parts.events),
                roots=build_thread_tree(parts.events, parts.parents),
            )
            for (scope, id), parts in self._parts.items()
        ]


def sessionize(events: Iterable[Event], rules: Rules | None = None) -> list[Session]:
    """Feed ``events`` (in time order) into a fresh Sessionizer and return every session.

    Sessions come in order of their first event; sessions still open after the last event have
    status ``OPEN``. Raises the first :class:`~sessionkit.RejectedEventError`, as
    :meth:`Sessionizer.feed` does. The one-liner for scripts and tests.
    """
    sessionizer = Sessionizer(rules)
    assembly = SessionAssembly()
    for event in events:
        assembly.record(sessionizer.feed(event))
    return assembly.sessions()
