"""The exceptions sessionkit raises: one hierarchy under :class:`SessionkitError`.

Every error that concerns an event names it (``event``) and carries a short, stable ``reason``
code that scripts can count, e.g. ``"out_of_order"`` or ``"session_closed"``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from sessionkit._model import Event

__all__ = [
    "IncompatibleStoreError",
    "InvalidEventError",
    "InvalidRulesError",
    "LogLineError",
    "OutOfOrderError",
    "RejectedEventError",
    "SessionClosedError",
    "SessionIdConflictError",
    "SessionkitError",
    "SnapshotError",
    "StoreError",
    "StoreLockedError",
    "UnstorableEventError",
]


class SessionkitError(Exception):
    """Base class of every error sessionkit raises on purpose."""


class InvalidEventError(SessionkitError, ValueError):
    """An :class:`~sessionkit.Event` or a :class:`~sessionkit.Participant` got a bad value.

    Raised at construction, so a malformed event never reaches a Sessionizer. ``subject`` is
    ``"event"`` or ``"participant"``, ``subject_id`` the id the caller gave (possibly empty),
    ``field`` the offending field and ``problem`` what is wrong with it.
    """

    def __init__(self, subject: str, subject_id: object, field: str, problem: str) -> None:
        self.subject = subject
        self.subject_id = subject_id
        self.field = field
        self.problem = problem
        super().__init__(f"{subject} {subject_id!r}: {field} {problem}")


class InvalidRulesError(SessionkitError, ValueError):
    """:class:`~sessionkit.Rules` got a bad value (e.g. a window that is not positive)."""


class LogLineError(SessionkitError, ValueError):
    """A line of a log could not be turned into an event (see ``docs/replay.md``).

    ``reason`` is a stable code such as ``"missing_field"`` or ``"bad_timestamp"``; the message
    says what is wrong and names the field. Readers turn it into a rejected line (nothing stops);
    a mapping function of your own may raise it to reject a record with a reason of its choice.
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class SnapshotError(SessionkitError, ValueError):
    """A snapshot could not be restored: another format or version, or inconsistent content."""


class RejectedEventError(SessionkitError, ValueError):
    """The Sessionizer refused an event; its state is exactly as it was before the call.

    ``event`` is the refused event (``None`` when ``advance`` was refused), ``reason`` a stable
    code naming the rule that refused it.
    """

    #: A short, stable code for the rule that refused the event.
    reason: ClassVar[str] = "rejected"

    def __init__(self, message: str, event: Event | None) -> None:
        self.event = event
        #: Where the event stood in a ``Tracker.track_many``/``track_each`` batch (else ``None``).
        self.index: int | None = None
        super().__init__(message)


class OutOfOrderError(RejectedEventError):
    """An event (or ``advance``) went back in time: earlier than the latest time already seen.

    ``at`` is the time that was refused and ``now`` the Sessionizer's current time.
    """

    reason: ClassVar[str] = "out_of_order"

    def __init__(self, event: Event | None, at: datetime, now: datetime) -> None:
        self.at = at
        self.now = now
        what = f"event {event.id!r}" if event is not None else "advance"
        super().__init__(
            f"{what} at {at.isoformat()} is earlier than the current time {now.isoformat()}; "
            "events must be fed in time order",
            event,
        )


class SessionClosedError(RejectedEventError):
    """An event was sent to a session that has already closed; closed sessions never reopen.

    ``session_id`` names the closed session and ``closed_at`` says when it closed.
    """

    reason: ClassVar[str] = "session_closed"

    def __init__(self, event: Event, session_id: str, closed_at: datetime | None, how: str) -> None:
        self.session_id = session_id
        self.closed_at = closed_at
        when = f" at {closed_at.isoformat()}" if closed_at is not None else ""
        super().__init__(
            f"event {event.id!r} at {event.at.isoformat()} {how} session {session_id!r}, "
            f"which closed{when}",
            event,
        )


class SessionIdConflictError(RejectedEventError):
    """A new implicit session would get the id of a session that is already open.

    Only possible when a caller hands out, as an explicit session id, the id sessionkit derives for
    another event (see ``docs/rules.md``, rule 9).
    """

    reason: ClassVar[str] = "session_id_conflict"

    def __init__(self, event: Event, session_id: str) -> None:
        self.session_id = session_id
        super().__init__(
            f"event {event.id!r} at {event.at.isoformat()} would start session {session_id!r}, "
            "but a session with that id is already open",
            event,
        )


class StoreError(SessionkitError):
    """A store could not do what was asked. ``path`` names the store's file, if it has one."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(message if path is None else f"{path}: {message}")


class StoreLockedError(StoreError):
    """Another writer (a Tracker, in this process or another) holds the store."""


class IncompatibleStoreError(StoreError):
    """The file is not a sessionkit store this version can use: from a newer version, another
    program's database, not a database at all, or written under other rules."""


class UnstorableEventError(StoreError, ValueError):
    """An event holds a value the store cannot keep exactly (e.g. metadata that is not JSON, or a
    lone surrogate in a string). It was refused before anything changed.
    """

    reason: ClassVar[str] = "unstorable"

    def __init__(self, event: Event, problem: str) -> None:
        self.event = event
        #: Where the event stood in a ``Tracker.track_many``/``track_each`` batch (else ``None``).
        self.index: int | None = None
        super().__init__(f"event {event.id!r} cannot be stored: {problem}")
