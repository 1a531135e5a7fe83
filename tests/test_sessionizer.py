"""Scenarios for every rule of docs/rules.md, at every boundary."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionkit import (
    CloseReason,
    Event,
    GroupingRule,
    OutOfOrderError,
    Participant,
    ParticipantKind,
    RefusedEventError,
    Rules,
    SessionClosedError,
    SessionIdConflictError,
    Sessionizer,
    derive_session_id,
)
from sessionkit.testing import strategies as sk
from tests.helpers import AGENT, ALICE, BOB, LLM, TOOL, US, at, ev
from tests.strategies import rules_strategy

DAY = timedelta(hours=24)
WINDOW = timedelta(seconds=45)


class TestDuplicates:
    """Rule 1: a remembered event id is a duplicate and changes nothing."""

    def test_duplicate_returns_the_original_session(self) -> None:
        """Feeding the same id again reports its session, marked duplicate."""
        s = Sessionizer()
        first = s.feed(ev("q1", 0))
        again = s.feed(ev("q1", 10))
        assert again.duplicate
        assert again.rule is GroupingRule.DUPLICATE
        assert again.session_id == first.session_id
        assert not again.started

    def test_duplicate_does_not_move_time(self) -> None:
        """A duplicate with a later time leaves the current time where it was."""
        s = Sessionizer()
        s.feed(ev("q1", 0))
        s.feed(ev("q1", 100))
        assert s.now == at(0)
        assert s.feed(ev("q2", 50)).rule is GroupingRule.NEW_SESSION

    def test_duplicate_earlier_than_now_is_still_a_duplicate(self) -> None:
        """Rule 1 comes before rule 2: an old duplicate is not out of order."""
        s = Sessionizer()
        s.feed(ev("q1", 0))
        s.feed(ev("q2", 100, BOB))
        assert s.feed(ev("q1", 0)).duplicate

    def test_same_id_in_another_scope_is_not_a_duplicate(self) -> None:
        """Event ids live inside their scope."""
        s = Sessionizer()
        a = s.feed(ev("q1", 0, scope="a"))
        b = s.feed(ev("q1", 1, scope="b"))
        assert not b.duplicate
        assert b.started
        assert a.session_id != b.session_id

    def test_duplicate_of_an_ended_sessions_event(self) -> None:
        """An ended session's events stay remembered until its horizon."""
        s = Sessionizer()
        first = s.feed(ev("q1", 0, ends_session=True))
        again = s.feed(ev("q1", DAY - US))
        assert again.duplicate
        assert again.session_id == first.session_id

    def test_event_is_forgotten_exactly_at_the_horizon(self) -> None:
        """At last_input_at + idle_timeout the event is forgotten: no longer a duplicate."""
        s = Sessionizer()
        s.feed(ev("q1", 0))
        s.feed(ev("q2", 10))
        # q1's session last had input at 10 s, so q1 is remembered until 24 h + 10 s.
        assert s.feed(ev("q1", DAY + timedelta(seconds=10) - US)).duplicate
        with pytest.raises(SessionClosedError):
            # Forgotten, it would start its old session again: refused (rule 9).
            s.feed(ev("q1", DAY + timedelta(seconds=10)))

    def test_reused_id_that_did_not_start_a_session_starts_a_new_one(self) -> None:
        """A forgotten id that was not its session's first event is simply a new event."""
        s = Sessionizer()
        s.feed(ev("q1", 0))
        s.feed(ev("q2", 10))
        again = s.feed(ev("q2", DAY + timedelta(seconds=10)))
        assert again.started
        assert again.session_id == derive_session_id("", "q2")


