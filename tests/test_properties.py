"""Properties of the Sessionizer that hold for every stream (Hypothesis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from sessionkit import (
    Assignment,
    Event,
    GroupingRule,
    RejectedEventError,
    Rules,
    Sessionizer,
    SessionSummary,
    sessionize,
)
from tests.reference import ReferenceModel
from tests.strategies import rules_strategy, streams


def run(
    rules: Rules,
    events: list[Event],
    advances: dict[int, datetime] | None = None,
    until: datetime | None = None,
) -> tuple[list[Assignment | str], list[SessionSummary]]:
    """Feed ``events``; return each one's assignment (or rejection reason) and every closing.

    ``advances`` maps an index to a time to advance to just before feeding that event. The run
    ends by advancing to ``until`` (default: the last event's time), so that every closing up to
    then is reported.
    """
    sessionizer = Sessionizer(rules)
    outcomes: list[Assignment | str] = []
    closings: list[SessionSummary] = []
    for i, event in enumerate(events):
        if advances and i in advances:
            closings.extend(sessionizer.advance(advances[i]))
        try:
            assignment = sessionizer.feed(event)
        except RejectedEventError as error:
            outcomes.append(error.reason)
            continue
        outcomes.append(assignment)
        closings.extend(assignment.closed)
    if until is None and events:
        until = events[-1].at
    if until is not None and (sessionizer.now is None or until >= sessionizer.now):
        closings.extend(sessionizer.advance(until))
    return outcomes, closings


def without_closings(outcomes: list[Assignment | str]) -> list[object]:
    return [o if isinstance(o, str) else o._replace(closed=()) for o in outcomes]


@st.composite
def rules_and_stream(draw: st.DrawFn) -> tuple[Rules, list[Event]]:
    rules = draw(rules_strategy)
    return rules, draw(streams(rules))


@given(rules_and_stream())
def test_sessionize_puts_each_event_where_the_reference_model_does(
    case: tuple[Rules, list[Event]],
) -> None:
    """sessionize's sessions hold exactly the events the plain model accepted, each once, in
    the session the model chose, in feed order."""
    rules, events = case
    model = ReferenceModel(rules)
    expected: dict[tuple[str, str], list[int]] = {}
    accepted: list[Event] = []
    for index, event in enumerate(events):
        outcome = model.feed(event)
        if outcome.kind == "assigned":
            assert outcome.session_id is not None
            expected.setdefault((event.scope, outcome.session_id), []).append(index)
            accepted.append(event)
    position = {id(event): index for index, event in enumerate(events)}
    got = {
        (s.scope, s.id): [position[id(e)] for e in s.events] for s in sessionize(accepted, rules)
    }
    assert got == expected


@given(rules_and_stream(), st.data())
def test_advancing_between_events_changes_no_decision(
    case: tuple[Rules, list[Event]], data: st.DataObject
) -> None:
    """Moving time forward in any splits, up to the next event, gives the same result.

    Only where the closings are reported moves; which sessions close, when and why do not.
    """
    rules, events = case
    splits = data.draw(st.sets(st.integers(0, max(len(events) - 1, 0))))
    advances = {i: events[i].at for i in splits if i < len(events)}
    plain, plain_closings = run(rules, events)
    split, split_closings = run(rules, events, advances)
    assert without_closings(split) == without_closings(plain)
    assert split_closings == plain_closings


@given(rules_and_stream())
def test_window_joins_only_within_the_window(case: tuple[Rules, list[Event]]) -> None:
    """No session holds a user key's consecutive events further apart than the window,
    unless an explicit id or a parent link joined them; and the window never joined a gap over it.
    """
    rules, events = case
    outcomes, _ = run(rules, events)
    previous: dict[tuple[str, str], Assignment] = {}
    for outcome in outcomes:
        if isinstance(outcome, str) or outcome.duplicate:
            continue
        event = outcome.event
        key = (event.scope, event.user_key)
        before = previous.get(key)
        previous[key] = outcome
        if outcome.rule is GroupingRule.JOIN_WINDOW:
            assert before is not None
            assert event.at - before.event.at <= rules.join_window
            assert before.session_id == outcome.session_id
        if (
            before is not None
            and before.session_id == outcome.session_id
            and event.at - before.event.at > rules.join_window
        ):
            assert outcome.rule in (GroupingRule.EXPLICIT_ID, GroupingRule.PARENT_LINK)


@given(rules_and_stream())
def test_rejected_events_change_nothing(case: tuple[Rules, list[Event]]) -> None:
    """Leaving out the events that were refused gives the same decisions for all the others."""
    rules, events = case
    outcomes, closings = run(rules, events)
    kept = [e for e, o in zip(events, outcomes, strict=True) if not isinstance(o, str)]
    until = events[-1].at if events else None
    kept_outcomes, kept_closings = run(rules, kept, until=until)
    assert kept_outcomes == [o for o in outcomes if not isinstance(o, str)]
    assert kept_closings == closings


_SCRIPT = """
import json, random
from datetime import datetime, timedelta, timezone
from sessionkit import Event, Participant, ParticipantKind, Sessionizer
rng = random.Random(7)
t = datetime(2026, 1, 1, tzinfo=timezone.utc)
s = Sessionizer()
out = []
for i in range(400):
    t += timedelta(seconds=rng.choice([0, 1, 45, 46, 600, 86400]))
    user = f"user-{rng.randrange(5)}"
    a = s.feed(Event(
        id=f"e{i}", at=t, scope=rng.choice(["", "t2"]),
        initiator=Participant(rng.choice(list(ParticipantKind)), user),
        parent_id=f"e{rng.randrange(i)}" if i and rng.random() < 0.3 else None,
    ))
    out.append([a.session_id, a.rule.value, a.thread_parent_id,
                [[c.id, c.close_reason.value] for c in a.closed]])
print(json.dumps(out))
"""


def test_same_ids_in_any_process_under_any_hash_seed() -> None:
    """Session ids and decisions do not depend on PYTHONHASHSEED or the process."""
    results = []
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True
        )
        results.append(json.loads(done.stdout))
    assert results[0] == results[1] == results[2]
    assert len({row[0] for row in results[0]}) > 10  # the stream made many sessions


@given(rules_and_stream())
def test_scopes_never_interact(case: tuple[Rules, list[Event]]) -> None:
    """Feeding each scope's events into its own Sessionizer decides the same for every event.

    Only the reporting of idle closings may move (another scope's event moves time); after a final
    advance to the same time, the same sessions have closed.
    """
    rules, events = case
    together, together_closed = run(rules, events)
    until = events[-1].at if events else None
    decided: dict[int, object] = {}
    closed: list[SessionSummary] = []
    for scope in {e.scope for e in events}:
        mine = [e for e in events if e.scope == scope]
        outcomes, closings = run(rules, mine, until=until)
        decided.update(zip((id(e) for e in mine), without_closings(outcomes), strict=True))
        closed.extend(closings)
    assert [decided[id(e)] for e in events] == without_closings(together)
    assert sorted(closed, key=repr) == sorted(together_closed, key=repr)
