"""The value types: construction, validation and immutability."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from sessionkit import Event, InvalidEventError, Participant, ParticipantKind, ThreadNode
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
