"""The Sessionizer against the plain reference model, step by step (Hypothesis stateful test)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import event as event_
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from sessionkit import (
    Assignment,
    Event,
    RejectedEventError,
    Rules,
    SessionAssembly,
    Sessionizer,
    SessionStatus,
    SessionSummary,
)
from tests.helpers import T0, US
from tests.reference import Outcome, ReferenceModel
from tests.strategies import event_fields, gaps, rules_strategy


def outcome_of(assignment: Assignment) -> Outcome:
    """The Sessionizer's answer in the reference model's terms."""
    if assignment.duplicate:
        return Outcome("duplicate", assignment.session_id, "duplicate")
    return Outcome(
        "assigned",
        assignment.session_id,
        assignment.rule.value,
        assignment.started,
        assignment.thread_parent_id,
        closed=tuple(closing(c) for c in assignment.closed),
    )


def closing(summary: SessionSummary) -> tuple[str, str, datetime]:
    """A reported closing as the model writes it: id, reason, time."""
    assert summary.close_reason is not None and summary.closed_at is not None
    return (summary.id, summary.close_reason.value, summary.closed_at)


class SessionizerMachine(RuleBasedStateMachine):
    """Feeds boundary-heavy events and time moves into both, and compares after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.grouping = Rules()
        self.sessionizer = Sessionizer(self.grouping)
        self.model = ReferenceModel(self.grouping)
        self.assembly = SessionAssembly()
        self.ids: list[str] = []
        self.t: datetime = T0

    @initialize(rules=rules_strategy)
    def choose_rules(self, rules: Rules) -> None:
        self.grouping = rules
        self.sessionizer = Sessionizer(rules)
        self.model = ReferenceModel(rules)

    @rule(data=st.data())
    def feed(self, data: st.DataObject) -> None:
        self.t += data.draw(gaps(self.grouping))
        fields = data.draw(event_fields(self.ids))
        self._feed(Event(at=self.t, **fields))  # type: ignore[arg-type]

    @rule(back=st.sampled_from([US, timedelta(seconds=1)]), data=st.data())
    def feed_late(self, back: timedelta, data: st.DataObject) -> None:
        """An event earlier than the current time: refused unless it is a duplicate."""
        fields = data.draw(event_fields(self.ids))
        self._feed(Event(at=self.t - back, **fields))  # type: ignore[arg-type]

    @rule()
    def move_clock_to_next_horizon(self) -> None:
        """Set the clock (not the Sessionizer) exactly at the next session horizon, so that the
        next feed or advance lands on the 24 h boundary itself."""
        upcoming = [
            self.model.horizon(s)
            for s in self.model.sessions.values()
            if self.model.horizon(s) > self.t
        ]
        if upcoming:
            self.t = min(upcoming)

    @rule(data=st.data(), early=st.booleans())
    def feed_again_at_a_horizon(self, data: st.DataObject, early: bool) -> None:
        """Feed an event id of a session again exactly at its horizon (or 1 µs before): the
        last moment it is remembered, and the first it is forgotten."""
        candidates = [
            (self.model.horizon(s), s.scope, event_id)
            for s in self.model.sessions.values()
            if self.model.horizon(s) - (US if early else timedelta(0)) >= self.t
            for event_id in s.events
        ]
        if not candidates:
            return
        horizon, scope, event_id = data.draw(st.sampled_from(sorted(candidates)))
        self.t = horizon - (US if early else timedelta(0))
        fields = {**data.draw(event_fields(self.ids)), "id": event_id, "scope": scope}
        self._feed(Event(at=self.t, **fields))  # type: ignore[arg-type]

    @rule(data=st.data(), before=st.sampled_from([timedelta(0), US]))
    def ask_session_of(self, data: st.DataObject, before: timedelta) -> None:
        """``session_of`` names the session of exactly the events the model remembers, at the
        clock (often a horizon) and a microsecond before it; never one it has not seen."""
        now = self.model.now
        if now is None or self.t - before < now:
            return
        known = sorted(self.model.session_of_event)
        scope, event_id = data.draw(st.sampled_from([*known, ("", "never-fed")]))
        at = self.t - before
        remembered = self.model.remembered(scope, event_id, at)
        expected = remembered.id if remembered is not None else None
        assert self.sessionizer.session_of(event_id, scope, at) == expected
        if at == now:
            assert self.sessionizer.session_of(event_id, scope) == expected

    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        self.t += data.draw(gaps(self.grouping))
        expected = self.model.advance(self.t)
        closed = self.sessionizer.advance(self.t)
        assert tuple(closing(c) for c in closed) == expected.closed
        self.assembly.close(closed)

    def _feed(self, event: Event) -> None:
        expected = self.model.feed(event)
        try:
            assignment = self.sessionizer.feed(event)
        except RejectedEventError as error:
            event_(f"rejected: {error.reason}")
            assert expected == Outcome("rejected", reason=error.reason), (event, error)
            assert error.event is event
            return
        assert outcome_of(assignment) == expected, event
        event_(f"assigned: {assignment.rule.value}")
        if event.parent_id is not None and not assignment.duplicate:
            inside = assignment.thread_parent_id == event.parent_id
            event_(f"parent link {'inside' if inside else 'outside'} the session")
        self.assembly.record(assignment)
        self.ids.append(event.id)

    @invariant()
    def same_time(self) -> None:
        assert self.sessionizer.now == self.model.now

    @invariant()
    def same_sessions(self) -> None:
        """Headers, events, statuses and thread parents agree with the model's."""
        sessions = self.assembly.sessions()
        assert [(s.scope, s.id) for s in sessions] == list(self.model.sessions)
        for session in sessions:
            ref = self.model.sessions[(session.scope, session.id)]
            assert (session.header.id if session.header else None) == ref.header_id
            assert [e.id for e in session.events] == ref.events
            now = self.model.now
            assert now is not None
            is_closed = self.model.is_closed(ref, now)
            assert (session.status is SessionStatus.CLOSED) == is_closed
            assert self.sessionizer.is_closed(session.id, session.scope) == is_closed
            parents: dict[str, str | None] = {n.event.id: None for n in session.roots}
            for root in session.roots:
                for _, node in root.walk():
                    for child in node.children:
                        parents[child.event.id] = node.event.id
            assert parents == ref.thread_parents


TestSessionizerMachine = SessionizerMachine.TestCase
# Stateful runs are cheap and find the rarest boundaries (an id reused exactly at its horizon)
# only with many examples: three times the profile's count.
TestSessionizerMachine.settings = settings(
    max_examples=3 * settings().max_examples, stateful_step_count=40
)
