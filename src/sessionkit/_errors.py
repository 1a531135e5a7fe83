"""The exceptions sessionkit raises: one hierarchy under :class:`SessionkitError`.

Every error also subclasses the builtin it resembles, so ``except ValueError`` keeps working.
An event that was refused — by a rule or by a store — raises a :class:`RefusedEventError`
carrying the ``event`` and a short, stable ``reason`` code that scripts can count (e.g.
``"out_of_order"``); refusals by a rule also carry the numbered :class:`~sessionkit.Rule` that
refused. Errors pickle (their constructor arguments are kept), so they cross process boundaries.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from sessionkit._model import Event
    from sessionkit._rules import Rule

__all__ = [
    "ConflictingDuplicateError",
    "IncompatibleStoreError",
    "InvalidEventError",
    "InvalidRulesError",
    "LogLineError",
    "OutOfOrderError",
    "RefusedEventError",
    "RejectedEventError",
    "SessionClosedError",
    "SessionIdConflictError",
    "SessionkitError",
    "SnapshotError",
    "StoreError",
    "StoreLockedError",
    "TimeOutOfRangeError",
    "UnknownEventError",
    "UnstorableEventError",
]

_E = TypeVar("_E", bound="SessionkitError")


def _rebuild(cls: type[_E], arguments: dict[str, Any]) -> _E:
    return cls(**arguments)


class SessionkitError(Exception):
    """Base class of every error sessionkit raises on purpose."""

    _arguments: dict[str, Any]

    def _keep(self, **arguments: Any) -> None:
        # The constructor's arguments, to pickle the error and to copy it with another index.
        self._arguments = arguments

    def __reduce__(self) -> tuple[Any, ...]:
        arguments = getattr(self, "_arguments", None)
        if arguments is None:
            return (type(self), self.args)
        return (_rebuild, (type(self), arguments))


class InvalidEventError(SessionkitError, ValueError):
    """An :class:`~sessionkit.Event` or a :class:`~sessionkit.Participant` got a bad value.

    Raised at construction, so a malformed event never reaches a Sessionizer. ``subject`` is
    ``"event"`` or ``"participant"``, ``subject_id`` the id the caller gave (possibly empty),
    ``field`` the offending field and ``problem`` what is wrong with it.
    """

    def __init__(self, subject: str, subject_id: object, field: str, problem: str) -> None:
        self._keep(subject=subject, subject_id=subject_id, field=field, problem=problem)
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
        self._keep(reason=reason, message=message)
        self.reason = reason
        super().__init__(message)


class SnapshotError(SessionkitError, ValueError):
    """A snapshot could not be restored: another format or version, or inconsistent content."""


class RefusedEventError(SessionkitError, ValueError):
    """An event was refused, by a rule or by a store; nothing changed.

    ``event`` is the refused event (``None`` when ``advance`` was refused), ``reason`` a stable
    code, and ``index`` the event's position in a batch (``Tracker.track_many``/``track_each``,
    ``Sessionizer.feed_each``), or ``None`` for a single event.

    .. versionadded:: 0.2.0
    """

    #: A short, stable code for why the event was refused.
    reason: ClassVar[str] = "refused"

    def __init__(self, message: str, event: Event | None, *, index: int | None = None) -> None:
        if not hasattr(self, "_arguments"):  # raised as this class itself
            self._keep(message=message, event=event)
        self._arguments["index"] = index
        self.event = event
        self.index = index
        super().__init__(message)

    def at_index(self: _R, index: int) -> _R:
        """The same refusal, for the event at ``index`` of a batch."""
        copy = _rebuild(type(self), {**self._arguments, "index": index})
        copy.__traceback__ = self.__traceback__
        return copy


_R = TypeVar("_R", bound=RefusedEventError)


class RejectedEventError(RefusedEventError):
    """A grouping rule refused an event; the Sessionizer is exactly as it was before the call.

    ``rule`` is the numbered :class:`~sessionkit.Rule` of ``docs/rules.md`` that refused it:
    ``Rule.ORDER`` (2), ``Rule.EXPLICIT_ID`` (3), ``Rule.PARENT_LINK`` (4) or
    ``Rule.SESSION_IDS`` (9).
    """

    reason: ClassVar[str] = "rejected"

    def __init__(
        self, message: str, event: Event | None, rule: Rule, *, index: int | None = None
    ) -> None:
        if not hasattr(self, "_arguments"):  # raised as this class itself
            self._keep(message=message, event=event, rule=rule)
        self.rule = rule
        super().__init__(message, event, index=index)


class OutOfOrderError(RejectedEventError):
    """An event (or ``advance``) went back in time: earlier than the latest time already seen.

    ``at`` is the time that was refused and ``now`` the Sessionizer's current time.
    """

    reason: ClassVar[str] = "out_of_order"

    def __init__(
        self, event: Event | None, at: datetime, now: datetime, *, index: int | None = None
    ) -> None:
        from sessionkit._rules import Rule

        self._keep(event=event, at=at, now=now)
        self.at = at
        self.now = now
        what = f"event {event.id!r}" if event is not None else "advance"
        super().__init__(
            f"{what} at {at.isoformat()} is earlier than the current time {now.isoformat()}; "
            "events must be fed in time order",
            event,
            Rule.ORDER,
            index=index,
        )


class SessionClosedError(RejectedEventError):
    """An event was sent to a session that has already closed; closed sessions never reopen.

    ``session_id`` names the closed session and ``closed_at`` says when it closed (``None``
    when only the closed-id index remembers it). ``rule`` tells how the event reached it: by its
    explicit id (rule 3), by a parent link (rule 4) or by the id derived for it (rule 9).
    """

    reason: ClassVar[str] = "session_closed"

    _HOW: ClassVar[dict[int, str]] = {3: "names", 4: "links to a parent in", 9: "would start"}

    def __init__(
        self,
        event: Event,
        session_id: str,
        closed_at: datetime | None,
        rule: Rule,
        *,
        index: int | None = None,
    ) -> None:
        self._keep(event=event, session_id=session_id, closed_at=closed_at, rule=rule)
        self.session_id = session_id
        self.closed_at = closed_at
        when = f" at {closed_at.isoformat()}" if closed_at is not None else ""
        super().__init__(
            f"event {event.id!r} at {event.at.isoformat()} {self._HOW[rule]} session "
            f"{session_id!r}, which closed{when} (rule {int(rule)})",
            event,
            rule,
            index=index,
        )


class SessionIdConflictError(RejectedEventError):
    """A new implicit session would get the id of a session that is already open.

    Only possible when a caller hands out, as an explicit session id, the id sessionkit derives for
    another event (see ``docs/rules.md``, rule 9).
    """

    reason: ClassVar[str] = "session_id_conflict"

    def __init__(self, event: Event, session_id: str, *, index: int | None = None) -> None:
        from sessionkit._rules import Rule

        self._keep(event=event, session_id=session_id)
        self.session_id = session_id
        super().__init__(
            f"event {event.id!r} at {event.at.isoformat()} would start session {session_id!r}, "
            "but a session with that id is already open (rule 9)",
            event,
            Rule.SESSION_IDS,
            index=index,
        )


class TimeOutOfRangeError(RefusedEventError):
    """An event's time is so late that its session's horizon (``at + idle_timeout``) is past
    what ``datetime`` can hold; it was refused before anything changed.

    .. versionadded:: 0.2.0
    """

    reason: ClassVar[str] = "time_out_of_range"

    def __init__(self, event: Event, idle_timeout: timedelta, *, index: int | None = None) -> None:
        self._keep(event=event, idle_timeout=idle_timeout)
        self.idle_timeout = idle_timeout
        super().__init__(
            f"event {event.id!r} at {event.at.isoformat()}: its session would close after "
            f"{idle_timeout} more, past the last time that can be held (9999-12-31)",
            event,
            index=index,
        )


class UnstorableEventError(RefusedEventError):
    """An event holds a value a store cannot keep exactly (e.g. metadata that is not JSON, or a
    lone surrogate in a string). It was refused before anything changed.

    .. versionchanged:: 0.2.0
       A :class:`RefusedEventError`, no longer a :class:`StoreError`: the event is at fault.
    """

    reason: ClassVar[str] = "unstorable"

    def __init__(
        self,
        event: Event | None,
        problem: str,
        *,
        index: int | None = None,
        event_id: str | None = None,
    ) -> None:
        self._keep(event=event, problem=problem, event_id=event_id)
        self.problem = problem
        self.event_id = event.id if event is not None else event_id
        what = "event" if event is not None else "the output sent for event"
        message = f"{what} {self.event_id!r} cannot be stored: {problem}"
        super().__init__(message, event, index=index)


class ConflictingDuplicateError(RefusedEventError):
    """A repeat of a remembered event id says something else than the event did (``fields``
    names what differs); the first content is kept and nothing changed. ``event`` is the
    repeat (``None`` for an output sent alone), ``session_id`` the event's session.

    .. versionadded:: 0.3.0
    """

    reason: ClassVar[str] = "conflicting_duplicate"

    def __init__(
        self,
        event_id: str,
        session_id: str,
        fields: tuple[str, ...],
        event: Event | None = None,
        *,
        index: int | None = None,
    ) -> None:
        self._keep(event_id=event_id, session_id=session_id, fields=fields, event=event)
        self.event_id = event_id
        self.session_id = session_id
        self.fields = fields
        super().__init__(
            f"event {event_id!r} repeats an id remembered in session {session_id!r} with "
            f"another {', '.join(fields)}; the first content is kept",
            event,
            index=index,
        )


class UnknownEventError(RefusedEventError):
    """An output was sent for an event that is not remembered: never fed, refused, or forgotten
    with its session at its horizon (rule 10). Nothing changed. ``event`` is ``None``;
    ``event_id`` and ``scope`` name what was looked for.

    .. versionadded:: 0.3.0
    """

    reason: ClassVar[str] = "unknown_event"

    def __init__(self, event_id: str, scope: str, *, index: int | None = None) -> None:
        self._keep(event_id=event_id, scope=scope)
        self.event_id = event_id
        self.scope = scope
        where = f" of scope {scope!r}" if scope else ""
        super().__init__(
            f"an output was sent for event {event_id!r}{where}, which is not remembered "
            "(never accepted, or forgotten with its session)",
            None,
            index=index,
        )


class StoreError(SessionkitError, OSError):
    """A store could not do what was asked. ``path`` names the store's file, if it has one."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self._keep(message=message, path=path)
        self.path = path
        super().__init__(message if path is None else f"{path}: {message}")

    def __str__(self) -> str:
        return str(self.args[0])


class StoreLockedError(StoreError):
    """Another writer (a Tracker, in this process or another) holds the store."""


class IncompatibleStoreError(StoreError):
    """The file is not a sessionkit store this version can use: from a newer version, another
    program's database, not a database at all, or written under other rules."""
