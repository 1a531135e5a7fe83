"""The small protocols a store implements. See docs/storage.md for writing your own."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sessionkit._model import Session, SessionStatus
from sessionkit.storage._records import Batch, Page

__all__ = ["SessionQueries", "SessionRecorder", "SessionStore"]


class SessionRecorder(Protocol):
    """What a :class:`~sessionkit.Tracker` needs: record decisions, resume, look up closed ids."""

    def record(self, batch: Batch) -> None:
        """Record a batch in one transaction: all of it is stored, or (on error) none of it."""
        ...

    def resume_state(self) -> dict[str, Any] | None:
        """The Sessionizer snapshot to resume from (closed ids excluded), or ``None`` if empty."""
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
        """A page of :class:`SessionListing` rows in time order (see ``docs/storage.md``)."""
        ...


class SessionStore(SessionRecorder, SessionQueries, Protocol):
    """A store a Tracker records into and people query: both protocols."""
