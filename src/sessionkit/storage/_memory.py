"""MemoryStore: a store in plain Python structures, for tests and short-lived processes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

import attrs

from sessionkit import Assignment, Event, Rules, Session, SessionStatus, SessionSummary
from sessionkit.storage._records import (
    Batch,
    Page,
    SessionListing,
    StoredEvent,
    check_query_arguments,
    page_of,
    whole_session,
)

__all__ = ["MemoryStore"]


def event_matches(
    event: Event,
    user: str | None,
    participant: str | None,
    since: datetime | None,
    until: datetime | None,
) -> bool:
    """The event filters of ``sessions()``, as documented in docs/storage.md."""
    if user is not None and event.user_key != user:
        return False
    if (
        participant is not None
        and event.initiator.id != participant
        and (event.target is None or event.target.id != participant)
    ):
        return False
    if since is not None and event.at < since:
        return False
    return until is None or event.at < until


class _Stored:
    """A recorded session: its summary (as of the last batch) and its stored events."""

    __slots__ = ("events", "summary")

    def __init__(self, summary: SessionSummary) -> None:
        self.summary = summary
        self.events: list[StoredEvent] = []


class MemoryStore:
    """Keeps everything in memory, forever (or until the object is dropped).

    It implements every store protocol and passes the same conformance suite as
    :class:`SQLiteStore`; a Tracker reopened on the same MemoryStore resumes where it was.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._rules: Rules | None = None
        self._now: datetime | None = None
        self._events: list[StoredEvent] = []
        self._sessions: dict[tuple[str, str], _Stored] = {}
        self._event_session: dict[tuple[str, str], str] = {}

    # -- recording ------------------------------------------------------------------------------

    def record(self, batch: Batch) -> None:
        """Apply a batch (it cannot fail half-way: it only appends and replaces values)."""
        with self._lock:
            for assignment in batch.assignments:
                self._add(assignment)
                for closed in assignment.closed:  # a closing's summary is the final state
                    self._sessions[(closed.scope, closed.id)].summary = closed
            for closed in batch.closed:
                self._sessions[(closed.scope, closed.id)].summary = closed
            for scope, event_id, output in batch.outputs:
                self._set_output(scope, event_id, output)
            self._rules = batch.rules
            self._now = batch.now

    def _set_output(self, scope: str, event_id: str, output: str) -> None:
        """Replace the output of the latest event ``event_id`` of ``scope`` (if recorded)."""
        stored = self.event(event_id, scope)
        if stored is None:
            return
        events = self._sessions[(scope, stored.session_id)].events
        changed = stored._replace(event=attrs.evolve(stored.event, output=output))
        events[events.index(stored)] = self._events[stored.seq - 1] = changed

    def _add(self, assignment: Assignment) -> None:
        event, session_id = assignment.event, assignment.session_id
        stored = StoredEvent(
            len(self._events) + 1,
            event,
            session_id,
            assignment.thread_parent_id,
            assignment.rule,
        )
        key = (event.scope, session_id)
        if assignment.started:
            header_id = event.id if assignment.header else None
            session = self._sessions[key] = _Stored(
                SessionSummary(
                    session_id,
                    event.scope,
                    assignment.explicit,
                    header_id,
                    event.at,
                    event.at,
                    1,
                    SessionStatus.OPEN,
                    None,
                    None,
                )
            )
        else:
            session = self._sessions[key]
            session.summary = session.summary._replace(
                last_input_at=event.at, event_count=session.summary.event_count + 1
            )
        session.events.append(stored)
        self._events.append(stored)
        self._event_session[(event.scope, event.id)] = session_id

    def resume_point(self) -> tuple[Rules, datetime | None] | None:
        """The rules and time of the last batch, or ``None`` when nothing was recorded."""
        with self._lock:
            return None if self._rules is None else (self._rules, self._now)

    def remembered_sessions(
        self, with_input_after: datetime | None
    ) -> list[tuple[SessionSummary, Sequence[str]]]:
        """The sessions with input after the time, in order of their last input."""
        with self._lock:
            found = [
                s
                for s in self._sessions.values()
                if with_input_after is None or s.summary.last_input_at > with_input_after
            ]
            found.sort(key=lambda s: s.events[-1].seq)
            return [(s.summary, [e.event.id for e in s.events]) for s in found]

    def recent_events(self, at_or_after: datetime | None) -> list[tuple[str, str, datetime, str]]:
        """``(scope, user key, at, session id)`` of the events at or after the time."""
        with self._lock:
            return [
                (s.event.scope, s.event.user_key, s.event.at, s.session_id)
                for s in self._events
                if at_or_after is None or s.event.at >= at_or_after
            ]

    def is_closed(self, session_id: str, scope: str) -> bool:
        """Whether the session is recorded and closed."""
        with self._lock:
            session = self._sessions.get((scope, session_id))
            return session is not None and session.summary.status is SessionStatus.CLOSED

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- queries --------------------------------------------------------------------------------

    def session(self, session_id: str, scope: str = "") -> Session | None:
        """One whole session, with its events and thread tree, or ``None``."""
        with self._lock:
            session = self._sessions.get((scope, session_id))
            if session is None:
                return None
            return whole_session(session.summary, list(session.events))

    def event(self, event_id: str, scope: str = "") -> StoredEvent | None:
        """The latest event recorded with this id, or ``None``."""
        with self._lock:
            session_id = self._event_session.get((scope, event_id))
            if session_id is None:
                return None
            events = self._sessions[(scope, session_id)].events
            return next(s for s in reversed(events) if s.event.id == event_id)

    def session_of(self, event_id: str, scope: str = "") -> str | None:
        """The id of the session the event was last assigned to, or ``None``."""
        with self._lock:
            return self._event_session.get((scope, event_id))

    def sessions(
        self,
        *,
        scope: str | None = None,
        user: str | None = None,
        participant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        status: SessionStatus | str | None = None,
        explicit: bool | None = None,
        session_id: str | None = None,
        only_sessions: bool = False,
        newest_first: bool = False,
        limit: int = 100,
        after: str | None = None,
    ) -> Page:
        """A page of :class:`SessionListing` rows in time order; see docs/storage.md."""
        start, wanted = check_query_arguments(limit, after, status, since, until)

        def session_ok(summary: SessionSummary) -> bool:
            return (
                (scope is None or summary.scope == scope)
                and (wanted is None or summary.status is wanted)
                and (explicit is None or summary.explicit is explicit)
                and (session_id is None or summary.id == session_id)
            )

        def event_ok(stored: StoredEvent) -> bool:
            return event_matches(stored.event, user, participant, since, until)

        def unseen(seq: int) -> bool:
            return start is None or (seq < start if newest_first else seq > start)

        with self._lock:
            if only_sessions:
                items = [
                    self._listing(s, s.events[0])
                    for s in self._sessions.values()
                    if unseen(s.events[0].seq)
                    and session_ok(s.summary)
                    and any(map(event_ok, s.events))
                ]
                items.sort(key=lambda item: item.seq, reverse=newest_first)
                return page_of(items[: limit + 1], limit)
            items = []
            # An event's seq is its index + 1: the unseen ones are a slice.
            if newest_first:
                candidates = reversed(self._events[: None if start is None else start - 1])
            else:
                candidates = iter(self._events[start or 0 :])
            for stored in candidates:
                session = self._sessions[(stored.event.scope, stored.session_id)]
                if session_ok(session.summary) and event_ok(stored):
                    items.append(self._listing(session, stored))
                    if len(items) == limit + 1:
                        break
        return page_of(items, limit)

    @staticmethod
    def _listing(session: _Stored, stored: StoredEvent) -> SessionListing:
        return SessionListing(
            session.summary,
            stored.seq,
            stored.event,
            stored.thread_parent_id,
            session.events[0].seq,
            stored.rule,
        )
