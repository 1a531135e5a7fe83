"""sessionkit.testing: the Conversation builder and assert_sessions."""

from __future__ import annotations

import importlib.metadata
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import Event, Participant, ParticipantKind, Rules, Sessionizer
from sessionkit.testing import START, Conversation, assert_sessions


class TestConversation:
    def test_ids_are_numbered_per_kind_and_times_move_forward(self) -> None:
        """Prompts are q1, q2; calls llm1, tool1, mem1; after= moves the clock first."""
        c = Conversation()
        q1 = c.ask("alice", "hi")
        llm = c.llm(q1, after=1.5)
        tool = c.tool(q1, after=1)
        mem = c.memory(q1)
        q2 = c.ask("bob", after=10)
        assert [e.id for e in c] == ["q1", "llm1", "tool1", "mem1", "q2"]
        assert [e.at - START for e in c.events] == [
            timedelta(0),
            timedelta(seconds=1.5),
            timedelta(seconds=2.5),
            timedelta(seconds=2.5),
            timedelta(seconds=12.5),
        ]
        assert (llm.target, tool.target, mem.target) != (None, None, None)
        assert q2.initiator.kind is ParticipantKind.USER

    def test_calls_link_to_their_prompt_and_act_for_its_user(self) -> None:
        """An agent's call has the prompt as parent and the prompt's user key, and its scope."""
        c = Conversation()
        q1 = c.ask("alice", scope="tenant-b")
        call = c.llm(q1)
        assert call.parent_id == "q1"
        assert call.user_key == "alice"
        assert call.scope == "tenant-b"
        assert call.initiator.kind is ParticipantKind.AGENT

    def test_the_clock_never_goes_back(self) -> None:
        """A negative wait is refused."""
        with pytest.raises(ValueError, match="forward"):
            Conversation().wait(-1)

    def test_given_ids_and_fields(self) -> None:
        """id=, session_id=, ends= and start= are honoured."""
        c = Conversation(start=START + timedelta(days=1), scope="s")
        e = c.ask("alice", id="custom", session_id="chat", ends=True)
        assert (e.id, e.session_id, e.ends_session, e.scope) == ("custom", "chat", True, "s")
        assert e.at == START + timedelta(days=1)


class TestAssertSessions:
    def conversation(self) -> Conversation:
        c = Conversation()
        q1 = c.ask("alice")
        c.llm(q1, after=1)
        c.ask("alice", after=60)
        return c

    def test_passes_on_the_right_grouping(self) -> None:
        """The right sessions, in order, pass; so do the right headers."""
        assert_sessions(self.conversation(), [["q1", "llm1"], ["q2"]], headers=["q1", "q2"])

    def test_fails_with_both_groupings_and_the_rule_that_decided(self) -> None:
        """A wrong grouping names the event that went elsewhere, its rule and its gap."""
        with pytest.raises(AssertionError) as failure:
            assert_sessions(self.conversation(), [["q1", "llm1", "q2"]])
        message = str(failure.value)
        assert "expected" in message
        assert "actual" in message
        assert "q1, llm1, q2" in message
        assert "q2: started a session by new_session; 60 s after llm1 (user 'alice')" in message
        assert "llm1:" not in message  # it went where expected

    def test_rules_are_applied(self) -> None:
        """With a two-minute window, the prompt a minute later joins."""
        rules = Rules(join_window=timedelta(minutes=2))
        assert_sessions(self.conversation(), [["q1", "llm1", "q2"]], rules=rules)

    def test_wrong_headers_fail(self) -> None:
        """headers= is checked when the grouping is right."""
        with pytest.raises(AssertionError, match="headers differ"):
            assert_sessions(self.conversation(), [["q1", "llm1"], ["q2"]], headers=["q1", None])

    def test_thread_shapes(self) -> None:
        """threads= checks the children of the events it names, in order."""
        c = Conversation()
        q1 = c.ask("alice")
        llm = c.llm(q1, after=1)
        c.tool(q1, after=1)
        c.add(c.agent, prefix="a", parent=llm, user="alice", after=1)
        assert_sessions(c, [["q1", "llm1", "tool1", "a1"]], threads={"q1": ["llm1", "tool1"]})
        assert_sessions(c, [["q1", "llm1", "tool1", "a1"]], threads={"llm1": ["a1"]})
        with pytest.raises(AssertionError, match="thread children of q1 differ"):
            assert_sessions(c, [["q1", "llm1", "tool1", "a1"]], threads={"q1": ["llm1"]})

    def test_refused_and_duplicate_events(self) -> None:
        """Duplicates are left out; refused events are listed with their reason."""
        c = Conversation()
        c.ask("alice", session_id="s", ends=True)
        c.ask("alice", id="q1", after=1)  # a duplicate of q1
        c.ask("alice", session_id="s", after=1)  # q2, refused: s has ended
        assert_sessions(c, [["q1"]])
        with pytest.raises(AssertionError) as failure:
            assert_sessions(c, [["q1", "q2"]])
        assert "q2: refused (session_closed)" in str(failure.value)