class TestOrder:
    """Rule 2: time never goes back; equal times are fine."""

    def test_earlier_event_is_refused(self) -> None:
        """An event a microsecond before the current time raises OutOfOrderError."""
        s = Sessionizer()
        s.feed(ev("q1", 10))
        with pytest.raises(OutOfOrderError) as caught:
            s.feed(ev("q2", timedelta(seconds=10) - US))
        assert caught.value.event is not None
        assert caught.value.event.id == "q2"
        assert caught.value.now == at(10)
        assert "q2" in str(caught.value)
        assert at(10).isoformat() in str(caught.value)
        assert isinstance(caught.value, ValueError)

    def test_equal_times_keep_feed_order(self) -> None:
        """Events at the same instant are fine and are kept in the order fed."""
        s = Sessionizer()
        a = s.feed(ev("q1", 5))
        b = s.feed(ev("a1", 5, AGENT, user_id="alice"))
        c = s.feed(ev("q2", 5, BOB))
        assert b.session_id == a.session_id
        assert c.started

    def test_advance_cannot_go_back(self) -> None:
        """advance() to an earlier time raises OutOfOrderError naming both times."""
        s = Sessionizer()
        s.feed(ev("q1", 10))
        with pytest.raises(OutOfOrderError) as caught:
            s.advance(at(9))
        assert caught.value.event is None
        assert s.now == at(10)

    def test_events_in_other_time_zones_compare_as_instants(self) -> None:
        """Times are instants: an offset of +02:00 is compared correctly with UTC."""
        s = Sessionizer()
        s.feed(ev("q1", 0))
        plus2 = timezone(timedelta(hours=2))
        later = at(45).astimezone(plus2)
        assert later.hour == 11
        assert s.feed(Event(id="q2", at=later, initiator=ALICE)).rule is GroupingRule.JOIN_WINDOW

    def test_advance_refuses_a_naive_time(self) -> None:
        """advance() needs a timezone-aware datetime."""
        with pytest.raises(TypeError):
            Sessionizer().advance(at(0).replace(tzinfo=None))


class TestExplicitSessionIds:
    """Rule 3: a caller-given session id names its session."""

    def test_new_explicit_id_starts_a_session_with_exactly_that_id(self) -> None:
        """The first event naming a session id starts it, keeping the id."""
        a = Sessionizer().feed(ev("q1", 0, session_id="chat-7"))
        assert a.session_id == "chat-7"
        assert a.started
        assert a.rule is GroupingRule.EXPLICIT_ID

    def test_explicit_id_joins_across_users_and_gaps(self) -> None:
        """Any event naming an open session joins it, whoever sends it and however late."""
        s = Sessionizer()
        s.feed(ev("q1", 0, session_id="chat-7"))
        b = s.feed(ev("q2", DAY - US, BOB, session_id="chat-7"))
        assert b.session_id == "chat-7"
        assert b.rule is GroupingRule.EXPLICIT_ID
        assert not b.started

    def test_explicit_id_beats_the_window(self) -> None:
        """An explicit id starts its own session even within the user's window."""
        s = Sessionizer()
        first = s.feed(ev("q1", 0))
        second = s.feed(ev("q2", 1, session_id="chat-7"))
        assert second.session_id == "chat-7" != first.session_id

    def test_explicit_id_of_an_idle_session_is_refused_at_exactly_24h(self) -> None:
        """Exactly idle_timeout after the last input, the session is closed."""
        s = Sessionizer()
        s.feed(ev("q1", 0, session_id="chat-7"))
        with pytest.raises(SessionClosedError) as caught:
            s.feed(ev("q2", DAY, session_id="chat-7"))
        assert caught.value.session_id == "chat-7"
        assert caught.value.closed_at == at(DAY)
        assert "chat-7" in str(caught.value)
        assert "q2" in str(caught.value)

    def test_explicit_id_one_microsecond_before_24h_joins(self) -> None:
        """A microsecond before idle_timeout, the session is still open."""
        s = Sessionizer()
        s.feed(ev("q1", 0, session_id="chat-7"))
        assert not s.feed(ev("q2", DAY - US, session_id="chat-7")).started

    def test_closed_ids_are_refused_for_good(self) -> None:
        """Long after its events are forgotten, a closed session id is still refused."""
        s = Sessionizer()
        s.feed(ev("q1", 0, session_id="chat-7"))
        s.advance(at(DAY * 30))
        with pytest.raises(SessionClosedError):
            s.feed(ev("q2", DAY * 31, session_id="chat-7"))
        assert s.is_closed("chat-7")

    def test_explicit_ids_are_per_scope(self) -> None:
        """The same session id in two scopes names two sessions."""
        s = Sessionizer()
        s.feed(ev("q1", 0, session_id="chat-7", scope="a", ends_session=True))
        b = s.feed(ev("q2", 1, session_id="chat-7", scope="b"))
        assert b.started

    def test_explicit_id_may_name_an_implicit_session(self) -> None:
        """Sending an event with the id sessionkit gave an open session joins it."""
        s = Sessionizer()
        first = s.feed(ev("q1", 0))
        later = s.feed(ev("q2", 3600, session_id=first.session_id))
        assert later.session_id == first.session_id
        assert not later.started


