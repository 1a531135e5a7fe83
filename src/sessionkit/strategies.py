"""Hypothesis strategies for sessionkit values: participants, event streams, boundary-heavy gaps.

Needs Hypothesis (``pip install 'sessionkit[hypothesis]'``). Every knob shrinks towards the
simplest stream — fewer events, one user, no explicit ids, no links, no ends, gaps of zero — so
failures shrink to small readable examples. See ``docs/testing.md``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

from sessionkit._model import Event, Participant, ParticipantKind
from sessionkit._rules import Rules

__all__ = ["START", "event_fields", "gaps", "participants", "streams"]

#: Where generated streams start unless told otherwise.
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)


def gaps(
    rules: Rules | None = None, *, boundary_share: float = 0.5
) -> st.SearchStrategy[timedelta]:
    """Time between two events: with ``boundary_share`` exactly at, or a microsecond either side
    of, the join window or the idle timeout; otherwise whole seconds inside the window, or any
    time up to a little past the timeout."""
    rules = rules if rules is not None else Rules()
    jw, idle = rules.join_window, rules.idle_timeout
    edges = [timedelta(0), _US, jw - _US, jw, jw + _US, idle - _US, idle, idle + _US]
    whole_seconds = st.integers(0, int(jw.total_seconds())).map(lambda s: timedelta(seconds=s))
    anything = st.timedeltas(min_value=timedelta(0), max_value=idle + jw)
    weight = max(0, min(100, round(boundary_share * 100)))
    return st.integers(0, 99).flatmap(
        lambda roll: st.sampled_from(edges) if roll < weight else whole_seconds | anything
    )


def participants(
    users: int = 3, kinds: tuple[ParticipantKind, ...] = tuple(ParticipantKind)
) -> st.SearchStrategy[Participant]:
    """Participants of the given kinds; users are ``user-0`` ... and others are named by kind."""
    user_ids = [f"user-{n}" for n in range(max(users, 1))]
    return st.sampled_from(kinds).flatmap(
        lambda kind: st.builds(
            Participant,
            kind=st.just(kind),
            id=st.sampled_from(user_ids) if kind is ParticipantKind.USER else st.just(kind.value),
        )
    )


def _chance(share: float) -> st.SearchStrategy[bool]:
    """True with about ``share`` probability; shrinks to False."""
    cut = max(0, min(100, round(share * 100)))
    return st.integers(0, 99).map(lambda roll: roll >= 100 - cut)


def _scope_name(n: int) -> str:
    """Scope 0 is the default scope ``""``; the others are ``scope-1``, ``scope-2``, ..."""
    return "" if n == 0 else f"scope-{n}"


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
    recent = previous_ids[-4:] or ["e0"]
    n = len(previous_ids)
    initiator = draw(participants(users))
    user_id = None
    if initiator.kind is not ParticipantKind.USER and draw(st.booleans()):
        user_id = f"user-{draw(st.integers(0, max(users, 1) - 1))}"
    return {
        "id": (
            draw(st.sampled_from(recent) | st.sampled_from(previous_ids or recent))
            if draw(_chance(duplicates))
            else f"e{n}"
        ),
        "initiator": initiator,
        "user_id": user_id,
        "scope": _scope_name(draw(st.integers(0, max(scopes, 1) - 1))),
        "session_id": (
            f"s-{draw(st.integers(max(0, n // 4 - 1), n // 4 + 1))}"
            if draw(_chance(explicit))
            else None
        ),
        "parent_id": draw(st.sampled_from([*recent, "unknown"]))
        if draw(_chance(parents))
        else None,
        "ends_session": draw(_chance(ends)),
    }


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
    events: list[Event] = []
    ids: list[str] = []
    at = start
    for _ in range(size):
        at += draw(gaps(rules, boundary_share=boundary_share))
        fields = draw(
            event_fields(
                ids,
                users=users,
                scopes=scopes,
                explicit=explicit,
                parents=parents,
                ends=ends,
                duplicates=duplicates,
            )
        )
        events.append(Event(at=at, **fields))  # type: ignore[arg-type]
        ids.append(events[-1].id)
    return events
