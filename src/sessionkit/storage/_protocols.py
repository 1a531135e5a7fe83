"""The small protocols a store implements. See docs/storage.md for writing your own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sessionkit import Rules, Session, SessionStatus, SessionSummary
from sessionkit.storage._records import Batch, Page, StoredEvent

__all__ = ["SessionQueries", "SessionRecorder", "SessionStore"]


class SessionRecorder(Protocol):
    """What a :class:`~sessionkit.storage.Tracker` needs: record decisions, answer the questions
    of resuming, and look up closed ids. A recorder knows no grouping rule.

    .. versionchanged:: 0.2.0
       ``resume_state()`` became ``resume_point()``, ``remembered_sessions()`` and
       ``recent_events()``: the core asks, the store answers.
    """

    def record(self, batch: Batch) -> None:
        """Record a batch in one transaction: all of it is stored, or (on error) none of it."""
        ...

    def resume_point(self) -> tuple[Rules, datetime | None] | None:
        """The rules and the time of the last recorded batch, or ``None`` for an empty store."""
        ...

    def remembered_sessions(
        self, with_input_after: datetime | None
    ) -> Sequence[tuple[SessionSummary, Sequence[str]]]:
        """The sessions whose last input is after the time (all if ``None``), in order of their
        last input, each with its event ids in feed order."""
        ...

    def recent_events(
        self, at_or_after: datetime | None
    ) -> Sequence[tuple[str, str, datetime, str]]:
        """``(scope, user key, at, session id)`` of the events at or after the time (all if
        ``None``), in feed order."""
        ...

    def is_closed(self, session_id: str, scope: str) -> bool:
        """Whether ``session_id`` of ``scope`` is a recorded, closed session."""
        ...

    def close(self) -> None:
        """Release what the store holds (connections, locks). Idempotent."""
        ...


class SessionQueries(Protocol):
    """What people ask a store."""

    def session(self, session_id: str, scope: str = "") -> Session | None:
        """One whole session, with its events and thread tree, or ``None``."""
        ...

    def session_of(self, event_id: str, scope: str = "") -> str | None:
        """The id of the session the event was last assigned to, or ``None``."""
        ...

    def event(self, event_id: str, scope: str = "") -> StoredEvent | None:
        """The latest event recorded with this id (with its session), or ``None``.

        .. versionadded:: 0.3.0
        """
        ...

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
        """A page of :class:`SessionListing` rows in time order, or newest first (see
        ``docs/storage.md``).

        .. versionchanged:: 0.3.0
           ``session_id`` and ``newest_first`` added.
        """
        ...


class SessionStore(SessionRecorder, SessionQueries, Protocol):
    """A store a Tracker records into and people query: both protocols."""