class TestPytestPlugin:
    """The plugin is opt-in; its fixtures take the test's rules."""

    TEST = """
from datetime import timedelta

import pytest

from sessionkit import GroupingRule
from sessionkit.testing import START


def test_defaults(sessionkit_sessionizer, sessionkit_conversation):
    q1 = sessionkit_conversation.ask("alice")
    assert sessionkit_sessionizer.feed(q1).started
    assert sessionkit_sessionizer.rules.join_window == timedelta(seconds=45)


@pytest.mark.sessionkit_rules(join_window=timedelta(minutes=2))
def test_marker(sessionkit_sessionizer, sessionkit_tracker, sessionkit_conversation):
    first = sessionkit_conversation.ask("alice")
    later = sessionkit_conversation.ask("alice", after=100)
    for group in (sessionkit_sessionizer.feed, sessionkit_tracker.track):
        group(first)
        assert group(later).rule is GroupingRule.JOIN_WINDOW
    assert sessionkit_tracker.store.session_of(later.id) is not None
"""

    def test_not_loaded_unless_asked(self, pytester: pytest.Pytester) -> None:
        """Installing sessionkit adds no fixture to other projects' test runs."""
        pytester.makepyfile(self.TEST)
        result = pytester.runpytest_subprocess()
        result.assert_outcomes(errors=2)
        result.stdout.fnmatch_lines(["*fixture 'sessionkit_sessionizer' not found*"])

    def test_fixtures_with_the_plugin(self, pytester: pytest.Pytester) -> None:
        """With ``-p sessionkit.testing.plugin`` the fixtures work, and the marker sets rules."""
        pytester.makepyfile(self.TEST)
        result = pytester.runpytest_subprocess("-p", "sessionkit.testing.plugin")
        result.assert_outcomes(passed=2)

    def test_rules_fixture_can_be_overridden(self, pytester: pytest.Pytester) -> None:
        """A conftest's own ``sessionkit_rules`` fixture reaches every sessionkit fixture."""
        pytester.makeconftest(
            """
from datetime import timedelta

import pytest

from sessionkit import Rules

pytest_plugins = ["sessionkit.testing.plugin"]


@pytest.fixture
def sessionkit_rules():
    return Rules(join_window=timedelta(seconds=5))
"""
        )
        pytester.makepyfile(
            """
from datetime import timedelta


def test_rules(sessionkit_sessionizer, sessionkit_tracker):
    for rules in (sessionkit_sessionizer.rules, sessionkit_tracker.sessionizer.rules):
        assert rules.join_window == timedelta(seconds=5)
"""
        )
        pytester.runpytest_subprocess().assert_outcomes(passed=1)


class TestHypothesisRegistration:
    """Installing sessionkit teaches Hypothesis its types (the ``hypothesis`` entry point)."""

    @given(st.from_type(Event), st.from_type(Participant), st.from_type(Rules))
    def test_from_type_draws_sessionkit_values(
        self, event: Event, participant: Participant, rules: Rules
    ) -> None:
        """st.from_type gives valid values that a Sessionizer under those rules accepts."""
        assert isinstance(event, Event) and isinstance(participant, Participant)
        assert Sessionizer(rules).feed(event).started

    def test_the_entry_point_is_declared(self) -> None:
        """The installed package names its setup hook in the ``hypothesis`` group."""
        points = importlib.metadata.entry_points(group="hypothesis")
        (hook,) = [point for point in points if point.name == "sessionkit"]
        assert hook.value == "sessionkit.testing._hypothesis:_hypothesis_setup_hook"
