"""The Sessionizer: a deterministic state machine that groups time-ordered events into sessions.

It does no I/O, reads no clock and draws no random numbers: time is only what events say
(``event.at``) or what the caller passes to :meth:`Sessionizer.advance`. The rules' parameters,
their precedence and their definitions live in ``_rules.py``; the field-level door,
:meth:`Sessionizer._place`, tries the rules in that
precedence, each step marked with its number in ``docs/rules.md``, then applies the decision.
:meth:`Sessionizer.feed` is that door given an Event; the lean replay calls it with the fields
it read. The working state is:

* per remembered session (open, or ended but not yet past its horizon) a small summary;
* per remembered event an index entry (its id, pointing at its session's summary);
* per user key its latest accepted event's time and session, forgotten with that session at its
  horizon (so memory returns to what is open once sessions close);
* the ids of closed sessions, in a :class:`ClosedSessionIndex` (in memory unless one is given).

Events themselves, and their payloads, are never kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol

from sessionkit._errors import (
    OutOfOrderError,
    RefusedEventError,
    SessionClosedError,
    SessionIdConflictError,
    TimeOutOfRangeError,
)
from sessionkit._model import (
    Assignment,
    CloseReason,
    Event,
    GroupingRule,
    Participant,
    SessionStatus,
    SessionSummary,
)
from sessionkit._rules import Rule, Rules, derive_session_id

__all__ = ["ClosedSessionIndex", "ClosedSessionSet", "Sessionizer"]


class ClosedSessionIndex(Protocol):
    """Where a Sessionizer keeps the ids of closed sessions, which are refused for good (rule 3).

    The Sessionizer calls :meth:`add` for every session that closes, at the step that closes
    it, and :meth:`is_closed` for ids it no longer remembers. A store implements it so that
    closed ids live in the store and not in memory (a Tracker does this for you).

    .. versionchanged:: 0.2.0
       ``add`` is part of the protocol: the Sessionizer records every closing itself.
    """

    def is_closed(self, session_id: str, scope: str) -> bool:
        """Whether the session ``session_id`` of ``scope`` has closed."""
        ...

    def add(self, session_id: str, scope: str) -> None:
        """Remember that the session ``session_id`` of ``scope`` has closed."""
        ...


class ClosedSessionSet:
    """The default :class:`ClosedSessionIndex`: closed ids in memory, a set per scope.

    .. versionadded:: 0.2.0
    """

    def __init__(self) -> None:
        self._ids: dict[str, set[str]] = {}

    def is_closed(self, session_id: str, scope: str) -> bool:
        """Whether the session was added."""
        ids = self._ids.get(scope)
        return ids is not None and session_id in ids

    def add(self, session_id: str, scope: str) -> None:
        """Remember a closed session."""
        ids = self._ids.get(scope)
        if ids is None:
            ids = self._ids[scope] = set()
        ids.add(session_id)

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._ids.values())

    def by_scope(self) -> dict[str, list[str]]:
        """Every closed id, sorted, per scope (sorted): what a snapshot holds."""
        return {scope: sorted(ids) for scope, ids in sorted(self._ids.items())}


class _Summary:
    """What the Sessionizer remembers of a session until its horizon passes."""

    __slots__ = (
        "ended_at",
        "event_ids",
        "explicit",
        "header_id",
        "horizon",
        "id",
        "last_input_at",
        "latest_keys",
        "notes",
        "scope",
        "started_at",
    )

    def __init__(
        self,
        id: str,
        scope: str,
        explicit: bool,
        header_id: str | None,
        at: datetime,
        horizon: datetime,
    ) -> None:
        self.id = id
        self.scope = scope
        self.explicit = explicit
        self.header_id = header_id
        self.started_at = at
        self.last_input_at = at
        self.horizon = horizon
        self.ended_at: datetime | None = None
        self.event_ids: list[str] = []
        #: the notes kept with its events (``_place``), once one is: most callers keep none
        self.notes: dict[str, bytes] | None = None
        #: user keys whose latest event was put in this session (rule 5), to forget with it
        self.latest_keys: list[str] = []

    def keep_note(self, event_id: str, note: bytes) -> None:
        """Keep ``note`` with one of its events (``Sessionizer._place``)."""
        if self.notes is None:
            self.notes = {event_id: note}
        else:
            self.notes[event_id] = note

    # The definitions of ``_rules.py``, written against the cached horizon.
    def is_open_at(self, at: datetime) -> bool:
        """``_rules.is_open_at``: not ended, and the horizon not yet come."""
        return self.ended_at is None and at < self.horizon

    def is_remembered_at(self, at: datetime) -> bool:
        """``_rules.is_remembered_at``: the horizon not yet come."""
        return at < self.horizon

    def closed_at(self) -> datetime:
        return self.ended_at if self.ended_at is not None else self.horizon

    def report(self, status: SessionStatus, reason: CloseReason | None) -> SessionSummary:
        """The :class:`SessionSummary` of this session."""
        closed_at = None if reason is None else self.closed_at()
        return SessionSummary(  # positional: this runs for every session that closes
            self.id,
            self.scope,
            self.explicit,
            self.header_id,
            self.started_at,
            self.last_input_at,
            len(self.event_ids),
            status,
            closed_at,
            reason,
        )


class _Latest:
    """A user key's latest accepted event: its time and its session (rule 5)."""

    __slots__ = ("at", "session")

    def __init__(self, at: datetime, session: _Summary) -> None:
        self.at = at
        self.session = session


