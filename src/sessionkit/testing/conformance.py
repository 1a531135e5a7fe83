"""The store conformance suite: the tests every store must pass, to run against your own.

Subclass :class:`StoreConformance` in a test module, name the subclass ``Test...`` so pytest
collects it, and say how to make (and reopen) your store::

    from sessionkit.testing.conformance import StoreConformance

    class TestMyStore(StoreConformance):
        def make_store(self, tmp_path):
            return MyStore(tmp_path / "store")

        def reopen(self, store, tmp_path):
            store.close()
            return MyStore(tmp_path / "store")

sessionkit runs the same class against ``MemoryStore`` and ``SQLiteStore`` (see
``tests/test_store_conformance.py``). Needs pytest.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sessionkit import (
    Assignment,
    Event,
    IncompatibleStoreError,
    Participant,
    ParticipantKind,
    RejectedEventError,
    Rules,
    Session,
    SessionAssembly,
    SessionClosedError,
    Sessionizer,
    UnstorableEventError,
)
from sessionkit import SessionStatus as Status
from sessionkit.storage import Batch, SessionStore, Tracker

__all__ = ["StoreConformance", "conformance_stream"]

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
# Seconds between events, and how often: mostly inside the 45 s window, some at its edge,
# a few hours or more than the 24 h timeout.
_GAPS = ([0, 1, 5, 10, 22, 45, 46, 300, 3600, 86_400, 90_000], [3, 8, 8, 5, 3, 2, 1, 1, 1, 1, 1])


def conformance_stream(n: int = 400, seed: int = 0) -> list[Event]:
    """A deterministic, time-ordered stream that exercises every rule and refuses none.

    Three users in two scopes talk in bursts around the 45 s window and past the 24 h timeout,
    with agents, LLMs and tools acting for them, parent links, explicit session ids and ends.
    """
    rng = random.Random(seed)
    kinds = list(ParticipantKind)
    t = T0
    events: list[Event] = []
    previous: dict[tuple[str, str], str] = {}
    explicit: dict[tuple[str, str], str | None] = {}
    for i in range(n):
        gaps, weights = _GAPS
        t += timedelta(seconds=rng.choices(gaps, weights)[0])
        user, scope = rng.choice(["ann", "ben", "cy"]), rng.choice(["", "", "", "tenant-b"])
        key = (scope, user)
        kind = rng.choice(kinds)
        initiator = Participant(kind, user if kind is ParticipantKind.USER else f"{kind.value}-1")
        if rng.random() < 0.1:
            explicit[key] = f"s-{i}"
        elif rng.random() < 0.2:
            explicit[key] = None
        ends = rng.random() < 0.05
        event = Event(
            id=f"e{i}",
            at=t,
            initiator=initiator,
            target=Participant(ParticipantKind.LLM, "llm-1") if rng.random() < 0.3 else None,
            user_id=user if kind is not ParticipantKind.USER else None,
            session_id=explicit.get(key),
            parent_id=previous.get(key) if rng.random() < 0.3 else None,
            scope=scope,
            ends_session=ends,
            input=f"input {i}",
            output=f"output {i}" if rng.random() < 0.5 else None,
            metadata={"n": i, "tags": ["x", "y"]} if rng.random() < 0.2 else {},
        )
        events.append(event)
        previous[key] = event.id
        if ends:  # an ended session takes no more events
            explicit[key] = None
            previous.pop(key, None)
    return _without_refusals(events)


def _without_refusals(events: list[Event]) -> list[Event]:
    """Drop the events a Sessionizer would refuse, so that every store sees the same stream."""
    sessionizer = Sessionizer()
    kept = []
    for event in events:
        try:
            sessionizer.feed(event)
        except RejectedEventError:
            continue
        kept.append(event)
    return kept


def _matches(event: Event, session: Session, filters: dict[str, Any]) -> bool:
    """docs/storage.md's filters of ``sessions()``, one by one, for an event of ``session``."""
    target = event.target.id if event.target is not None else None
    checks: dict[str, Callable[[Any], bool]] = {
        "scope": lambda value: event.scope == value,
        "user": lambda value: event.user_key == value,
        "participant": lambda value: value in (event.initiator.id, target),
        "since": lambda value: event.at >= value,
        "until": lambda value: event.at < value,
        "status": lambda value: session.status is value,
        "explicit": lambda value: session.explicit is value,
    }
    return all(checks[name](value) for name, value in filters.items())