class TestParentLinks:
    """Rule 4: a link to a remembered event joins its session."""

    def test_parent_link_joins_across_users_and_gaps(self) -> None:
        """A reply linked to a remembered event joins its session, past the window."""
        s = Sessionizer()
        q = s.feed(ev("q1", 0))
        r = s.feed(ev("r1", 3600, BOB, parent_id="q1"))
        assert r.session_id == q.session_id
        assert r.rule is GroupingRule.PARENT_LINK
        assert r.thread_parent_id == "q1"

    def test_unknown_parent_is_ignored_for_grouping(self) -> None:
        """An unknown parent falls through to the window rule."""
        s = Sessionizer()
        q = s.feed(ev("q1", 0))
        r = s.feed(ev("r1", 1, parent_id="nope"))
        assert r.rule is GroupingRule.JOIN_WINDOW
        assert r.session_id == q.session_id
        assert r.thread_parent_id == "q1"  # the header, since the parent is not in the session

    def test_forgotten_parent_is_ignored(self) -> None:
        """Past the parent session's horizon, the link is ignored and a new session starts."""
        s = Sessionizer()
        q = s.feed(ev("q1", 0))
        r = s.feed(ev("r1", DAY, BOB, parent_id="q1"))
        assert r.started
        assert r.session_id != q.session_id
        assert r.thread_parent_id is None

    def test_parent_in_an_ended_session_is_refused(self) -> None:
        """A reply to an event of an ended session is content for a closed session."""
        s = Sessionizer()
        q = s.feed(ev("q1", 0, ends_session=True))
        with pytest.raises(SessionClosedError) as caught:
            s.feed(ev("r1", 10, BOB, parent_id="q1"))
        assert caught.value.session_id == q.session_id
        assert caught.value.closed_at == at(0)

    def test_parent_in_another_scope_is_unknown(self) -> None:
        """Links never cross scopes."""
        s = Sessionizer()
        s.feed(ev("q1", 0, scope="a"))
        r = s.feed(ev("r1", 1, BOB, scope="b", parent_id="q1"))
        assert r.started

    def test_parent_arriving_after_its_childs_reference(self) -> None:
        """A child that names a parent not yet seen is not re-linked when the parent arrives."""
        s = Sessionizer()
        child = s.feed(ev("c1", 0, parent_id="p1"))
        parent = s.feed(ev("p1", 1))
        assert child.thread_parent_id is None
        assert parent.session_id == child.session_id
        assert parent.thread_parent_id == "c1"  # c1 is the header


class TestJoinWindow:
    """Rule 5: the same user key within the join window joins an open session."""

    def test_exactly_45_seconds_joins(self) -> None:
        """The window is inclusive."""
        s = Sessionizer()
        first = s.feed(ev("q1", 0))
        second = s.feed(ev("q2", WINDOW))
        assert second.rule is GroupingRule.JOIN_WINDOW
        assert second.session_id == first.session_id

    def test_one_microsecond_over_45_seconds_starts_a_new_session(self) -> None:
        """45 s and 1 µs is outside the window."""
        s = Sessionizer()
        first = s.feed(ev("q1", 0))
        second = s.feed(ev("q2", WINDOW + US))
        assert second.rule is GroupingRule.NEW_SESSION
        assert second.session_id != first.session_id

    def test_window_is_measured_from_the_latest_event(self) -> None:
        """A chain of prompts 40 s apart stays in one session."""
        s = Sessionizer()
        ids = {s.feed(ev(f"q{i}", 40 * i)).session_id for i in range(10)}
        assert len(ids) == 1

    def test_user_key_is_user_id_before_initiator(self) -> None:
        """An agent event with user_id joins its user's window."""
        s = Sessionizer()
        q = s.feed(ev("q1", 0))
        a = s.feed(ev("a1", 30, AGENT, user_id="alice"))
        assert a.session_id == q.session_id

    def test_other_users_do_not_join(self) -> None:
        """Different user keys start different sessions."""
        s = Sessionizer()
        a = s.feed(ev("q1", 0))
        b = s.feed(ev("q2", 1, BOB))
        assert b.started and a.session_id != b.session_id

    def test_every_accepted_event_moves_the_window(self) -> None:
        """An event joined by parent link still becomes its user's latest event."""
        s = Sessionizer()
        bobs = s.feed(ev("b1", 0, BOB))
        s.feed(ev("a1", 100, ALICE))
        linked = s.feed(ev("a2", 200, ALICE, parent_id="b1"))
        follow = s.feed(ev("a3", 240, ALICE))
        assert linked.session_id == bobs.session_id
        assert follow.session_id == bobs.session_id

    def test_window_does_not_join_an_ended_session(self) -> None:
        """Within the window, but the session ended: a new session starts."""
        s = Sessionizer()
        first = s.feed(ev("q1", 0, ends_session=True))
        second = s.feed(ev("q2", 1))
        assert second.started and second.session_id != first.session_id

    def test_window_longer_than_idle_timeout_cannot_reopen(self) -> None:
        """With a window over the timeout, an idle session still stays closed."""
        s = Sessionizer(Rules(join_window=timedelta(hours=2), idle_timeout=timedelta(hours=1)))
        first = s.feed(ev("q1", 0))
        second = s.feed(ev("q2", 3600))
        assert second.started and second.session_id != first.session_id
        assert [c.id for c in second.closed] == [first.session_id]

    def test_window_is_per_scope(self) -> None:
        """The same user in two scopes has two windows."""
        s = Sessionizer()
        a = s.feed(ev("q1", 0, scope="a"))
        b = s.feed(ev("q2", 1, scope="b"))
        assert b.started and a.session_id != b.session_id


