"""Hypothesis strategies for sessionkit's own tests: boundary-heavy, time-ordered event streams."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from sessionkit import Event, Participant, ParticipantKind, Rules
from tests.helpers import T0, US

USERS = ("alice", "bob", "carol")
SCOPES = ("", "tenant-b")

rules_strategy = st.sampled_from(
    [
        Rules(),
        Rules(join_window=timedelta(seconds=45), idle_timeout=timedelta(seconds=120)),
        # A window longer than the idle timeout: the timeout must win.
        Rules(join_window=timedelta(seconds=90), idle_timeout=timedelta(seconds=60)),
        Rules(
            join_window=timedelta(seconds=10),
            idle_timeout=timedelta(seconds=100),
            header_kinds=frozenset({ParticipantKind.USER}),
        ),
    ]
)


def gaps(rules: Rules) -> st.SearchStrategy[timedelta]:
    """Time between two events: often exactly at, or a microsecond off, a rule's boundary."""
    jw, idle = rules.join_window, rules.idle_timeout
    edges = [timedelta(0), US, jw - US, jw, jw + US, idle - US, idle, idle + US]
    whole_seconds = st.integers(0, int(jw.total_seconds())).map(lambda s: timedelta(seconds=s))
    return st.one_of(
        st.sampled_from(edges),
        whole_seconds,
        st.timedeltas(min_value=timedelta(0), max_value=idle + jw),
    )


participants = st.builds(
    Participant,
    kind=st.sampled_from(list(ParticipantKind)),
    id=st.sampled_from(("agent", "llm", "tool", *USERS)),
)


@st.composite
def event_fields(draw: st.DrawFn, ids: list[str]) -> dict[str, object]:
    """Everything about an event but its time.

    Its id is usually new, sometimes one of the last few (a duplicate, or a reuse once the first
    is forgotten); parent links and explicit session ids mostly name recent ones, so that they
    hit remembered events and open sessions as well as forgotten and closed ones.
    """
    recent = ids[-4:] or ["e0"]
    new_id = f"e{len(ids)}"
    event_id = draw(st.sampled_from(recent)) if draw(st.integers(0, 7)) == 0 else new_id
    initiator = draw(participants)
    user_id = None
    if initiator.kind is not ParticipantKind.USER and draw(st.booleans()):
        user_id = draw(st.sampled_from(USERS))
    session_id = None
    if draw(st.integers(0, 3)) == 0:
        session_id = f"s-{draw(st.integers(max(0, len(ids) // 4 - 1), len(ids) // 4 + 1))}"
    parent_id = None
    if draw(st.integers(0, 2)) == 0:
        parent_id = draw(st.sampled_from([*recent, "unknown"]))
    return {
        "id": event_id,
        "initiator": initiator,
        "user_id": user_id,
        "scope": draw(st.sampled_from(SCOPES)),
        "session_id": session_id,
        "parent_id": parent_id,
        "ends_session": draw(st.integers(0, 11)) == 0,
    }


@st.composite
def streams(draw: st.DrawFn, rules: Rules, min_size: int = 0, max_size: int = 30) -> list[Event]:
    """A time-ordered stream of events with boundary-heavy gaps, duplicates and links."""
    size = draw(st.integers(min_size, max_size))
    events: list[Event] = []
    ids: list[str] = []
    t = T0
    for _ in range(size):
        t += draw(gaps(rules))
        fields = draw(event_fields(ids))
        events.append(Event(at=t, **fields))  # type: ignore[arg-type]
        ids.append(events[-1].id)
    return events