def _nested(depth: int) -> dict[str, Any]:
    """Metadata nested ``depth`` objects deep (too deep for JSON to write)."""
    top: dict[str, Any] = {}
    node = top
    for _ in range(depth):
        node["x"] = {}
        node = node["x"]
    return top


def _shape(session: Session) -> list[tuple[int, str]]:
    return [(depth, node.event.id) for root in session.roots for depth, node in root.walk()]


class StoreConformance:
    """Tests every store passes. Override :meth:`make_store`, and :meth:`reopen` for a store
    that outlives its object (a file, a server)."""

    def make_store(self, tmp_path: Path) -> SessionStore:
        """A new, empty store."""
        raise NotImplementedError

    def reopen(self, store: SessionStore, tmp_path: Path) -> SessionStore:
        """The same store after a restart. The default keeps the object (an in-memory store)."""
        return store

    @pytest.fixture
    def store(self, tmp_path: Path) -> Any:
        store = self.make_store(tmp_path)
        yield store
        store.close()

    # -- recording and resuming -----------------------------------------------------------------

    def test_recorded_sessions_equal_sessionize(self, store: SessionStore) -> None:
        """Every session the store returns equals what sessionize makes of the same events."""
        events = conformance_stream()
        tracker = Tracker(store)
        tracker.track_many(events)
        expected = Sessionizer()
        assembly = SessionAssembly()
        for event in events:
            assembly.record(expected.feed(event))
        for session in assembly.sessions():
            stored = store.session(session.id, session.scope)
            assert stored is not None
            assert stored.events == session.events
            assert _shape(stored) == _shape(session)
            assert stored.header == session.header
            assert (stored.status, stored.closed_at, stored.close_reason) == (
                session.status,
                session.closed_at,
                session.close_reason,
            )
            for event in session.events:
                assert store.session_of(event.id, event.scope) == session.id

    def test_resume_anywhere_equals_one_run(self, store: SessionStore, tmp_path: Path) -> None:
        """Stopping and reopening between batches changes no decision."""
        events = conformance_stream()
        sessionizer = Sessionizer()
        plain: list[Assignment] = [sessionizer.feed(e) for e in events]
        got: list[Assignment] = []
        for start in range(0, len(events), 37):
            tracker = Tracker(store)
            got += tracker.track_many(events[start : start + 37])
            store = self.reopen(store, tmp_path)
        assert [(a.session_id, a.rule, a.thread_parent_id) for a in got] == [
            (a.session_id, a.rule, a.thread_parent_id) for a in plain
        ]
        assert [[c.id for c in a.closed] for a in got] == [[c.id for c in a.closed] for a in plain]
        store.close()

    def test_duplicates_and_closed_ids_survive_a_restart(
        self, store: SessionStore, tmp_path: Path
    ) -> None:
        """After reopening, a recorded event is a duplicate and a closed id is still refused."""
        alice = Participant(ParticipantKind.USER, "alice")
        tracker = Tracker(store)
        first = tracker.track(Event(id="q1", at=T0, initiator=alice, session_id="chat"))
        tracker.track(Event(id="q2", at=T0, initiator=alice, session_id="x", ends_session=True))
        store = self.reopen(store, tmp_path)
        tracker = Tracker(store)
        again = tracker.track(Event(id="q1", at=T0, initiator=alice))
        assert again.duplicate
        assert again.session_id == first.session_id
        tracker.advance(T0 + timedelta(days=30))
        store = self.reopen(store, tmp_path)
        tracker = Tracker(store)
        assert tracker.sessionizer.closed_session_count == 0  # closed ids live in the store
        for session_id in ("chat", "x"):
            with pytest.raises(SessionClosedError):
                tracker.track(
                    Event(
                        id=f"late-{session_id}",
                        at=T0 + timedelta(days=31),
                        initiator=alice,
                        session_id=session_id,
                    )
                )
        store.close()

    def test_outputs_sent_later_are_recorded_and_survive_a_restart(
        self, store: SessionStore, tmp_path: Path
    ) -> None:
        """``Batch.outputs`` replace the output of the latest event of that id, also one of the
        same batch; other events keep theirs."""
        alice = Participant(ParticipantKind.USER, "alice")
        rules = Rules()
        sessionizer = Sessionizer(rules)
        first = [
            sessionizer.feed(Event(id="q1", at=T0, initiator=alice, output="own")),
            sessionizer.feed(Event(id="q2", at=T0, initiator=alice, scope="b")),
        ]
        store.record(Batch(rules, T0, tuple(first), outputs=(("b", "q2", "later"),)))
        store.record(Batch(rules, T0, outputs=(("", "q1", "replaced"), ("", "nope", "x"))))
        # q1 again, once forgotten: a new event of the same id, in a new session
        later = T0 + 2 * rules.idle_timeout
        again = sessionizer.feed(Event(id="q1", at=later, initiator=alice, session_id="new"))
        store.record(Batch(rules, later, (again,), outputs=(("", "q1", "newest"),)))
        store = self.reopen(store, tmp_path)
        outputs = [
            (listing.event.scope, listing.event.id, listing.event.output)
            for listing in store.sessions(limit=10).items
        ]
        assert outputs == [("", "q1", "replaced"), ("b", "q2", "later"), ("", "q1", "newest")]
        latest = store.event("q1")
        assert latest is not None and latest.session_id == "new" and latest.seq == 3
        assert latest.event.output == "newest" and latest.event.at == later
        assert store.event("q2") is None and store.event("nope") is None
        found = store.event("q2", "b")
        assert found is not None and found.event.output == "later"
        store.close()

    def test_refusal_in_a_batch_keeps_the_events_before_it(self, store: SessionStore) -> None:
        """track_many records the events before a refused one and says where it stopped."""
        alice = Participant(ParticipantKind.USER, "alice")
        tracker = Tracker(store)
        batch = [
            Event(id="q1", at=T0 + timedelta(seconds=10), initiator=alice),
            Event(id="q2", at=T0, initiator=alice),  # out of order
            Event(id="q3", at=T0 + timedelta(seconds=20), initiator=alice),
        ]
        with pytest.raises(RejectedEventError) as refused:
            tracker.track_many(batch)
        assert refused.value.index == 1
        assert store.session_of("q1") is not None
        assert store.session_of("q2") is None
        assert store.session_of("q3") is None
        assert tracker.track_many(batch[2:])[0].session_id == store.session_of("q1")

    def test_unstorable_events_are_refused_before_anything_changes(
        self, store: SessionStore
    ) -> None:
        """A lone surrogate or non-JSON metadata is refused; store and Sessionizer unchanged."""
        alice = Participant(ParticipantKind.USER, "alice")
        tracker = Tracker(store)
        bad = [
            Event(id="b1", at=T0, initiator=alice, input="\ud800"),
            Event(id="b2", at=T0, initiator=alice, metadata={"t": (1, 2)}),
            Event(id="b3", at=T0, initiator=alice, metadata={"b": b"bytes"}),
            Event(id="b4", at=T0, initiator=alice, metadata=_nested(100_000)),
        ]
        for event in bad:
            with pytest.raises(UnstorableEventError) as refused:
                tracker.track(event)
            assert refused.value.event is event
            assert store.session_of(event.id) is None
        assert tracker.sessionizer.now is None

    def test_other_rules_are_refused_on_a_store_with_data(
        self, store: SessionStore, tmp_path: Path
    ) -> None:
        """A store written under one set of rules is not resumed under another."""
        alice = Participant(ParticipantKind.USER, "alice")
        Tracker(store).track(Event(id="q1", at=T0, initiator=alice))
        store = self.reopen(store, tmp_path)
        with pytest.raises(IncompatibleStoreError):
            Tracker(store, Rules(join_window=timedelta(minutes=2)))
        assert Tracker(store, Rules()).sessionizer.now == T0
        store.close()

    # -- hostile values -------------------------------------------------------------------------

    HOSTILE = (
        "'; DROP TABLE sessions; --",
        "\u200b",
        "\u00a0",
        "nul\x00inside",
        "emoji \U0001f600",
        "%_*?\\",
    )

    def test_hostile_values_round_trip_exactly(self, store: SessionStore, tmp_path: Path) -> None:
        """Ids, scopes and payloads that look like SQL, blanks, NULs or 1 MB come back as given."""
        tracker = Tracker(store)
        events = []
        for i, text in enumerate(self.HOSTILE):
            events.append(
                Event(
                    id=f"{text}-{i}",
                    at=T0 + timedelta(seconds=i),
                    initiator=Participant(ParticipantKind.USER, text),
                    session_id=f"{text}-session",
                    scope=text,
                    input=text * 3,
                    output="x" * 1_000_000 if i == 0 else text,
                    metadata={"text": text, "nested": {"list": [text, 1, 2.5, None, True]}},
                )
            )
        tracker.track_many(events)
        store = self.reopen(store, tmp_path)
        for event in events:
            session = store.session(f"{event.scope}-session", event.scope)
            assert session is not None
            assert session.events == (event,)
            assert dict(session.events[0].metadata) == dict(event.metadata)
            assert store.session_of(event.id, event.scope) == session.id
        assert store.session("'; DROP TABLE sessions; --", "") is None
        store.close()

    # -- queries --------------------------------------------------------------------------------

    def _filled(self, store: SessionStore) -> list[Event]:
        events = conformance_stream()
        Tracker(store).track_many(events)
        return events

    def test_listing_without_filters_is_every_event_in_order(self, store: SessionStore) -> None:
        """The default view has one row per event, in feed order."""
        events = self._filled(store)
        rows = store.sessions(limit=10_000).items
        assert [row.event for row in rows] == events

    def test_only_sessions_lists_each_session_by_its_first_event(self, store: SessionStore) -> None:
        """only_sessions: one row per session, its first event, in order of start."""
        events = self._filled(store)
        rows = store.sessions(only_sessions=True, limit=10_000).items
        sessionizer = Sessionizer()
        firsts = [e for e in events if sessionizer.feed(e).started]
        assert [row.event for row in rows] == firsts
        assert all(row.first_seq == row.seq for row in rows)

    @pytest.mark.parametrize(
        "filters",
        [
            {"scope": "tenant-b"},
            {"user": "ann"},
            {"participant": "llm-1"},
            {"since": T0 + timedelta(days=2), "until": T0 + timedelta(days=4)},
            {"status": Status.OPEN},
            {"status": Status.CLOSED, "explicit": True},
            {"explicit": False, "scope": ""},
        ],
    )
    @pytest.mark.parametrize("only_sessions", [False, True])
    def test_filters(
        self, store: SessionStore, filters: dict[str, Any], only_sessions: bool
    ) -> None:
        """Each filter keeps exactly the rows docs/storage.md says, in both views."""
        events = self._filled(store)
        # What the store should hold, worked out without it: a Sessionizer's own grouping.
        sessionizer, assembly, accepted = Sessionizer(), SessionAssembly(), []
        for event in events:
            assignment = sessionizer.feed(event)
            assembly.record(assignment)
            if not assignment.duplicate:
                accepted.append(event)
        sessions = assembly.sessions()
        session_of = {(e.scope, e.id): s for s in sessions for e in s.events}
        got = store.sessions(only_sessions=only_sessions, limit=10_000, **filters).items
        if only_sessions:
            chosen = [s for s in sessions if any(_matches(e, s, filters) for e in s.events)]
            expected = [s.events[0].id for s in chosen]
        else:
            expected = [e.id for e in accepted if _matches(e, session_of[(e.scope, e.id)], filters)]
        assert [r.event.id for r in got] == expected
        assert expected  # the stream has rows for every filter

    @pytest.mark.parametrize("only_sessions", [False, True])
    def test_pages_cover_everything_once_and_do_not_drift(
        self, store: SessionStore, only_sessions: bool
    ) -> None:
        """Following next_after visits every row once, even when events arrive between pages."""
        events = self._filled(store)
        whole = store.sessions(only_sessions=only_sessions, limit=10_000).items
        seen: list[Any] = []
        page = store.sessions(only_sessions=only_sessions, limit=7)
        late = Participant(ParticipantKind.USER, "late")
        tracker = Tracker(store)
        for n in range(10_000):
            seen += page.items
            if page.next_after is None:
                break
            if n == 2:  # a new event arrives: it may only appear after what was listed
                tracker.track(Event(id="late-1", at=events[-1].at, initiator=late))
            page = store.sessions(only_sessions=only_sessions, limit=7, after=page.next_after)
        assert [r.seq for r in seen[: len(whole)]] == [r.seq for r in whole]
        assert [r.event.id for r in seen[len(whole) :]] == ["late-1"]

    @pytest.mark.parametrize("only_sessions", [False, True])
    def test_newest_first_pages_are_the_listing_reversed(
        self, store: SessionStore, only_sessions: bool
    ) -> None:
        """newest_first lists the same rows in reverse, and its cursor pages backwards."""
        self._filled(store)
        whole = store.sessions(only_sessions=only_sessions, user="ann", limit=10_000).items
        seen: list[Any] = []
        after = None
        while True:
            page = store.sessions(
                only_sessions=only_sessions, user="ann", newest_first=True, limit=3, after=after
            )
            seen += page.items
            if page.next_after is None:
                break
            after = page.next_after
        assert len(whole) > 3
        assert [r.seq for r in seen] == [r.seq for r in reversed(whole)]

    def test_session_id_lists_one_session_with_the_rule_of_each_event(
        self, store: SessionStore
    ) -> None:
        """session_id keeps one session's rows; each row carries the rule that placed it."""
        events = self._filled(store)
        sessionizer, decided = Sessionizer(), {}
        for event in events:
            assignment = sessionizer.feed(event)
            if not assignment.duplicate:
                decided[(event.scope, event.id)] = assignment
        by_session: dict[tuple[str, str], list[Any]] = {}
        for a in decided.values():
            by_session.setdefault((a.event.scope, a.session_id), []).append(a)
        rules_seen = set()
        for (scope, session_id), assignments in by_session.items():
            rows = store.sessions(scope=scope, session_id=session_id, limit=10_000).items
            assert [r.event for r in rows] == [a.event for a in assignments]
            assert [r.rule for r in rows] == [a.rule for a in assignments]
            assert {r.session.id for r in rows} == {session_id}
            rules_seen |= {r.rule for r in rows}
        assert len(rules_seen) >= 4  # explicit ids, parent links, the window, new sessions
        assert store.sessions(session_id="no such session").items == ()

    def test_time_range_includes_since_and_excludes_until(self, store: SessionStore) -> None:
        """``since`` is inclusive and ``until`` exclusive, to the microsecond."""
        alice = Participant(ParticipantKind.USER, "alice")
        times = [T0, T0 + timedelta(microseconds=1), T0 + timedelta(microseconds=2)]
        Tracker(store).track_many(
            [Event(id=f"q{i}", at=at, initiator=alice) for i, at in enumerate(times)]
        )
        for only_sessions in (False, True):
            rows = store.sessions(since=times[1], until=times[2], only_sessions=only_sessions)
            expected = ["q1"] if not only_sessions else ["q0"]  # the session, by its first event
            assert [row.event.id for row in rows.items] == expected
        assert store.sessions(since=times[2] + timedelta(microseconds=1)).items == ()

    def test_bad_page_arguments_are_refused(self, store: SessionStore) -> None:
        """limit below 1 and cursors that no page returned raise ValueError."""
        with pytest.raises(ValueError, match="limit"):
            store.sessions(limit=0)
        with pytest.raises(ValueError, match="cursor"):
            store.sessions(after="'; --")
        with pytest.raises(ValueError, match="since and until"):
            store.sessions(since=datetime(2026, 1, 1))  # naive
        with pytest.raises(ValueError, match="status"):
            store.sessions(status="ended")

    def test_status_may_be_given_by_value(self, store: SessionStore) -> None:
        """status="open" is SessionStatus.OPEN."""
        self._filled(store)
        for status in Status:
            by_value = store.sessions(status=status.value, limit=10_000).items
            assert by_value == store.sessions(status=status, limit=10_000).items
            assert by_value and all(row.session.status is status for row in by_value)

    def test_unknown_ids(self, store: SessionStore) -> None:
        """Unknown sessions and events are None, not errors."""
        assert store.session("nope") is None
        assert store.session_of("nope") is None
        assert not store.is_closed("nope", "")
        assert store.resume_point() is None