class TestHeaders:
    """Rule 6: the first event is the header if a user or an agent sent it."""

    @pytest.mark.parametrize(
        ("who", "is_header"), [(ALICE, True), (AGENT, True), (LLM, False), (TOOL, False)]
    )
    def test_header_by_initiator_kind(self, who: object, is_header: bool) -> None:
        """Users and agents make headers; LLMs and tools do not."""
        a = Sessionizer().feed(ev("e1", 0, who))  # type: ignore[arg-type]
        assert a.header is is_header

    def test_headerless_session_stays_headerless(self) -> None:
        """A later user event does not become the header, and is a root."""
        s = Sessionizer()
        s.feed(ev("t1", 0, TOOL, user_id="alice"))
        q = s.feed(ev("q1", 1))
        assert not q.header
        assert q.thread_parent_id is None

    def test_header_kinds_are_configurable(self) -> None:
        """With header_kinds={USER}, an agent's first event is no header."""
        s = Sessionizer(Rules(header_kinds={ALICE.kind}))
        assert not s.feed(ev("a1", 0, AGENT)).header


class TestClosing:
    """Rule 7: idle sessions close at exactly idle_timeout; ended sessions close at once."""

    def test_advance_to_exactly_24h_closes(self) -> None:
        """advance() to last_input_at + idle_timeout closes the session as idle."""
        s = Sessionizer()
        q = s.feed(ev("q1", 0))
        s.feed(ev("q2", 10))
        assert s.advance(at(DAY + timedelta(seconds=10) - US)) == ()
        closed = s.advance(at(DAY + timedelta(seconds=10)))
        assert [(c.id, c.close_reason, c.closed_at) for c in closed] == [
            (q.session_id, CloseReason.IDLE, at(DAY + timedelta(seconds=10)))
        ]
        assert closed[0].event_count == 2
        assert closed[0].header_id == "q1"

    def test_closed_at_is_the_horizon_not_the_time_noticed(self) -> None:
        """A session noticed closed much later still reports last_input_at + idle_timeout."""
        s = Sessionizer()
        s.feed(ev("q1", 0))
        (closed,) = s.advance(at(DAY * 5))
        assert closed.closed_at == at(DAY)

    def test_feed_reports_idle_closings_before_its_own(self) -> None:
        """The sessions that went idle by an event's time come in its assignment, in order."""
        s = Sessionizer()
        a = s.feed(ev("q1", 0))
        b = s.feed(ev("q2", 5, BOB))
        c = s.feed(ev("q3", DAY + timedelta(seconds=5), ends_session=True))
        assert [(x.id, x.close_reason) for x in c.closed] == [
            (a.session_id, CloseReason.IDLE),
            (b.session_id, CloseReason.IDLE),
            (c.session_id, CloseReason.ENDED),
        ]

    def test_ended_session_closes_at_the_ending_event(self) -> None:
        """ends_session closes the session right after the event, at its time."""
        s = Sessionizer()
        s.feed(ev("q1", 0))
        end = s.feed(ev("q2", 10, ends_session=True))
        (closed,) = end.closed
        assert closed.close_reason is CloseReason.ENDED
        assert closed.closed_at == at(10)
        assert s.is_closed(end.session_id)
        with pytest.raises(SessionClosedError):
            s.feed(ev("q3", 11, session_id=end.session_id))

    def test_ended_session_is_not_reported_again_at_its_horizon(self) -> None:
        """An ended session is reported once; forgetting its events later reports nothing."""
        s = Sessionizer()
        s.feed(ev("q1", 0, ends_session=True))
        assert s.advance(at(DAY * 2)) == ()
        assert s.remembered_event_count == 0

    def test_a_single_prompt_is_a_session_of_one(self) -> None:
        """An ending event with no session starts one and closes it."""
        a = Sessionizer().feed(ev("q1", 0, ends_session=True))
        assert a.started and a.header
        assert [c.event_count for c in a.closed] == [1]


