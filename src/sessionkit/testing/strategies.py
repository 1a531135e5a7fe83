"""Hypothesis strategies for sessionkit values: participants, event streams, boundary-heavy gaps.

Needs Hypothesis (``pip install 'sessionkit[hypothesis]'``). Every knob shrinks towards the
simplest stream — fewer events, one user, no explicit ids, no links, no ends, gaps of zero — so
failures shrink to small readable examples. See ``docs/testing.md``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs
from hypothesis import strategies as st

from sessionkit import Event, Participant, ParticipantKind, Rules

__all__ = ["START", "event_fields", "events", "gaps", "participants", "rules", "streams"]

#: Where generated streams start unless told otherwise.
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)


def gaps(
    rules: Rules | None = None, *, boundary_share: float = 0.5
) -> st.SearchStrategy[timedelta]:
    """Time between two events: with ``boundary_share`` exactly at, or a microsecond either side
    of, the join window or the idle timeout; otherwise whole seconds inside the window, or any
    time up to a little past the timeout."""
    return _Gaps.make(rules, boundary_share).strategy()


@attrs.frozen
class _Gaps:
    """The parts of :func:`gaps`, drawn one after the other in a stream (no ``flatmap``)."""

    edge: int
    edges: st.SearchStrategy[timedelta]
    seconds: st.SearchStrategy[int]
    micros: st.SearchStrategy[int]

    @classmethod
    def make(cls, rules: Rules | None, boundary_share: float) -> _Gaps:
        rules = rules if rules is not None else Rules()
        jw, idle = rules.join_window, rules.idle_timeout
        edges = [timedelta(0), _US, jw - _US, jw, jw + _US, idle - _US, idle, idle + _US]
        # Plain integers, not st.timedeltas (several draws each): most of a stream's cost.
        return cls(
            _cut(boundary_share),
            st.sampled_from(edges),
            st.integers(0, int(jw.total_seconds())),
            st.integers(0, (idle + jw) // _US),
        )

    def draw(self, draw: st.DrawFn) -> timedelta:
        if draw(_ROLL) >= self.edge:
            return draw(self.edges)
        if draw(_ROLL) < 50:  # half: whole seconds inside the window
            return timedelta(seconds=draw(self.seconds))
        return draw(self.micros) * _US  # half: any time up to a little past the timeout

    def strategy(self) -> st.SearchStrategy[timedelta]:
        return st.composite(self.draw)()


def participants(
    users: int = 3, kinds: tuple[ParticipantKind, ...] = tuple(ParticipantKind)
) -> st.SearchStrategy[Participant]:
    """Participants of the given kinds; users are ``user-0`` ... and others are named by kind.
    Shrinks towards ``user-0``."""
    return st.sampled_from(_participant_list(users, kinds))


def _participant_list(users: int, kinds: tuple[ParticipantKind, ...]) -> list[Participant]:
    user_kind = [kind for kind in kinds if kind is ParticipantKind.USER]
    others = [Participant(kind, kind.value) for kind in kinds if kind is not ParticipantKind.USER]
    return [
        *(
            Participant(ParticipantKind.USER, f"user-{n}")
            for n in range(max(users, 1))
            if user_kind
        ),
        *others,
    ]


def _scope_name(n: int) -> str:
    """Scope 0 is the default scope ``""``; the others are ``scope-1``, ``scope-2``, ..."""
    return "" if n == 0 else f"scope-{n}"


_ROLL = st.integers(0, 99)


def _cut(share: float) -> int:
    """The roll of :data:`_ROLL` from which a chance of ``share`` comes true (shrinks to no)."""
    return 100 - max(0, min(100, round(share * 100)))


@attrs.frozen
class _Fields:
    """The strategies of one event's fields, built once per stream. Each field is one draw of
    a plain strategy: building strategies, mapping, or drawing twice on every event is what
    made streams slow."""

    #: (initiator, user_id): users speak for themselves; others for nobody or for a user
    sender: st.SearchStrategy[tuple[Participant, str | None]]
    scope: st.SearchStrategy[int] | None
    #: the rolls from which an explicit id, a parent link, an end and a duplicate come
    explicit: int
    parent: int
    end: int
    duplicate: int
    index: st.SearchStrategy[int]

    @classmethod
    def make(cls, users: int, scopes: int, chances: tuple[float, float, float, float]) -> _Fields:
        explicit, parents, ends, duplicates = chances
        user_ids = [None, *(f"user-{n}" for n in range(max(users, 1)))]
        senders = [
            (who, None if who.kind is ParticipantKind.USER else user_id)
            for user_id in user_ids
            for who in _participant_list(users, tuple(ParticipantKind))
            if user_id is None or who.kind is not ParticipantKind.USER
        ]
        return cls(
            sender=st.sampled_from(senders),
            scope=st.integers(0, scopes - 1) if scopes > 1 else None,
            explicit=_cut(explicit),
            parent=_cut(parents),
            end=_cut(ends),
            duplicate=_cut(duplicates),
            index=st.integers(0, 11),
        )

    def draw(self, draw: st.DrawFn, previous_ids: list[str]) -> dict[str, object]:
        recent = previous_ids[-4:] or ["e0"]
        n = len(previous_ids)
        initiator, user_id = draw(self.sender)
        event_id = f"e{n}"
        if draw(_ROLL) >= self.duplicate:  # mostly a recent id, sometimes any earlier one
            index = draw(self.index)
            pool = recent if index < 8 or not previous_ids else previous_ids
            event_id = pool[index * 7 % len(pool)]
        session_id = None
        if draw(_ROLL) >= self.explicit:
            session_id = f"s-{max(0, n // 4 - 1) + draw(self.index) % 3}"
        parent_id = None
        if draw(_ROLL) >= self.parent:
            choices = [*recent, "unknown"]
            parent_id = choices[draw(self.index) % len(choices)]
        return {
            "id": event_id,
            "initiator": initiator,
            "user_id": user_id,
            "scope": _scope_name(draw(self.scope)) if self.scope is not None else "",
            "session_id": session_id,
            "parent_id": parent_id,
            "ends_session": draw(_ROLL) >= self.end,
        }


@st.composite
def event_fields(
    draw: st.DrawFn,
    previous_ids: list[str],
    *,
    users: int = 3,
    scopes: int = 1,
    explicit: float = 0.25,
    parents: float = 0.33,
    ends: float = 0.08,
    duplicates: float = 0.12,
) -> dict[str, object]:
    """Everything about an event but its time, as ``Event`` keyword arguments.

    Its id is new, or (``duplicates``) an earlier id, often a recent one; ``parents`` link to a
    recent id or an unknown one; ``explicit`` session ids come from a small, slowly growing pool,
    so that they name open, closed and new sessions alike.
    """
    fields = _Fields.make(users, scopes, (explicit, parents, ends, duplicates))
    return fields.draw(draw, previous_ids)


@st.composite
def streams(
    draw: st.DrawFn,
    rules: Rules | None = None,
    *,
    min_size: int = 0,
    max_size: int = 30,
    start: datetime = START,
    users: int = 3,
    scopes: int = 1,
    explicit: float = 0.25,
    parents: float = 0.33,
    ends: float = 0.08,
    duplicates: float = 0.12,
    boundary_share: float = 0.5,
) -> list[Event]:
    """A time-ordered list of events: boundary-heavy gaps (see :func:`gaps`), and the mix of
    users, scopes, explicit ids, parent links, ends and duplicates the knobs ask for."""
    size = draw(st.integers(min_size, max_size))
    gap = _Gaps.make(rules, boundary_share)
    fields = _Fields.make(users, scopes, (explicit, parents, ends, duplicates))
    events: list[Event] = []
    ids: list[str] = []
    at = start
    for _ in range(size):
        at += gap.draw(draw)
        events.append(Event(at=at, **fields.draw(draw, ids)))  # type: ignore[arg-type]
        ids.append(events[-1].id)
    return events


def rules() -> st.SearchStrategy[Rules]:
    """Rules with join windows and idle timeouts from a microsecond to a few days (the window
    may be longer than the timeout), and any non-empty set of header kinds."""
    durations = st.timedeltas(min_value=_US, max_value=timedelta(days=3))
    return st.builds(
        Rules,
        join_window=durations,
        idle_timeout=durations,
        header_kinds=st.frozensets(st.sampled_from(ParticipantKind), min_size=1),
    )


def events(rules: Rules | None = None) -> st.SearchStrategy[Event]:
    """One event (the first of a stream): what ``st.from_type(Event)`` draws."""
    return streams(rules, min_size=1, max_size=1).map(lambda drawn: drawn[0])