# Assignments are built from a tuple of their fields: the fastest way to make a named tuple.
_assignment = Assignment._make

#: Where an event was placed: an :class:`Assignment`'s fields after its event (session id,
#: rule, explicit, started, header, duplicate, thread parent id, sessions closed), as the
#: lean replay gives them (``sessionkit.replay.replay_lean``).
Placement = tuple[
    str, GroupingRule, bool, bool, bool, bool, "str | None", tuple[SessionSummary, ...]
]


def _fixed(at: datetime) -> datetime:
    """``at`` at its fixed UTC offset. Python compares and adds two times of one zone as the
    clock on the wall reads them, so in a zone with daylight saving time (``zoneinfo``) 24 h
    of idle would last 23 or 25 h, and the hour that repeats would go back in time: at a fixed
    offset they are instants, as the rules mean them."""
    offset = at.utcoffset()
    assert offset is not None  # an Event's time, or what advance() checked
    return at.replace(tzinfo=_UTC if not offset else timezone(offset), fold=0)


_UTC = timezone.utc
_NONE_CLOSED: tuple[SessionSummary, ...] = ()
_NO_SESSIONS: dict[str, _Summary] = {}
_CLOSED, _IDLE, _ENDED = SessionStatus.CLOSED, CloseReason.IDLE, CloseReason.ENDED
_DUPLICATE, _EXPLICIT_ID = GroupingRule.DUPLICATE, GroupingRule.EXPLICIT_ID
_PARENT_LINK, _JOIN_WINDOW = GroupingRule.PARENT_LINK, GroupingRule.JOIN_WINDOW
_NEW_SESSION = GroupingRule.NEW_SESSION


class _Scope:
    """The remembered state of one scope."""

    __slots__ = ("events", "forgotten", "latest", "sessions")

    def __init__(self) -> None:
        #: remembered event id -> its session
        self.events: dict[str, _Summary] = {}
        #: session id -> session, for sessions not yet past their horizon
        self.sessions: dict[str, _Summary] = {}
        #: user key -> its latest accepted event (rule 5), while its session is remembered
        self.latest: dict[str, _Latest] = {}
        #: entries deleted from the dicts above since they were last copied
        self.forgotten = 0

    def forget(self, summary: _Summary) -> None:
        """Forget a session past its horizon: its events, and the user keys whose latest event
        is in it (a closed session joins nothing, so they decide nothing)."""
        events = self.events
        for event_id in summary.event_ids:
            del events[event_id]
        latest = self.latest
        for key in summary.latest_keys:
            entry = latest.get(key)
            if entry is not None and entry.session is summary:
                del latest[key]
        del self.sessions[summary.id]
        self.forgotten += len(summary.event_ids) + 1

    def compact(self) -> None:
        """Copy the dicts once most of their entries are gone: a dict never gives back the room
        its deleted entries took. Amortised O(1) per deletion."""
        if self.forgotten > 2 * len(self.events) + 1024:
            self.events = dict(self.events)
            self.sessions = dict(self.sessions)
            self.latest = dict(self.latest)
            self.forgotten = 0