class TestRejectionChangesNothing:
    """Rule 8: a refused event leaves the Sessionizer as it was."""

    def test_refused_event_does_not_move_time_or_windows(self) -> None:
        """After a SessionClosedError, the same stream continues as if it never came."""
        s = Sessionizer()
        s.feed(ev("q1", 0, session_id="x", ends_session=True))
        first = s.feed(ev("q2", 1))
        with pytest.raises(SessionClosedError):
            s.feed(ev("q3", 100, session_id="x"))
        assert s.now == at(1)
        # q3 was not remembered, did not move alice's window, and did not close anything.
        follow = s.feed(ev("q3", 46))
        assert follow.rule is GroupingRule.JOIN_WINDOW
        assert follow.session_id == first.session_id

    def test_refused_event_with_a_late_time_does_not_close_sessions(self) -> None:
        """A refused event 24 h later closes nothing: time did not move."""
        s = Sessionizer()
        s.feed(ev("q1", 0, session_id="x", ends_session=True))
        s.feed(ev("q2", 1))
        with pytest.raises(SessionClosedError):
            s.feed(ev("q3", DAY * 2, session_id="x"))
        assert s.open_session_count == 1
        assert s.feed(ev("q4", 2)).rule is GroupingRule.JOIN_WINDOW


class TestSessionIds:
    """Rule 9: implicit ids are a pure function of scope and first event id."""

    def test_golden_ids(self) -> None:
        """The derivation is pinned: these ids must never change."""
        assert derive_session_id("", "q1") == "b314942d-cd93-537a-8e75-11f3eaa41162"
        assert derive_session_id("tenant-a", "q1") == "374065e3-1a37-54e5-90fb-f7a8150ac945"

    def test_implicit_session_gets_the_derived_id(self) -> None:
        """A new implicit session's id is derive_session_id(scope, first event id)."""
        a = Sessionizer().feed(ev("q1", 0, scope="tenant-a"))
        assert a.session_id == derive_session_id("tenant-a", "q1")

    def test_derived_id_taken_by_an_open_explicit_session_is_a_conflict(self) -> None:
        """A caller who names a session with another event's derived id gets a clear error."""
        s = Sessionizer()
        s.feed(ev("q1", 0, session_id=derive_session_id("", "q2")))
        with pytest.raises(SessionIdConflictError) as caught:
            s.feed(ev("q2", 100, BOB))
        assert caught.value.session_id == derive_session_id("", "q2")


class TestMemory:
    """Rule 10: events are forgotten at their session's horizon and cost nothing after."""

    def test_nothing_is_remembered_after_every_horizon(self) -> None:
        """Once every session is past its horizon, only closed ids remain."""
        s = Sessionizer()
        for i in range(50):
            s.feed(ev(f"q{i}", i * 60, ALICE if i % 2 else BOB, parent_id=f"q{i - 1}"))
        assert s.remembered_event_count == 50
        s.advance(at(DAY * 3))
        assert s.remembered_event_count == 0
        assert s.open_session_count == 0
        assert s.closed_session_count == 1


class TestThreads:
    """Rule 11: thread parents, with the header on top."""

    def test_reply_to_an_earlier_event_of_the_session(self) -> None:
        """A parent link inside the session makes a thread parent."""
        s = Sessionizer()
        s.feed(ev("q1", 0))
        s.feed(ev("a1", 1, AGENT, user_id="alice", parent_id="q1"))
        l1 = s.feed(ev("l1", 2, LLM, user_id="alice", parent_id="a1"))
        assert l1.thread_parent_id == "a1"

    def test_unlinked_events_hang_under_the_header(self) -> None:
        """Without a usable link, the header is the thread parent."""
        s = Sessionizer()
        s.feed(ev("q1", 0))
        assert s.feed(ev("q2", 10)).thread_parent_id == "q1"

    def test_parent_in_another_session_is_not_a_thread_parent(self) -> None:
        """An explicit id wins over the link; the link is then not a thread edge."""
        s = Sessionizer()
        s.feed(ev("q1", 0))
        s.feed(ev("x1", 1, BOB, session_id="x"))
        r = s.feed(ev("r1", 2, BOB, session_id="x", parent_id="q1"))
        assert r.thread_parent_id == "x1"


