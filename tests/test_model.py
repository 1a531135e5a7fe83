"""The value types: construction, validation and immutability."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import (
    EARLIEST,
    LATEST,
    Event,
    EventFields,
    GroupingRule,
    InvalidEventError,
    Participant,
    ParticipantKind,
    Rule,
    Rules,
    Sessionizer,
    ThreadNode,
    sessionize,
)
from tests.helpers import AGENT, ALICE, T0, at, ev


class TestParticipant:
    def test_participant_is_frozen_and_hashable(self) -> None:
        """Participants are values: equal by content, usable as keys, not changeable."""
        assert Participant(ParticipantKind.USER, "alice") == ALICE
        assert len({ALICE, Participant(ParticipantKind.USER, "alice")}) == 1
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            ALICE.id = "bob"  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("kind", "id", "field"),
        [
            (ParticipantKind.USER, "", "id"),
            ("user", "alice", "kind"),
            (ParticipantKind.LLM, 7, "id"),
        ],
    )
    def test_bad_participants_are_refused(self, kind: Any, id: Any, field: str) -> None:
        """An empty id or a kind that is not a ParticipantKind raises InvalidEventError."""
        with pytest.raises(InvalidEventError) as caught:
            Participant(kind, id)
        assert caught.value.subject == "participant"
        assert caught.value.field == field


class TestEvent:
    def test_minimal_event_has_documented_defaults(self) -> None:
        """Only id, at and initiator are required."""
        e = Event(id="q1", at=T0, initiator=ALICE)
        assert (e.target, e.user_id, e.session_id, e.parent_id) == (None, None, None, None)
        assert (e.scope, e.ends_session, e.input, e.output) == ("", False, None, None)
        assert dict(e.metadata) == {}

    def test_fields_are_keyword_only(self) -> None:
        """Positional construction is refused, so field order can never silently matter."""
        with pytest.raises(TypeError):
            Event("q1", T0, ALICE)  # type: ignore[call-arg]

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"id": ""}, "id"),
            ({"at": datetime(2026, 1, 1)}, "at"),
            ({"at": "2026-01-01T00:00:00Z"}, "at"),
            ({"initiator": "alice"}, "initiator"),
            ({"target": "llm"}, "target"),
            ({"session_id": ""}, "session_id"),
            ({"user_id": ""}, "user_id"),
            ({"parent_id": ""}, "parent_id"),
            ({"scope": None}, "scope"),
        ],
    )
    def test_bad_values_are_refused_naming_event_and_field(
        self, changes: dict[str, Any], field: str
    ) -> None:
        """Each bad value raises InvalidEventError (a ValueError) naming the event and field."""
        fields: dict[str, Any] = {"id": "q1", "at": T0, "initiator": ALICE, **changes}
        with pytest.raises(InvalidEventError) as caught:
            Event(**fields)
        assert caught.value.field == field
        assert caught.value.subject_id == fields["id"]
        assert isinstance(caught.value, ValueError)
        assert repr(fields["id"]) in str(caught.value)

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"at": EARLIEST - timedelta(microseconds=1)}, "at"),
            ({"at": LATEST + timedelta(microseconds=1)}, "at"),
            ({"id": 7}, "id"),
            ({"user_id": 7}, "user_id"),
            ({"session_id": b"s"}, "session_id"),
            ({"parent_id": ["p"]}, "parent_id"),
        ],
    )
    def test_values_refused_in_utc_too(self, changes: dict[str, Any], field: str) -> None:
        """The checks of the common case (UTC, plain strings) refuse what the full checks do."""
        with pytest.raises(InvalidEventError) as caught:
            Event(**{"id": "q1", "at": T0, "initiator": ALICE, **changes})
        assert caught.value.field == field

    def test_subclasses_of_the_types_are_accepted(self) -> None:
        """A str subclass, or another zone, takes the field-by-field checks and passes them."""

        class Name(str):
            pass

        e = Event(
            id=Name("q1"),
            at=T0.astimezone(timezone(timedelta(hours=2))),
            initiator=ALICE,
            user_id=Name("alice"),
            scope=Name("s"),
        )
        assert e.id == "q1" and e.at == T0 and e.user_key == "alice"

    def test_any_time_zone_is_accepted(self) -> None:
        """Aware datetimes in any zone are fine."""
        e = Event(id="q1", at=T0.astimezone(timezone(timedelta(hours=-5))), initiator=ALICE)
        assert e.at == T0

    def test_metadata_is_copied_and_read_only(self) -> None:
        """Changing the caller's dict later does not change the event, nor can the event's."""
        source: dict[str, object] = {"model": "m1"}
        e = Event(id="q1", at=T0, initiator=ALICE, metadata=source)
        source["model"] = "m2"
        assert e.metadata["model"] == "m1"
        with pytest.raises(TypeError):
            e.metadata["model"] = "m3"  # type: ignore[index]

    def test_event_with_metadata_is_hashable(self) -> None:
        """Metadata does not take part in the hash, so events can be set members."""
        e = Event(id="q1", at=T0, initiator=ALICE, metadata={"a": [1]})
        assert e in {e}

    def test_user_key(self) -> None:
        """The user key is user_id if set, else the initiator's id."""
        assert ev("q1").user_key == "alice"
        assert ev("a1", 0, AGENT).user_key == "agent"
        assert ev("a1", 0, AGENT, user_id="alice").user_key == "alice"

    def test_evolve_validates_again(self) -> None:
        """attrs.evolve builds a new, validated event."""
        with pytest.raises(InvalidEventError):
            attrs.evolve(ev("q1"), at=at(0).replace(tzinfo=None))


