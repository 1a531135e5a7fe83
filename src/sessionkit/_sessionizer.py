"""The Sessionizer: a deterministic state machine that groups time-ordered events into sessions.

It does no I/O, reads no clock and draws no random numbers: time is only what events say
(``event.at``) or what the caller passes to :meth:`Sessionizer.advance`. The rules' parameters
live in :class:`~sessionkit.Rules`; ``feed`` and ``_decide`` below apply the rules in their
precedence, each step marked with its number in ``docs/rules.md``. The working state is:

* per remembered session (open, or ended but not yet past its horizon) a small summary;
* per remembered event an index entry (its id, pointing at its session's summary);
* per user key its latest accepted event's time and session (stale entries, whose session has
  closed, are dropped in amortised passes, so there are never more than about twice the live ones);
* the ids of closed sessions.

Events themselves, and their payloads, are never kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sessionkit._errors import (
    OutOfOrderError,
    SessionClosedError,
    SessionIdConflictError,
    SnapshotError,
)
from sessionkit._model import (
    Assignment,
    ClosedSession,
    CloseReason,
    Event,
    GroupingRule,
    ParticipantKind,
)
from sessionkit._rules import Rules, derive_session_id

__all__ = ["SNAPSHOT_FORMAT", "SNAPSHOT_VERSION", "ClosedSessionIndex", "Sessionizer"]

#: What :meth:`Sessionizer.snapshot` writes in its ``"format"`` field.
SNAPSHOT_FORMAT = "sessionkit.sessionizer"
#: The version of the snapshot layout; :meth:`Sessionizer.restore` refuses any other.
SNAPSHOT_VERSION = 1


class ClosedSessionIndex(Protocol):
    """Answers whether a session id is closed, for ids the Sessionizer no longer remembers.

    A store implements it, so that closed ids (refused for good, rule 3) live in the store and not
    in memory. The Sessionizer reports every closing (``Assignment.closed`` and ``advance``); the
    index must know a reported closing from then on.
    """

    def is_closed(self, session_id: str, scope: str) -> bool:
        """Whether the session ``session_id`` of ``scope`` has closed."""
        ...


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

    def closed_as_of(self, now: datetime) -> bool:
        """Whether the session is closed at ``now``: it ended, or its horizon has come."""
        return self.ended_at is not None or self.horizon <= now

    def closed_at(self) -> datetime:
        return self.ended_at if self.ended_at is not None else self.horizon

    def report(self, reason: CloseReason) -> ClosedSession:
        """The :class:`ClosedSession` that tells the caller this session closed."""
        return ClosedSession(  # positional: this runs for every session that closes
            self.id,
            self.scope,
            self.explicit,
            self.header_id,
            self.started_at,
            self.last_input_at,
            len(self.event_ids),
            self.horizon if self.ended_at is None else self.ended_at,
            reason,
        )


class _Latest:
    """A user key's latest accepted event: its time and its session (rule 5)."""

    __slots__ = ("at", "session")

    def __init__(self, at: datetime, session: _Summary) -> None:
        self.at = at
        self.session = session


_LATEST_MIN_LIMIT = 1024
# Assignments are built from a tuple of their fields: the fastest way to make a named tuple.
_assignment = Assignment._make
_NONE_CLOSED: tuple[ClosedSession, ...] = ()
_NO_SESSIONS: dict[str, _Summary] = {}


class _Scope:
    """The remembered state of one scope."""

    __slots__ = ("events", "latest", "latest_limit", "sessions")

    def __init__(self) -> None:
        #: remembered event id -> its session
        self.events: dict[str, _Summary] = {}
        #: session id -> session, for sessions not yet past their horizon
        self.sessions: dict[str, _Summary] = {}
        #: user key -> its latest accepted event (rule 5)
        self.latest: dict[str, _Latest] = {}
        #: when ``latest`` grows past this, entries whose session has closed are dropped
        self.latest_limit = _LATEST_MIN_LIMIT

    def drop_stale_latest(self, now: datetime) -> None:
        """Forget the latest events of user keys whose session has closed by ``now``.

        A closed session joins nothing, so such an entry decides nothing. Run when ``latest``
        doubles, the pass costs O(1) per event amortised.
        """
        self.latest = {
            key: latest
            for key, latest in self.latest.items()
            if latest.session.ended_at is None and latest.session.horizon > now
        }
        self.latest_limit = max(2 * len(self.latest), _LATEST_MIN_LIMIT)


