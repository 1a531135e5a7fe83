"""MemoryStore: a store in plain Python structures, for tests and short-lived processes."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import attrs

from sessionkit._model import Event, Session, SessionStatus
from sessionkit._rules import Rules
from sessionkit.storage._records import (
    Batch,
    Page,
    SessionListing,
    SessionRow,
    StoredEvent,
    check_page_arguments,
    page_of,
    plan,
    resume_snapshot,
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
        self._sessions: dict[tuple[str, str], SessionRow] = {}
        self._session_events: dict[tuple[str, str], list[StoredEvent]] = {}
        self._event_session: dict[tuple[str, str], str] = {}

    # -- recording ------------------------------------------------------------------------------

    def record(self, batch: Batch) -> None:
        """Apply a batch; it is computed in full before anything changes."""
        with self._lock:
            rows = plan(batch, len(self._events) + 1)
            for stored in rows.events:
                key = (stored.event.scope, stored.session_id)
                self._events.append(stored)
                self._session_events.setdefault(key, []).append(stored)
                self._event_session[(stored.event.scope, stored.event.id)] = stored.session_id
            self._sessions.update(rows.new_sessions)
            sessions = self._sessions
            for key, growth in rows.grown.items():
                row = sessions[key]
                sessions[key] = attrs.evolve(
                    row,
                    last_input_at=growth.last_input_at,
                    last_seq=growth.last_seq,
                    event_count=row.event_count + growth.added,
                )
            for key, (closed_at, reason) in rows.closings.items():
                sessions[key] = attrs.evolve(
                    sessions[key],
                    status=SessionStatus.CLOSED,
                    closed_at=closed_at,
                    close_reason=reason,
                )
            self._rules = batch.rules
            self._now = batch.now

    def resume_state(self) -> dict[str, Any] | None:
        """The Sessionizer snapshot to resume from, or ``None`` when nothing was recorded."""
        with self._lock:
            if self._rules is None:
                return None
            rules, now = self._rules, self._now
            remembered = sorted(
                (
                    row
                    for row in self._sessions.values()
                    if now is None or row.last_input_at + rules.idle_timeout > now
                ),
                key=lambda row: row.last_seq,
            )
            recent = (
                (s.event.scope, s.event.user_key, s.event.at, s.session_id)
                for s in self._events
                if now is None or s.event.at >= now - rules.join_window
            )
            return resume_snapshot(
                rules,
                now,
                [
                    (row, [s.event.id for s in self._session_events[(row.scope, row.id)]])
                    for row in remembered
                ],
                recent,
            )

    def is_closed(self, session_id: str, scope: str) -> bool:
        """Whether the session is recorded and closed."""
        with self._lock:
            row = self._sessions.get((scope, session_id))
            return row is not None and row.status is SessionStatus.CLOSED

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
            row = self._sessions.get((scope, session_id))
            if row is None:
                return None
            stored = list(self._session_events[(scope, session_id)])
        return whole_session(row, stored)

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
        status: SessionStatus | None = None,
        explicit: bool | None = None,
        only_sessions: bool = False,
        limit: int = 100,
        after: str | None = None,
    ) -> Page:
        """A page of :class:`SessionListing` rows in time order; see docs/storage.md."""
        start = check_page_arguments(limit, after)

        def session_ok(row: SessionRow) -> bool:
            return (
                (scope is None or row.scope == scope)
                and (status is None or row.status is status)
                and (explicit is None or row.explicit is explicit)
            )

        items: list[SessionListing] = []
        with self._lock:
            if only_sessions:
                rows = sorted(
                    (r for r in self._sessions.values() if r.first_seq > start and session_ok(r)),
                    key=lambda r: r.first_seq,
                )
                for row in rows:
                    events = self._session_events[(row.scope, row.id)]
                    if any(event_matches(s.event, user, participant, since, until) for s in events):
                        first = events[0]
                        items.append(
                            SessionListing(row, first.seq, first.event, first.thread_parent_id)
                        )
                        if len(items) == limit + 1:
                            break
            else:
                for stored in self._events[start:]:
                    row = self._sessions[(stored.event.scope, stored.session_id)]
                    if session_ok(row) and event_matches(
                        stored.event, user, participant, since, until
                    ):
                        items.append(
                            SessionListing(row, stored.seq, stored.event, stored.thread_parent_id)
                        )
                        if len(items) == limit + 1:
                            break
        return page_of(items, limit)