class TestMemoryIsGivenBack:
    """Once sessions close, the working state is what is open: nothing of the closed remains."""

    def test_latest_entries_go_with_their_sessions_while_the_scope_stays_busy(self) -> None:
        """A heartbeat keeps the scope alive; the other users' rule-5 entries still go."""
        sessionizer = Sessionizer()
        for n in range(2000):
            sessionizer.feed(ev(f"q{n}", n * 0.001, Participant(ParticipantKind.USER, f"u{n}")))
        for n in range(3 * 24 * 120):  # three days, a prompt every 30 s
            sessionizer.feed(ev(f"beat{n}", 10 + n * 30, Participant(ParticipantKind.USER, "hb")))
        (scope,) = sessionizer._scopes.values()  # the working state itself: what memory holds
        assert set(scope.latest) == {"hb"}
        assert len(scope.sessions) == 1 and sessionizer.open_session_count == 1
        assert len(sessionizer._by_horizon) == 1


PARIS = ZoneInfo("Europe/Paris")


def outcome_of(sessionizer: Sessionizer, event: Event) -> object:
    """What feeding ``event`` decides, without the event itself: its placement or the error."""
    try:
        return tuple(sessionizer.feed(event))[1:]
    except RefusedEventError as error:
        return type(error).__name__


class TestTimeZones:
    """Times in any zone are instants: in a zone with daylight saving time, 24 h of idle are 24
    hours, and the hour that repeats in autumn goes forward."""

    def test_the_idle_timeout_counts_real_hours_across_the_spring_change(self) -> None:
        # Paris moves from +01:00 to +02:00 on 29 March 2026: noon to 13:00 is 24 hours.
        start = datetime(2026, 3, 28, 12, 0, tzinfo=PARIS)
        just_before = datetime(2026, 3, 29, 12, 59, 59, tzinfo=PARIS)
        for later, opens in ((just_before, True), (just_before + timedelta(seconds=1), False)):
            s = Sessionizer()
            s.feed(attrs.evolve(ev("q1", 0, session_id="s1"), at=start))
            if opens:
                assert (
                    s.feed(attrs.evolve(ev("q2", 0, session_id="s1"), at=later)).session_id == "s1"
                )
            else:
                with pytest.raises(SessionClosedError):
                    s.feed(attrs.evolve(ev("q2", 0, session_id="s1"), at=later))

    def test_the_hour_that_repeats_in_autumn_goes_forward(self) -> None:
        # Paris moves from +02:00 to +01:00 on 25 October 2026: 02:30 (the first) comes before
        # 02:10 (the second), forty minutes later.
        first = datetime(2026, 10, 25, 2, 30, tzinfo=PARIS)
        second = datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=PARIS)
        s = Sessionizer()
        s.feed(attrs.evolve(ev("q1"), at=first))
        assert s.feed(attrs.evolve(ev("q2"), at=second)).rule is GroupingRule.NEW_SESSION
        assert s.now == datetime(2026, 10, 25, 1, 10, tzinfo=timezone.utc)
        assert s.advance(second.replace(second=1)) == ()  # still the second 02:10

    @settings(max_examples=300, deadline=None)
    @given(
        rules_strategy,
        st.sampled_from(["Europe/Paris", "America/New_York"]),
        st.sampled_from(  # when the two zones' clocks change in 2026, in UTC
            [
                datetime(2026, 3, 8, 7),
                datetime(2026, 3, 29, 1),
                datetime(2026, 10, 25, 1),
                datetime(2026, 11, 1, 6),
            ]
        ),
        st.data(),
    )
    def test_a_stream_in_any_zone_is_grouped_as_in_utc(
        self, rules: Rules, zone: str, change: datetime, data: st.DataObject
    ) -> None:
        start = change.replace(tzinfo=timezone.utc) - rules.idle_timeout / 2
        events = data.draw(sk.streams(rules, max_size=30, scopes=2, start=start))
        utc, zoned = Sessionizer(rules), Sessionizer(rules)
        where = ZoneInfo(zone)
        for event in events:
            local = attrs.evolve(event, at=event.at.astimezone(where))
            assert outcome_of(zoned, local) == outcome_of(utc, event)
        assert zoned.now == utc.now
        assert zoned.open_sessions() == utc.open_sessions()