class Sessionizer:
    """Groups time-ordered events into sessions by the rules in ``docs/rules.md``.

    Feed events in time order with :meth:`feed`; move time forward without an event with
    :meth:`advance`. Both return values that report every transition, in order: the
    :class:`~sessionkit.Assignment` of an event (opened or joined a session, or was a duplicate)
    with the sessions that closed at that step, and the :class:`~sessionkit.ClosedSession` list of
    ``advance``. A refused event raises a :class:`~sessionkit.RejectedEventError` and changes
    nothing.
    """

    def __init__(
        self, rules: Rules | None = None, *, closed_sessions: ClosedSessionIndex | None = None
    ) -> None:
        self._rules = rules if rules is not None else Rules()
        # Where closed ids are kept: in ``_closed`` unless an index (a store) keeps them.
        self._closed_index = closed_sessions
        # Read on every event; kept here to spare an attribute lookup.
        self._join_window = self._rules.join_window
        self._idle_timeout = self._rules.idle_timeout
        self._header_kinds = self._rules.header_kinds
        self._now: datetime | None = None
        self._scopes: dict[str, _Scope] = {}
        self._closed: dict[str, set[str]] = {}
        # Remembered sessions in order of horizon. Horizons only grow and are set from the current
        # time, so moving a touched session to the end keeps the order sorted.
        self._by_horizon: OrderedDict[_Summary, None] = OrderedDict()
        # A lower bound on the earliest horizon: no sweep is needed before it.
        self._next_sweep: datetime | None = None

    @property
    def rules(self) -> Rules:
        """The rules this Sessionizer applies."""
        return self._rules

    @property
    def now(self) -> datetime | None:
        """The latest time fed or advanced to, or ``None`` before the first."""
        return self._now

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
        """How many closed session ids are held in memory (0 when a ``closed_sessions`` index
        keeps them)."""
        return sum(len(ids) for ids in self._closed.values())

    def is_closed(self, session_id: str, scope: str = "") -> bool:
        """Whether the session ``session_id`` of ``scope`` is closed at :attr:`now`."""
        state = self._scopes.get(scope)
        summary = state.sessions.get(session_id) if state is not None else None
        if summary is not None:
            return summary.ended_at is not None
        return self._closed_before(session_id, scope)

    def _closed_before(self, session_id: str, scope: str) -> bool:
        """Whether a session no longer remembered has closed (rule 3: ids are refused for good)."""
        if self._closed_index is not None:
            return self._closed_index.is_closed(session_id, scope)
        return session_id in self._closed.get(scope, ())

    def feed(self, event: Event) -> Assignment:
        """Decide which session ``event`` belongs to, and record it.

        Raises :class:`~sessionkit.OutOfOrderError` for an event earlier than :attr:`now`,
        :class:`~sessionkit.SessionClosedError` for content for a closed session and
        :class:`~sessionkit.SessionIdConflictError` in the rare case of rule 9's id clash; a
        refused event leaves the Sessionizer exactly as it was.
        """
        at = event.at
        event_id = event.id
        scope = event.scope
        now = self._now
        state = self._scopes.get(scope)

        # Rule 1: a duplicate of a remembered event changes nothing (not even the time). Events
        # past their horizon at ``now`` are already forgotten, so only ``at`` needs checking.
        if state is not None:
            seen = state.events.get(event_id)
            if seen is not None and seen.horizon > at:
                return Assignment(event, seen.id, GroupingRule.DUPLICATE, duplicate=True)

        # Rule 2: time never goes back.
        if now is not None and at < now:
            raise OutOfOrderError(event, at, now)

        # Rules 3 to 5 decide; nothing changes until the decision is made (rule 8).
        # Event.user_key, inlined (feed is the hot path).
        user_key = event.user_id if event.user_id is not None else event.initiator.id
        target, rule, new_id = self._decide(event, state, user_key)

        # From here on nothing can fail: apply the decision.
        self._now = at
        next_sweep = self._next_sweep
        if next_sweep is not None and next_sweep <= at:
            closed = self._sweep(at)
            state = self._scopes.get(scope)  # the sweep may have dropped it
        else:
            closed = _NONE_CLOSED
        if state is None:
            state = self._scopes[scope] = _Scope()
        # Rules 7 and 10: the session goes idle, and its events are forgotten, at its horizon.
        horizon = at + self._idle_timeout
        started = target is None
        if target is None:
            # Rule 6: the first event is the header if its initiator is of a header kind.
            header = event_id if event.initiator.kind in self._header_kinds else None
            target = _Summary(new_id, scope, event.session_id is not None, header, at, horizon)
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
            parent_id = event.parent_id
            # Rule 11: the thread parent is the linked event if it is in this session already.
            if parent_id is not None and state.events.get(parent_id) is target:
                thread_parent = parent_id
            else:
                thread_parent = target.header_id
        target.event_ids.append(event_id)
        state.events[event_id] = target
        latest = state.latest.get(user_key)
        if latest is None:
            state.latest[user_key] = _Latest(at, target)
            if len(state.latest) > state.latest_limit:
                state.drop_stale_latest(at)
        else:
            latest.at = at
            latest.session = target

        # Rule 7: an event may end its session.
        if event.ends_session:
            target.ended_at = at
            self._close(target)
            closed = (*closed, target.report(CloseReason.ENDED))
        return _assignment(
            (event, target.id, rule, started, is_header, False, thread_parent, closed)
        )

    def _decide(
        self, event: Event, state: _Scope | None, user_key: str
    ) -> tuple[_Summary | None, GroupingRule, str]:
        """Rules 3 to 5: the session to join, the rule that said so and the new session's id.

        Either the session to join is ``None`` and a new session with the returned id starts, or
        the id is empty. Raises for content that would go to a closed session. Changes nothing.
        """
        at = event.at
        sessions = state.sessions if state is not None else _NO_SESSIONS

        # Rule 3: an explicit session id names its session.
        if event.session_id is not None:
            named = sessions.get(event.session_id)
            if named is not None:
                if named.closed_as_of(at):
                    raise SessionClosedError(event, named.id, named.closed_at(), "names")
                return named, GroupingRule.EXPLICIT_ID, ""
            if self._closed_before(event.session_id, event.scope):
                raise SessionClosedError(event, event.session_id, None, "names")
            return None, GroupingRule.EXPLICIT_ID, event.session_id

        if state is not None:
            # Rule 4: a link to a remembered parent joins the parent's session.
            if event.parent_id is not None:
                parent = state.events.get(event.parent_id)
                if parent is not None and parent.horizon > at:
                    if parent.ended_at is not None:
                        raise SessionClosedError(
                            event, parent.id, parent.ended_at, "links to a parent in"
                        )
                    return parent, GroupingRule.PARENT_LINK, ""

            # Rule 5: the same user key, within the join window, into an open session.
            # The window is inclusive: exactly ``join_window`` later still joins.
            latest = state.latest.get(user_key)
            if latest is not None and at - latest.at <= self._join_window:
                session = latest.session
                if session.ended_at is None and session.horizon > at:
                    return session, GroupingRule.JOIN_WINDOW, ""

        # A new implicit session; its derived id must not be taken (rule 9).
        new_id = derive_session_id(event.scope, event.id)
        taken = sessions.get(new_id)
        if taken is not None:
            if taken.closed_as_of(at):
                raise SessionClosedError(event, new_id, taken.closed_at(), "would start")
            raise SessionIdConflictError(event, new_id)
        if self._closed_before(new_id, event.scope):
            raise SessionClosedError(event, new_id, None, "would start")
        return None, GroupingRule.NEW_SESSION, new_id

    def advance(self, now: datetime) -> tuple[ClosedSession, ...]:
        """Move time forward to ``now`` without an event; return the sessions that closed.

        Raises :class:`~sessionkit.OutOfOrderError` when ``now`` is earlier than :attr:`now`
        (nothing changes), and :class:`TypeError` for a naive datetime.
        """
        if not isinstance(now, datetime) or now.utcoffset() is None:
            raise TypeError(f"advance() needs a timezone-aware datetime, not {now!r}")
        if self._now is not None and now < self._now:
            raise OutOfOrderError(None, now, self._now)
        self._now = now
        if self._next_sweep is None or self._next_sweep > now:
            return ()
        return self._sweep(now)

    def _sweep(self, now: datetime) -> tuple[ClosedSession, ...]:
        """Close the sessions whose horizon has come by ``now`` and forget their events."""
        closed: list[ClosedSession] = []
        by_horizon = self._by_horizon
        while by_horizon:
            summary, _ = by_horizon.popitem(last=False)
            if summary.horizon > now:  # put it back: it is the earliest horizon still to come
                by_horizon[summary] = None
                by_horizon.move_to_end(summary, last=False)
                self._next_sweep = summary.horizon
                return tuple(closed)
            state = self._scopes[summary.scope]
            if summary.ended_at is None:
                self._close(summary)
                closed.append(summary.report(CloseReason.IDLE))
            events = state.events
            for event_id in summary.event_ids:
                del events[event_id]
            del state.sessions[summary.id]
            if not state.sessions:
                del self._scopes[summary.scope]
        self._next_sweep = None
        return tuple(closed)

    def _close(self, summary: _Summary) -> None:
        """Remember that a session closed: its id is refused for good."""
        if self._closed_index is not None:
            return  # the index learns it from the reported closing
        ids = self._closed.get(summary.scope)
        if ids is None:
            ids = self._closed[summary.scope] = set()
        ids.add(summary.id)

    # -- snapshots ------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """A JSON-serialisable description of the whole working state, to :meth:`restore` later.

        Times are ISO 8601 strings, durations whole microseconds. Closed ids are included unless
        a ``closed_sessions`` index keeps them. The layout is versioned (``SNAPSHOT_VERSION``) and
        pinned by a golden test; see ``docs/storage.md``.
        """
        now = self._now
        snapshot = snapshot_document(
            self._rules,
            now,
            [
                snapshot_session(
                    s.id,
                    s.scope,
                    s.explicit,
                    s.header_id,
                    s.started_at,
                    s.last_input_at,
                    s.ended_at,
                    s.event_ids,
                )
                for s in self._by_horizon
            ],
            [  # sorted, so that equal states give equal snapshots
                snapshot_latest(scope, user_key, entry.at, entry.session.id)
                for scope, state in sorted(self._scopes.items())
                for user_key, entry in sorted(state.latest.items())
                if entry.session.ended_at is None and entry.session.horizon > (now or entry.at)
            ],
        )
        if self._closed_index is None:
            snapshot["closed"] = {scope: sorted(ids) for scope, ids in sorted(self._closed.items())}
        return snapshot

    @classmethod
    def restore(
        cls, snapshot: dict[str, Any], *, closed_sessions: ClosedSessionIndex | None = None
    ) -> Sessionizer:
        """A Sessionizer in exactly the state :meth:`snapshot` described.

        Feeding it the rest of a stream gives what one uninterrupted run gives. The rules are the
        snapshot's. Raises :class:`~sessionkit.SnapshotError` for a snapshot of another format or
        version, or one that does not hold together.
        """
        if not isinstance(snapshot, dict) or snapshot.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError(f"not a sessionkit snapshot (format {SNAPSHOT_FORMAT!r})")
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise SnapshotError(
                f"snapshot version {snapshot.get('version')!r} is not supported "
                f"(this sessionkit reads version {SNAPSHOT_VERSION})"
            )
        try:
            sessionizer = cls(_rules_from_json(snapshot["rules"]), closed_sessions=closed_sessions)
            sessionizer._load(snapshot)
        except (KeyError, TypeError, ValueError) as error:
            raise SnapshotError(f"snapshot does not hold together: {error!r}") from error
        return sessionizer

    def _load(self, snapshot: dict[str, Any]) -> None:
        now = snapshot["now"]
        self._now = None if now is None else datetime.fromisoformat(now)
        idle = self._idle_timeout
        for item in snapshot["sessions"]:
            started_at = datetime.fromisoformat(item["started_at"])
            last_input_at = datetime.fromisoformat(item["last_input_at"])
            summary = _Summary(
                item["id"],
                item["scope"],
                bool(item["explicit"]),
                item["header_id"],
                started_at,
                last_input_at + idle,
            )
            summary.last_input_at = last_input_at
            if item["ended_at"] is not None:
                summary.ended_at = datetime.fromisoformat(item["ended_at"])
            state = self._scopes.get(summary.scope)
            if state is None:
                state = self._scopes[summary.scope] = _Scope()
            state.sessions[summary.id] = summary
            for event_id in item["event_ids"]:
                summary.event_ids.append(event_id)
                state.events[event_id] = summary
            self._by_horizon[summary] = None
        if self._by_horizon:
            self._next_sweep = next(iter(self._by_horizon)).horizon
        for item in snapshot["latest"]:
            state = self._scopes[item["scope"]]
            state.latest[item["user_key"]] = _Latest(
                datetime.fromisoformat(item["at"]), state.sessions[item["session_id"]]
            )
        if self._closed_index is None:
            self._closed = {scope: set(ids) for scope, ids in snapshot.get("closed", {}).items()}


# The snapshot layout (version SNAPSHOT_VERSION), written here and only here: the Sessionizer and
# the stores (which resume from their tables) build snapshots with these functions.


def snapshot_session(
    id: str,
    scope: str,
    explicit: bool,
    header_id: str | None,
    started_at: datetime,
    last_input_at: datetime,
    ended_at: datetime | None,
    event_ids: Iterable[str],
) -> dict[str, Any]:
    """One remembered session of a snapshot."""
    return {
        "id": id,
        "scope": scope,
        "explicit": explicit,
        "header_id": header_id,
        "started_at": started_at.isoformat(),
        "last_input_at": last_input_at.isoformat(),
        "ended_at": None if ended_at is None else ended_at.isoformat(),
        "event_ids": list(event_ids),
    }


def snapshot_latest(scope: str, user_key: str, at: datetime, session_id: str) -> dict[str, Any]:
    """One user key's latest event (rule 5) in a snapshot."""
    return {"scope": scope, "user_key": user_key, "at": at.isoformat(), "session_id": session_id}


def snapshot_document(
    rules: Rules,
    now: datetime | None,
    sessions: list[dict[str, Any]],
    latest: list[dict[str, Any]],
) -> dict[str, Any]:
    """A whole snapshot, without closed ids (the Sessionizer adds them when it keeps them)."""
    return {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "rules": _rules_to_json(rules),
        "now": None if now is None else now.isoformat(),
        "sessions": sessions,
        "latest": latest,
    }


def _rules_to_json(rules: Rules) -> dict[str, Any]:
    return {
        "join_window_us": rules.join_window // timedelta(microseconds=1),
        "idle_timeout_us": rules.idle_timeout // timedelta(microseconds=1),
        "header_kinds": sorted(kind.value for kind in rules.header_kinds),
    }


def _rules_from_json(data: dict[str, Any]) -> Rules:
    return Rules(
        join_window=timedelta(microseconds=data["join_window_us"]),
        idle_timeout=timedelta(microseconds=data["idle_timeout_us"]),
        header_kinds=frozenset(ParticipantKind(kind) for kind in data["header_kinds"]),
    )
