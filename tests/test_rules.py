"""Rules: validation and the implicit session id function."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import (
    PRECEDENCE,
    SESSION_ID_NAMESPACE,
    Event,
    GroupingRule,
    InvalidRulesError,
    OutOfOrderError,
    Participant,
    ParticipantKind,
    Rule,
    Rules,
    SessionClosedError,
    SessionIdConflictError,
    Sessionizer,
    derive_session_id,
)
from sessionkit._rules import (
    horizon,
    in_join_window,
    is_open_at,
    is_remembered_at,
    user_key,
)
from sessionkit._sessionizer import _Summary
from tests.helpers import US


class TestRules:
    def test_defaults(self) -> None:
        """45 s window, 24 h timeout, users and agents make headers."""
        rules = Rules()
        assert rules.join_window == timedelta(seconds=45)
        assert rules.idle_timeout == timedelta(hours=24)
        assert rules.header_kinds == {ParticipantKind.USER, ParticipantKind.AGENT}

    @pytest.mark.parametrize("bad", [timedelta(0), timedelta(seconds=-1)])
    @pytest.mark.parametrize("name", ["join_window", "idle_timeout"])
    def test_durations_must_be_positive(self, name: str, bad: timedelta) -> None:
        """Zero and negative durations are refused, naming the field."""
        with pytest.raises(InvalidRulesError, match=name):
            Rules(**{name: bad})  # type: ignore[arg-type]

    def test_durations_must_be_timedeltas(self) -> None:
        """A number of seconds is not a duration."""
        with pytest.raises(InvalidRulesError, match="join_window"):
            Rules(join_window=45)  # type: ignore[arg-type]

    def test_header_kinds_accept_any_iterable(self) -> None:
        """A list of kinds becomes a frozenset."""
        rules = Rules(header_kinds=[ParticipantKind.USER])
        assert rules.header_kinds == frozenset({ParticipantKind.USER})

    def test_header_kinds_must_be_kinds(self) -> None:
        """A string is not a ParticipantKind."""
        with pytest.raises(InvalidRulesError, match="header_kinds"):
            Rules(header_kinds={"user"})  # type: ignore[arg-type]

    def test_rules_are_frozen(self) -> None:
        """Rules cannot be changed after construction."""
        with pytest.raises(AttributeError):
            Rules().join_window = timedelta(1)  # type: ignore[misc]


class TestDeriveSessionId:
    @given(scope=st.text(), event_id=st.text(min_size=1))
    def test_equals_uuid5_of_the_documented_name(self, scope: str, event_id: str) -> None:
        """The fast derivation equals uuid.uuid5 on the documented name, for any text."""
        expected = uuid.uuid5(SESSION_ID_NAMESPACE, f"{len(scope)}:{scope}{event_id}")
        assert derive_session_id(scope, event_id) == str(expected)

    def test_lone_surrogates_are_hashed_not_refused(self) -> None:
        """Ids decoded from broken JSON may hold lone surrogates; they still get an id."""
        assert derive_session_id("", "\ud800") != derive_session_id("", "\ud801")

    def test_scope_and_id_cannot_be_confused(self) -> None:
        """Moving characters between scope and id changes the id (length prefix)."""
        assert derive_session_id("a", "bc") != derive_session_id("ab", "c")

    def test_namespace_is_pinned(self) -> None:
        """Changing the namespace would change every implicit session id."""
        assert str(SESSION_ID_NAMESPACE) == "6f1c3a52-5d0e-4c1b-9a53-0b7e6f6f2d11"


times = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 1, 10), timezones=st.just(timezone.utc)
)
durations = st.timedeltas(min_value=US, max_value=timedelta(days=2))
# Offsets from an interesting instant, landing on it and a microsecond either side often.
nudges = st.sampled_from([-US, timedelta(0), US]) | st.timedeltas(
    min_value=-timedelta(days=3), max_value=timedelta(days=3)
)


@st.composite
def rules_and_times(draw: st.DrawFn) -> tuple[Rules, datetime, datetime]:
    """Rules, a last input, and a time near its horizon or its join window."""
    rules = Rules(join_window=draw(durations), idle_timeout=draw(durations))
    last = draw(times)
    anchor = draw(st.sampled_from([rules.idle_timeout, rules.join_window, timedelta(0)]))
    return rules, last, last + anchor + draw(nudges)


class TestDefinitions:
    """Every form of a definition the Sessionizer writes out inline agrees with _rules.py."""

    @given(rules_and_times(), st.booleans())
    def test_open_and_remembered_agree_with_the_summary(
        self, case: tuple[Rules, datetime, datetime], ended: bool
    ) -> None:
        """``_Summary.is_open_at``/``is_remembered_at`` (horizon cached) are the definitions."""
        rules, last, at = case
        summary = _Summary("s", "", False, None, last, horizon(last, rules))
        summary.ended_at = last if ended else None
        assert summary.is_open_at(at) is is_open_at(last, summary.ended_at, at, rules)
        assert summary.is_remembered_at(at) is is_remembered_at(last, at, rules)

    @given(rules_and_times(), st.booleans())
    def test_feed_joins_exactly_when_the_definitions_say(
        self, case: tuple[Rules, datetime, datetime], ends: bool
    ) -> None:
        """A second prompt of the same user joins the first's session (rule 5) exactly when it
        is in the join window and the session is open at its time."""
        rules, last, at = case
        if at < last:
            return
        sessionizer = Sessionizer(rules)
        ann = Participant(ParticipantKind.USER, "ann")
        first = sessionizer.feed(Event(id="q1", at=last, initiator=ann, ends_session=ends))
        ended_at = last if ends else None
        second = sessionizer.feed(Event(id="q2", at=at, initiator=ann))
        joins = in_join_window(last, at, rules) and is_open_at(last, ended_at, at, rules)
        assert (second.session_id == first.session_id) is joins
        assert (second.rule is GroupingRule.JOIN_WINDOW) is joins
        again = sessionizer.feed(Event(id="q1", at=at, initiator=ann))
        assert again.duplicate is (joins or is_remembered_at(last, at, rules))

    @given(rules_and_times())
    def test_the_horizon_closes_the_session(self, case: tuple[Rules, datetime, datetime]) -> None:
        """``advance`` closes a session exactly from its horizon on, with that time."""
        rules, last, at = case
        if at < last:
            return
        sessionizer = Sessionizer(rules)
        sessionizer.feed(
            Event(id="q1", at=last, initiator=Participant(ParticipantKind.USER, "ann"))
        )
        closed = sessionizer.advance(at)
        assert bool(closed) is not is_open_at(last, None, at, rules)
        assert [c.closed_at for c in closed] == ([horizon(last, rules)] if closed else [])

    @given(
        st.text(min_size=1),
        st.none() | st.text(min_size=1),
    )
    def test_user_key(self, initiator: str, user_id: str | None) -> None:
        """``Event.user_key`` is ``_rules.user_key``."""
        event = Event(
            id="e",
            at=datetime(2026, 1, 1, tzinfo=timezone.utc),
            initiator=Participant(ParticipantKind.AGENT, initiator),
            user_id=user_id,
        )
        assert event.user_key == user_key(event) == (user_id or initiator)


class TestPrecedence:
    def test_steps_in_the_order_of_the_spec(self) -> None:
        """The table lists the deciding rules in docs/rules.md's order, each once."""
        numbers = [int(step.rule) for step in PRECEDENCE]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        assert [step.decides for step in PRECEDENCE if step.decides] == [
            GroupingRule.DUPLICATE,
            GroupingRule.EXPLICIT_ID,
            GroupingRule.PARENT_LINK,
            GroupingRule.JOIN_WINDOW,
            GroupingRule.NEW_SESSION,
        ]

    def test_refusal_reasons_are_the_errors(self) -> None:
        """Each step's refusal codes are the reasons of the errors that rule raises."""
        refusing = {step.rule: step.refuses for step in PRECEDENCE if step.refuses}
        assert refusing == {
            Rule.ORDER: OutOfOrderError.reason,
            Rule.EXPLICIT_ID: SessionClosedError.reason,
            Rule.PARENT_LINK: SessionClosedError.reason,
            Rule.SESSION_IDS: f"{SessionClosedError.reason}, {SessionIdConflictError.reason}",
        }

    def test_rules_round_trip_through_json(self) -> None:
        """to_json and from_json are inverse, durations to the microsecond."""
        rules = Rules(
            join_window=timedelta(seconds=45, microseconds=1),
            idle_timeout=timedelta(hours=3),
            header_kinds={ParticipantKind.TOOL},
        )
        assert Rules.from_json(rules.to_json()) == rules
        assert rules.to_json()["join_window_us"] == 45_000_001
