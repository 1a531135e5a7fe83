"""Builds whole :class:`~sessionkit.Session` values from what a Sessionizer decided.

The Sessionizer keeps no events; whoever keeps them (``sessionize``, a store) hands each
:class:`~sessionkit.Assignment` to a :class:`SessionAssembly`, which keeps the events of every
session with their thread parents and turns them into sessions with thread trees.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sessionkit._model import (
    Assignment,
    ClosedSession,
    CloseReason,
    Event,
    Session,
    SessionStatus,
    ThreadNode,
)
from sessionkit._rules import Rules
from sessionkit._sessionizer import Sessionizer

__all__ = ["SessionAssembly", "build_thread_tree", "sessionize"]


class _Parts:
    __slots__ = ("close_reason", "closed_at", "events", "explicit", "header", "parents")

    def __init__(self, explicit: bool, header: Event | None) -> None:
        self.explicit = explicit
        self.header = header
        self.events: list[Event] = []
        self.parents: list[str | None] = []
        self.closed_at: datetime | None = None
        self.close_reason: CloseReason | None = None


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
                self._parts[key] = _Parts(event.session_id is not None, header)
            parts = self._parts[key]
            parts.events.append(event)
            parts.parents.append(assignment.thread_parent_id)
        self.close(assignment.closed)

    def close(self, closed: Iterable[ClosedSession]) -> None:
        """Mark sessions closed, as ``Sessionizer.advance`` (or an assignment) reported them."""
        for report in closed:
            parts = self._parts[(report.scope, report.id)]
            parts.closed_at = report.closed_at
            parts.close_reason = report.close_reason

    def sessions(self) -> list[Session]:
        """Every session so far, in order of its first event."""
        return [self._session(scope, id, parts) for (scope, id), parts in self._parts.items()]

    @staticmethod
    def _session(scope: str, id: str, parts: _Parts) -> Session:
        events = tuple(parts.events)
        return Session(
            id=id,
            scope=scope,
            explicit=parts.explicit,
            header=parts.header,
            events=events,
            started_at=events[0].at,
            last_input_at=events[-1].at,
            status=SessionStatus.OPEN if parts.closed_at is None else SessionStatus.CLOSED,
            closed_at=parts.closed_at,
            close_reason=parts.close_reason,
            roots=build_thread_tree(events, parts.parents),
        )


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
