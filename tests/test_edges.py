"""Times at the edges of what ``datetime`` holds: refused before anything changes, never a crash."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sessionkit import (
    EARLIEST,
    LATEST,
    Event,
    InvalidEventError,
    Participant,
    ParticipantKind,
    Rules,
    Sessionizer,
    TimeOutOfRangeError,
)
from sessionkit.replay import ReorderBuffer
from tests.helpers import US

ANN = Participant(ParticipantKind.USER, "ann")


class TestEventTimes:
    @pytest.mark.parametrize(
        "text",
        [
            "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
            "0001-01-01T23:59:59.999999+00:00",
            "9999-12-30T00:00:00.000001+00:00",
            "9999-12-31T23:59:59-12:00",  # after year 9999 in UTC
        ],
    )
    def test_outside_the_range_is_refused(self, text: str) -> None:
        """An instant outside EARLIEST..LATEST is an invalid event, naming the field."""
        with pytest.raises(InvalidEventError, match="outside 0001-01-02 to 9999-12-30") as bad:
            Event(id="e", at=datetime.fromisoformat(text), initiator=ANN)
        assert bad.value.field == "at"

    @pytest.mark.parametrize(
        "at", [EARLIEST, LATEST, LATEST.astimezone(timezone(-timedelta(hours=14)))]
    )
    def test_the_ends_are_inside(self, at: datetime) -> None:
        """EARLIEST and LATEST themselves, in any zone, are fine."""
        assert Event(id="e", at=at, initiator=ANN).at == at


class TestFeedAtTheEnd:
    def test_a_horizon_past_the_end_is_refused_and_changes_nothing(self) -> None:
        """Rule 8 holds at the end of time: the refused event moves no clock."""
        sessionizer = Sessionizer(Rules(idle_timeout=timedelta(days=2)))
        sessionizer.feed(Event(id="q0", at=LATEST - timedelta(days=3), initiator=ANN))
        before = sessionizer.snapshot()
        with pytest.raises(TimeOutOfRangeError) as refused:
            sessionizer.feed(Event(id="q1", at=LATEST, initiator=ANN))
        assert refused.value.reason == "time_out_of_range" and refused.value.event is not None
        assert sessionizer.snapshot() == before
        later = sessionizer.feed(Event(id="q2", at=LATEST - timedelta(days=2), initiator=ANN))
        assert later.started  # 1 day after q0's input: past the window, a new session

    def test_the_last_time_with_the_default_rules_is_fed(self) -> None:
        """With a 24 h timeout, LATEST's horizon (9999-12-31) is still representable."""
        sessionizer = Sessionizer()
        assert sessionizer.feed(Event(id="q", at=LATEST, initiator=ANN)).started
        assert [c.closed_at for c in sessionizer.advance(LATEST + timedelta(days=1))] == [
            LATEST + timedelta(days=1)
        ]

    def test_feed_each_returns_the_refusal_in_place(self) -> None:
        """feed_each goes past a refusal of any kind, with its index."""
        sessionizer = Sessionizer(Rules(idle_timeout=timedelta(days=5)))
        events = [
            Event(id="a", at=LATEST - timedelta(days=9), initiator=ANN),
            Event(id="b", at=LATEST, initiator=ANN),
        ]
        first, second = sessionizer.feed_each(events)
        assert isinstance(second, TimeOutOfRangeError) and second.index == 1
        assert not isinstance(first, Exception) and first.started


class TestReorderAtTheStart:
    def test_a_lateness_reaching_before_year_1_holds_items_until_flush(self) -> None:
        """The watermark would be before the first representable time: nothing is due yet."""
        buffer: ReorderBuffer[str] = ReorderBuffer(timedelta(days=30))
        assert buffer.push(EARLIEST, "a") == []
        assert buffer.push(EARLIEST + US, "b") == []
        assert buffer.flush() == ["a", "b"]