class Sessionizer:
    """Groups time-ordered events into sessions by the rules in ``docs/rules.md``.

    Feed events in time order with :meth:`feed`; move time forward without an event with
    :meth:`advance`. Both return values that report every transition, in order: the
    :class:`~sessionkit.Assignment` of an event (opened or joined a session, or was a duplicate)
    with the sessions that closed at that step, and the :class:`~sessionkit.SessionSummary`
    tuple of ``advance``. A refused event raises a :class:`~sessionkit.RejectedEventError` and
    changes nothing.

    ``closed_sessions`` keeps the ids of closed sessions (a :class:`ClosedSessionSet` in memory
    by default); the Sessionizer adds every closing to it.
    """

    def __init__(
        self, rules: Rules | None = None, *, closed_sessions: ClosedSessionIndex | None = None
    ) -> None:
        self._rules = rules if rules is not None else Rules()
        self._closed = closed_sessions if closed_sessions is not None else ClosedSessionSet()
        # Read on every event; kept here to spare an attribute lookup.
        self._join_window = self._rules.join_window
        self._idle_timeout = self._rules.idle_timeout
        self._header_kinds = self._rules.header_kinds
        self._now: datetime | None = None
        self._scopes: dict[str, _Scope] = {}
        # Remembered sessions in order of horizon. Horizons only grow and are set from the current
        # time, so moving a touched session to the end keeps the order sorted.
        self._by_horizon: OrderedDict[_Summary, None] = OrderedDict()
        # A lower bound on the earliest horizon: no sweep is needed before it.
        self._next_sweep: datetime | None = None
        # Sessions popped from ``_by_horizon`` since it was last copied (see ``_compact``).
        self._popped = 0

    @property
    def rules(self) -> Rules:
        """The rules this Sessionizer applies."""
        return self._rules

    @property
    def now(self) -> datetime | None:
        """The latest time fed or advanced to, or ``None`` before the first."""
        return self._now

    @property
    def closed_sessions(self) -> ClosedSessionIndex:
        """Where the ids of closed sessions are kept."""
        return self._closed

    @property
    def open_session_count(self) -> int:
        """How many sessions are open at :attr:`now`."""
        return sum(1 for s in self._by_horizon if s.ended_at is None)

    @property
    def remembered_event_count(self) -> int:
        """How many event ids are remembered (for duplicates and parent links)."""
        return sum(len(scope.events) for scope in self._scopes.values())

    @property
    def closed_session_count(self) -> int:
        """How many closed session ids are held in memory (0 when another
        ``closed_sessions`` index keeps them)."""
        closed = self._closed
        return len(closed) if isinstance(closed, ClosedSessionSet) else 0

    def open_sessions(self) -> tuple[SessionSummary, ...]:
        """The sessions open at :attr:`now`, in order of their last input.

        .. versionadded:: 0.2.0
        """
        return tuple(s.report(SessionStatus.OPEN, None) for s in self._by_horizon if not s.ended_at)

    def is_closed(self, session_id: str, scope: str = "") -> bool:
        """Whether the session ``session_id`` of ``scope`` is closed at :attr:`now`."""
        state = self._scopes.get(scope)
        summary = state.sessions.get(session_id) if state is not None else None
        if summary is not None:
            return summary.ended_at is not None
        return self._closed.is_closed(session_id, scope)

    def session_of(self, event_id: str, scope: str = "", at: datetime | None = None) -> str | None:
        """The session of a remembered event: one whose id, fed at ``at`` (by default
        :attr:`now`), would be a duplicate (rule 1). ``None`` for an id never fed, refused,
        or forgotten at its session's horizon.

        .. versionadded:: 0.3.0
        """
        seen = self._seen(event_id, scope)
        if seen is None:
            return None
        when = at if at is not None else self._now
        return seen.id if when is None or when < seen.horizon else None

    def _note(self, event_id: str, scope: str) -> bytes | None:
        """The note kept with a remembered event (``_place``), or ``None``: none kept, or
        the event not remembered."""
        seen = self._seen(event_id, scope)
        notes = seen.notes if seen is not None else None
        return None if notes is None else notes.get(event_id)

    def _set_note(self, event_id: str, scope: str, note: bytes) -> None:
        """Keep ``note`` with a remembered event instead of what was kept (nothing happens
        for an event not remembered)."""
        seen = self._seen(event_id, scope)
        if seen is not None:
            seen.keep_note(event_id, note)

    def _seen(self, event_id: str, scope: str) -> _Summary | None:
        """The session of an event the Sessionizer holds (past its horizon or not)."""
        state = self._scopes.get(scope)
        return state.events.get(event_id) if state is not None else None

    def feed(self, event: Event) -> Assignment:
        """Decide which session ``event`` belongs to, and record it.

        Raises :class:`~sessionkit.OutOfOrderError` for an event earlier than :attr:`now`,
        :class:`~sessionkit.SessionClosedError` for content for a closed session and
        :class:`~sessionkit.SessionIdConflictError` in the rare case of rule 9's id clash, and
        :class:`~sessionkit.TimeOutOfRangeError` for an event whose session would close past
        what ``datetime`` holds; a refused event leaves the Sessionizer exactly as it was.
        """
        return self._place(  # type: ignore[return-value] # given the Event: an Assignment
            event,
            event.id,
            event.at,
            event.scope,
            event.initiator,
            event.user_id,
            event.session_id,
            event.parent_id,
            event.ends_session,
        )

    def _refusal(self, event: Event) -> RefusedEventError:
        """The error that refuses ``event``, which the field-level door refused: the Event fed
        (a refusal changes nothing), for an error that names it. The error comes without its
        traceback: a value, which would otherwise hold the caller's frame, and so the caller's
        list of results holding the error (a cycle only the garbage collector frees)."""
        try:
            self.feed(event)
        except RefusedEventError as error:
            return error.with_traceback(None)
        raise AssertionError(f"the door refused event {event.id!r}, feed did not")

    def feed_each(self, events: Iterable[Event]) -> list[Assignment | RefusedEventError]:
        """Feed events in order, going past refused ones: for each, its assignment or the
        refusal (with ``index`` set to its position). A refused event changes nothing.

        .. versionadded:: 0.2.0
        """
        results: list[Assignment | RefusedEventError] = []
        feed = self.feed
        for index, event in enumerate(events):
            try:
                results.append(feed(event))
            except RefusedEventError as error:
                results.append(error.at_index(index))
        return results

    def _place(  # noqa: PLR0912, PLR0915 - long: the rules' one implementation
        self,
        event: Event | None,
        event_id: str,
        at: datetime,
        scope: str,
        initiator: Participant,
        user_id: str | None,
        session_id: str | None,
        parent_id: str | None,
        ends_session: bool,
        note: bytes | None = None,
    ) -> Assignment | Placement | None:
        """The field-level door: decide where an event with these fields goes, and record it.

        :meth:`feed` is this door given an Event's fields; a replay calls it with fields it
        has validated as an :class:`~sessionkit.Event` would, without building one. The rules
        of ``_rules.PRECEDENCE`` are tried in order (each step marked with its number in
        ``docs/rules.md``), then the decision is applied in one pass. Returns the
        :class:`~sessionkit.Assignment` of ``event``, or without an Event its fields after the
        event (a :data:`~sessionkit.Placement`). A refusal (rules 2, 3, 4, 9,
        or a horizon past what ``datetime`` holds) changes nothing and raises its error naming
        ``event``; with ``event`` ``None`` it returns ``None`` instead, and the caller builds
        the Event and feeds it to have the error that names it. ``note`` is kept with an
        accepted event for as long as it is remembered (:meth:`_note`): a replay's fingerprint
        of what the event said, to compare repeats of its id with.
        """
        if at.tzinfo is not _UTC and type(at.tzinfo) is not timezone:  # a zone with rules
            at = _fixed(at)
        state = self._scopes.get(scope)
        # Rule 1: a duplicate of a remembered event changes nothing (not even the time). Events
        # past their horizon at ``now`` are already forgotten, so only ``at`` needs checking.
        if state is not None:
            seen = state.events.get(event_id)
            if seen is not None and at < seen.horizon:
                if event is not None:
                    return _assignment(
                        (event, seen.id, _DUPLICATE, seen.explicit, False, False, True, None, ())
                    )
                return (seen.id, _DUPLICATE, seen.explicit, False, False, True, None, ())
        # Rule 2: time never goes back.
        now = self._now
        if now is not None and at < now:
            if event is None:
                return None
            raise OutOfOrderError(event, at, now)
        sessions = state.sessions if state is not None else _NO_SESSIONS
        target: _Summary | None = None
        rule, new_id = _NEW_SESSION, ""
        if session_id is not None:  # Rule 3: an explicit session id names its session.
            rule = _EXPLICIT_ID
            target = sessions.get(session_id)
            if target is not None:
                if not target.is_open_at(at):
                    if event is None:
                        return None
                    raise SessionClosedError(
                        event, session_id, target.closed_at(), Rule.EXPLICIT_ID
                    )
            elif self._closed.is_closed(session_id, scope):
                if event is None:
                    return None
                raise SessionClosedError(event, session_id, None, Rule.EXPLICIT_ID)
            else:
                new_id = session_id
        else:
            if state is not None and parent_id is not None:
                # Rule 4: a link to a remembered parent joins the parent's session.
                parent = state.events.get(parent_id)
                if parent is not None and at < parent.horizon:
                    if parent.ended_at is not None:
                        if event is None:
                            return None
                        raise SessionClosedError(
                            event, parent.id, parent.ended_at, Rule.PARENT_LINK
                        )
                    target, rule = parent, _PARENT_LINK
            if state is not None and target is None:
                # Rule 5: the same user key, within the join window, into an open session.
                # (_rules.user_key, in_join_window and is_open_at, inlined: this runs per event.)
                latest = state.latest.get(user_id if user_id is not None else initiator.id)
                if latest is not None and at - latest.at <= self._join_window:
                    session = latest.session
                    if session.ended_at is None and at < session.horizon:
                        target, rule = session, _JOIN_WINDOW
            if target is None:
                # Rule 9: a new implicit session; its derived id must be neither closed nor taken.
                new_id = derive_session_id(scope, event_id)
                taken = sessions.get(new_id)
                if taken is not None or self._closed.is_closed(new_id, scope):
                    if event is None:
                        return None
                    if taken is None or not taken.is_open_at(at):
                        closed_at = None if taken is None else taken.closed_at()
                        raise SessionClosedError(event, new_id, closed_at, Rule.SESSION_IDS)
                    raise SessionIdConflictError(event, new_id)
        try:  # rules 7 and 10: the session goes idle, and its events are forgotten, at its horizon
            horizon = at + self._idle_timeout  # _rules.horizon, inlined
        except OverflowError:
            if event is None:
                return None
            raise TimeOutOfRangeError(event, self._idle_timeout) from None
        # From here on nothing can fail (rule 8): apply the decision, in one pass.
        self._now = at
        next_sweep = self._next_sweep
        if next_sweep is not None and next_sweep <= at:
            closed = self._sweep(at)
            state = self._scopes.get(scope)  # the sweep may have dropped it
        else:
            closed = _NONE_CLOSED
        if state is None:
            state = self._scopes[scope] = _Scope()
        started = target is None
        if target is None:
            # Rule 6: the first event is the header if its initiator is of a header kind.
            header = event_id if initiator.kind in self._header_kinds else None
            target = _Summary(new_id, scope, rule is _EXPLICIT_ID, header, at, horizon)
            is_header = header is not None
            state.sessions[new_id] = target
            self._by_horizon[target] = None
            if self._next_sweep is None:
                self._next_sweep = horizon
            thread_parent: str | None = None
        else:
            self._by_horizon.move_to_end(target)
            target.last_input_at = at
            target.horizon = horizon
            is_header = False
            # Rule 11: the thread parent is the linked event if it is in this session already
            # (as rule 4 found it, when it placed the event).
            if rule is _PARENT_LINK or (
                parent_id is not None and state.events.get(parent_id) is target
            ):
                thread_parent = parent_id
            else:
                thread_parent = target.header_id
        target.event_ids.append(event_id)
        if note is not None:  # target.keep_note, inlined
            notes = target.notes
            if notes is None:
                target.notes = {event_id: note}
            else:
                notes[event_id] = note
        state.events[event_id] = target
        # Rule 5: every accepted event becomes its user key's latest (_rules.user_key, inlined).
        key = user_id if user_id is not None else initiator.id
        latest = state.latest.get(key)
        if latest is None:
            state.latest[key] = _Latest(at, target)
            target.latest_keys.append(key)
        else:
            latest.at = at
            if latest.session is not target:
                latest.session = target
                target.latest_keys.append(key)
        # Rule 7: an event may end its session.
        if ends_session:
            target.ended_at = at
            self._closed.add(target.id, scope)
            closed = (*closed, target.report(_CLOSED, _ENDED))
        explicit = target.explicit
        if event is not None:  # feed: the Assignment, made at once
            return _assignment(
                (event, target.id, rule, explicit, started, is_header, False, thread_parent, closed)
            )
        return (target.id, rule, explicit, started, is_header, False, thread_parent, closed)

    def advance(self, now: datetime) -> tuple[SessionSummary, ...]:
        """Move time forward to ``now`` without an event; return the sessions that closed.

        Raises :class:`~sessionkit.OutOfOrderError` when ``now`` is earlier than :attr:`now`
        (nothing changes), and :class:`TypeError` for a naive datetime.
        """
        if not isinstance(now, datetime) or now.utcoffset() is None:
            raise TypeError(f"advance() needs a timezone-aware datetime, not {now!r}")
        now = _fixed(now)
        if self._now is not None and now < self._now:
            raise OutOfOrderError(None, now, self._now)
        self._now = now
        if self._next_sweep is None or self._next_sweep > now:
            return ()
        return self._sweep(now)

    def _sweep(self, now: datetime) -> tuple[SessionSummary, ...]:
        """Close the sessions whose horizon has come by ``now`` and forget their events."""
        closed: list[SessionSummary] = []
        forgotten = 0
        by_horizon = self._by_horizon
        self._next_sweep = None
        while by_horizon:
            summary, _ = by_horizon.popitem(last=False)
            if now < summary.horizon:  # is_remembered_at: put back the earliest horizon to come
                by_horizon[summary] = None
                by_horizon.move_to_end(summary, last=False)
                self._next_sweep = summary.horizon
                break
            state = self._scopes[summary.scope]
            if summary.ended_at is None:
                self._closed.add(summary.id, summary.scope)
                closed.append(summary.report(_CLOSED, _IDLE))
            state.forget(summary)
            forgotten += 1
            if not state.sessions:
                del self._scopes[summary.scope]
        if forgotten:
            self._compact(forgotten)
        return tuple(closed)

    def _compact(self, forgotten: int) -> None:
        """Give back the room of what sweeps forgot (see :meth:`_Scope.compact`)."""
        self._popped += forgotten
        if self._popped > 2 * len(self._by_horizon) + 1024:  # rare: amortised O(1)
            self._by_horizon = OrderedDict(self._by_horizon)
            self._popped = 0
            for state in self._scopes.values():  # a scope swept empty is gone already
                state.compact()

    # -- resuming -------------------------------------------------------------------------------

    @classmethod
    def resume(
        cls,
        rules: Rules,
        now: datetime | None,
        sessions: Iterable[tuple[SessionSummary, Sequence[str]]],
        recent_events: Iterable[tuple[str, str, datetime, str]],
        *,
        closed_sessions: ClosedSessionIndex | None = None,
    ) -> Sessionizer:
        """A Sessionizer in the state that recorded decisions leave it in at ``now``.

        A store answers the two questions of ``rules.resume_cutoffs(now)``
        (:class:`~sessionkit.ResumeCutoffs`) and passes the answers here:

        * ``sessions``: each session whose last input is after ``sessions_with_input_after``,
          as a :class:`~sessionkit.SessionSummary` with its event ids in feed order, the
          sessions in order of their last input;
        * ``recent_events``: ``(scope, user key, at, session id)`` of every event at or after
          ``events_at_or_after``, in feed order.

        Closed ids stay where ``closed_sessions`` keeps them (the store). Feeding the result
        the rest of a stream gives what one uninterrupted run gives.

        .. versionadded:: 0.2.0
        """
        sessionizer = cls(rules, closed_sessions=closed_sessions)
        sessionizer._load(now, sessions)
        latest: dict[tuple[str, str], tuple[datetime, str]] = {}
        for scope, key, at, session_id in recent_events:
            latest[(scope, key)] = (at, session_id)
        for (scope, key), (at, session_id) in sorted(latest.items()):
            sessionizer._load_latest(scope, key, at, session_id, keep_closed=False)
        return sessionizer

    def _load(
        self, now: datetime | None, sessions: Iterable[tuple[SessionSummary, Sequence[str]]]
    ) -> None:
        """Set the time and the remembered sessions (in order of their last input)."""
        self._now = now
        for row, event_ids in sessions:
            summary = _Summary(
                row.id,
                row.scope,
                row.explicit,
                row.header_id,
                row.started_at,
                row.last_input_at + self._idle_timeout,
            )
            summary.last_input_at = row.last_input_at
            if row.close_reason is CloseReason.ENDED:
                summary.ended_at = row.closed_at
            state = self._scopes.get(summary.scope)
            if state is None:
                state = self._scopes[summary.scope] = _Scope()
            if summary.id in state.sessions:
                raise ValueError(f"session {summary.id!r} of scope {summary.scope!r} given twice")
            state.sessions[summary.id] = summary
            for event_id in event_ids:
                if event_id in state.events:
                    raise ValueError(f"event {event_id!r} is in two sessions")
                summary.event_ids.append(event_id)
                state.events[event_id] = summary
            self._by_horizon[summary] = None
        if self._by_horizon:
            self._next_sweep = next(iter(self._by_horizon)).horizon

    def _load_latest(
        self, scope: str, key: str, at: datetime, session_id: str, *, keep_closed: bool
    ) -> None:
        """Set a user key's latest event; skipped when its session is not open (it joins
        nothing) unless ``keep_closed``."""
        state = self._scopes.get(scope)
        session = state.sessions.get(session_id) if state is not None else None
        if state is None or session is None:
            if keep_closed:
                raise ValueError(f"latest event of {key!r} names unknown session {session_id!r}")
            return
        if keep_closed or self._now is None or session.is_open_at(self._now):
            state.latest[key] = _Latest(at, session)
            session.latest_keys.append(key)

    def _remembered(self) -> list[tuple[SessionSummary, list[str]]]:
        """The remembered sessions with their event ids, in order of their last input."""
        return [
            (
                s.report(SessionStatus.OPEN, None)
                if s.ended_at is None
                else s.report(_CLOSED, _ENDED),
                s.event_ids,
            )
            for s in self._by_horizon
        ]

    def _latest_entries(self) -> list[tuple[str, str, datetime, str]]:
        """``(scope, user key, at, session id)`` of every user key whose session is open."""
        now = self._now
        return [
            (scope, key, entry.at, entry.session.id)
            for scope, state in sorted(self._scopes.items())
            for key, entry in sorted(state.latest.items())
            if entry.session.is_open_at(now or entry.at)
        ]

    # -- snapshots ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """A JSON-serialisable description of the whole working state, to :meth:`restore` later.

        The layout (version ``SNAPSHOT_VERSION``) is in ``docs/storage.md`` and ``_snapshot.py``.
        Closed ids are included when they are kept in memory.
        """
        from sessionkit._snapshot import write_snapshot

        return write_snapshot(self)

    @classmethod
    def restore(
        cls, snapshot: dict[str, Any], *, closed_sessions: ClosedSessionIndex | None = None
    ) -> Sessionizer:
        """A Sessionizer in exactly the state :meth:`snapshot` described.

        Feeding it the rest of a stream gives what one uninterrupted run gives. The rules are the
        snapshot's. Raises :class:`~sessionkit.SnapshotError` for a snapshot of another format or
        version, or one that does not hold together.
        """
        from sessionkit._snapshot import read_snapshot

        return read_snapshot(cls, snapshot, closed_sessions)