class TestThreadNode:
    def test_walk_is_depth_first_in_feed_order_with_depths(self) -> None:
        """walk() yields every node once, parents before children, with depth."""
        a, b, c, d = (ev(x) for x in "abcd")
        tree = ThreadNode(a, (ThreadNode(b, (ThreadNode(c),)), ThreadNode(d)))
        assert [(depth, n.event.id) for depth, n in tree.walk()] == [
            (0, "a"),
            (1, "b"),
            (2, "c"),
            (1, "d"),
        ]


class TestPickleAndImmutability:
    """Values cross process boundaries (multiprocessing, Spark) and cannot be changed."""

    def values(self) -> list[object]:
        t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
        ann = Participant(ParticipantKind.USER, "ann")
        events = [
            Event(id="q1", at=t0, initiator=ann, metadata={"tags": ["a", {"b": [1]}], "n": 1}),
            Event(id="r1", at=t0, initiator=ann, parent_id="q1", ends_session=True),
        ]
        sessionizer = Sessionizer()
        assignments = [sessionizer.feed(event) for event in events]
        (session,) = sessionize(events)
        return [
            ann,
            *events,
            *assignments,
            assignments[1].closed[0],
            session,
            session.roots[0],
            Rules(join_window=timedelta(seconds=5)),
            ParticipantKind.TOOL,
            GroupingRule.JOIN_WINDOW,
            Rule.SESSION_IDS,
        ]

    def test_every_value_type_round_trips_through_pickle(self) -> None:
        """Participant, Event, Assignment, SessionSummary, Session, ThreadNode, Rules, enums."""
        for value in self.values():
            assert pickle.loads(pickle.dumps(value)) == value, type(value).__name__

    def test_nested_metadata_cannot_be_changed(self) -> None:
        """Dicts and lists inside metadata are frozen too, yet still dicts and lists."""
        event = Event(
            id="q1",
            at=datetime(2026, 1, 1, tzinfo=timezone.utc),
            initiator=Participant(ParticipantKind.USER, "ann"),
            metadata={"tags": ["a", {"b": [1]}]},
        )
        tags: Any = event.metadata["tags"]
        assert isinstance(tags, list) and tags == ["a", {"b": [1]}]
        metadata: Any = event.metadata
        changes: list[Callable[[], object]] = [
            lambda: tags.append("c"),
            lambda: tags[1].update(x=1),
            lambda: tags[1]["b"].extend([2]),
            lambda: metadata.update(n=2),
            lambda: tags.__setitem__(0, "z"),
        ]
        for change in changes:
            with pytest.raises(TypeError, match="cannot be changed"):
                change()
        assert json.loads(json.dumps(dict(event.metadata))) == {"tags": ["a", {"b": [1]}]}

    def test_the_callers_metadata_is_copied(self) -> None:
        """Changing the dict given to Event afterwards changes nothing in the event."""
        given: dict[str, object] = {"nested": {"k": "v"}}
        event = Event(
            id="q1",
            at=datetime(2026, 1, 1, tzinfo=timezone.utc),
            initiator=Participant(ParticipantKind.USER, "ann"),
            metadata=given,
        )
        given["nested"]["k"] = "changed"  # type: ignore[index]
        given["new"] = 1
        assert dict(event.metadata) == {"nested": {"k": "v"}}


@given(st.from_type(Event))
def test_an_event_is_made_again_from_its_fields(event: Event) -> None:
    """``EventFields`` are the Event's attributes in order: ``Event.from_fields`` of them is
    the same event (a field out of place fails, or makes another event)."""
    fields = attrs.astuple(event, recurse=False)
    assert len(fields) == len(EventFields.__args__)  # type: ignore[attr-defined]
    again = Event.from_fields(fields)
    assert again == event
    assert attrs.astuple(again, recurse=False) == fields
