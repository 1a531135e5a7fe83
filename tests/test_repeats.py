"""Lines that repeat a remembered event id: duplicates, outputs sent later, and conflicts."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionkit import (
    ConflictingDuplicateError,
    Event,
    LogLineError,
    Rules,
    Sessionizer,
    UnknownEventError,
    UnstorableEventError,
)
from sessionkit.replay import (
    EventMapper,
    LogEvent,
    LogLayout,
    LogOutput,
    LogReader,
    OutputFollowUp,
    OutputSet,
    RejectedLine,
    Repeats,
    Replayed,
    ReplaySummary,
    TimestampParser,
    replay_records,
)
from sessionkit.storage import MemoryStore, SQLiteStore, Tracker

from .helpers import T0, at, ev
from .strategies import rules_strategy, streams


def line(event_id: str, seconds: float, **fields: Any) -> str:
    """A user's prompt in the default layout (drop a field by giving it as None)."""
    record = {
        "event_id": event_id,
        "timestamp": (T0 + timedelta(seconds=seconds)).isoformat(),
        "event_type": "user_agent",
        "metadata": {"user_id": "alice"},
        "input": f"prompt {event_id}",
        **fields,
    }
    return json.dumps({k: v for k, v in record.items() if v is not None})


def output_line(event_id: str, seconds: float, output: str, **fields: Any) -> str:
    """An output sent alone for ``event_id``."""
    record = {"event_id": event_id, "timestamp": (T0 + timedelta(seconds=seconds)).isoformat()}
    return json.dumps({**record, "output": output, **fields})


def reader(*lines: str) -> LogReader:
    return LogReader(["-"], stdin=io.BytesIO("".join(x + "\n" for x in lines).encode()))


Outcome = Replayed | OutputSet | RejectedLine


def run(*lines: str, group: Any = None, lateness: float = 0) -> tuple[list[Outcome], ReplaySummary]:
    log = reader(*lines)
    outcomes = list(
        replay_records(
            log,
            group if group is not None else Sessionizer(),
            max_lateness=timedelta(seconds=lateness),
        )
    )
    summary = ReplaySummary(lines_read=log.lines_read)
    for outcome in outcomes:
        summary.add(outcome)
    assert summary.balanced
    return sorted(outcomes, key=lambda o: o.line), summary


def kinds(outcomes: list[Outcome]) -> list[str]:
    """Each outcome in a word: accepted, duplicate, output, or the rejection's reason."""
    words = []
    for o in outcomes:
        if isinstance(o, OutputSet):
            words.append("output")
        elif isinstance(o, Replayed):
            words.append("duplicate" if o.assignment.duplicate else "accepted")
        else:
            words.append(o.reason)
    return words


def recorded_output(store: MemoryStore | SQLiteStore, event_id: str) -> str | None:
    session_id = store.session_of(event_id)
    assert session_id is not None
    session = store.session(session_id)
    assert session is not None
    [event] = [e for e in session.events if e.id == event_id]
    return event.output


# -- reading -------------------------------------------------------------------------------------


def test_an_output_sent_alone_reads_as_an_output_line() -> None:
    [record, unended] = list(
        reader(
            output_line("q1", 3, "the answer", profile_id="p"),
            output_line("q2", 4, "x", session_end=False),  # says nothing of who sent it
        )
    )
    assert isinstance(record, LogOutput)
    assert record.output == OutputFollowUp("q1", at(3), "the answer", "p")
    assert record.line == 1
    assert isinstance(unended, LogOutput) and unended.output.id == "q2"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        # no event id of its own: it would be an event of its own, and has no sender
        ({"timestamp": "2026-01-01T09:00:00Z", "output": "x"}, "missing_field"),
        # no time
        ({"event_id": "q1", "output": "x"}, "missing_field"),
        # it says who sent it or where it goes: an event, then, and one without a sender
        (
            {
                "event_id": "q1",
                "timestamp": "2026-01-01T09:00:00Z",
                "output": "x",
                "session_id": "s",
            },
            "missing_field",
        ),
        (
            {
                "event_id": "q1",
                "timestamp": "2026-01-01T09:00:00Z",
                "output": "x",
                "parent_event_id": "p",
            },
            "missing_field",
        ),
        ({"event_id": "q1", "timestamp": "x", "output": "x"}, "bad_timestamp"),
        ({"event_id": ["q1"], "timestamp": "2026-01-01T09:00:00Z", "output": "x"}, "wrong_type"),
    ],
)
def test_what_is_not_an_output_sent_alone(record: dict[str, Any], reason: str) -> None:
    [rejected] = list(reader(json.dumps(record)))
    assert isinstance(rejected, RejectedLine)
    assert rejected.reason == reason


def test_an_output_as_json_is_its_compact_text() -> None:
    record = {"event_id": 7, "time": "2026-01-01T09:00:00Z", "output": {"text": "hé"}}
    assert EventMapper()(record, "log", 1) == OutputFollowUp("7", at(0), '{"text":"hé"}')


def test_span_presets_read_no_outputs_sent_alone() -> None:
    """Spans always say who sent them: an output-only span is not a follow-up."""
    for name in ("otel", "openinference", "langfuse", "langsmith"):
        assert not LogLayout.preset(name).follow_ups
    mapper = EventMapper(LogLayout(follow_ups=False), TimestampParser())
    with pytest.raises(LogLineError) as refused:
        mapper({"event_id": "q1", "timestamp": "2026-01-01T09:00:00Z", "output": "x"}, "log", 1)
    assert refused.value.reason == "missing_field"


# -- replay --------------------------------------------------------------------------------------


def test_an_output_sent_later_sets_the_events_output() -> None:
    store = MemoryStore()
    outcomes, summary = run(line("q1", 0), output_line("q1", 3, "the answer"), group=Tracker(store))
    assert kinds(outcomes) == ["accepted", "output"]
    first, second = outcomes
    assert isinstance(first, Replayed) and isinstance(second, OutputSet)
    assert second == OutputSet("<stdin>", 2, "q1", "", first.assignment.session_id)
    assert (summary.accepted, summary.outputs, summary.duplicates) == (1, 1, 0)
    assert recorded_output(store, "q1") == "the answer"


WHO = "initiator, target, user_id, session_id, parent_id, ends_session"


@pytest.mark.parametrize(
    ("repeat", "outcome"),
    [
        (line("q1", 0), "duplicate"),  # the same again
        (line("q1", 5), "duplicate"),  # sent again later: times are not compared
        (line("q1", 0, input=None), "duplicate"),  # says less
        (line("q1", 5, input=None, output="answer"), "output"),  # its output, later
        (line("q1", 0, output="answer"), "output"),  # all again, with the output
        (line("q1", 0, input="other"), "conflicting_duplicate input"),
        (line("q1", 0, metadata={"user_id": "bob"}), f"conflicting_duplicate {WHO}"),
        (line("q1", 0, event_type="user_llm"), f"conflicting_duplicate {WHO}"),
        (line("q1", 0, session_id="s"), f"conflicting_duplicate {WHO}"),
        (line("q1", 0, parent_event_id="p"), f"conflicting_duplicate {WHO}"),
        (line("q1", 0, session_end=True), f"conflicting_duplicate {WHO}"),
        (line("q1", 0, input="other", output="x"), "conflicting_duplicate input"),
    ],
)
def test_a_repeat_is_compared_field_by_field(repeat: str, outcome: str) -> None:
    store = MemoryStore()
    outcomes, _ = run(line("q1", 0), repeat, group=Tracker(store))
    got = outcomes[1]
    if isinstance(got, RejectedLine):
        fields = got.detail.split("with another ")[1].split(";")[0]
        assert f"{got.reason} {fields}" == outcome
        assert recorded_output(store, "q1") is None
    else:
        assert kinds([got]) == [outcome]
        assert recorded_output(store, "q1") == ("answer" if outcome == "output" else None)


def test_an_output_once_set_is_kept_and_another_conflicts() -> None:
    store = MemoryStore()
    outcomes, summary = run(
        line("q1", 0),
        output_line("q1", 1, "first"),
        output_line("q1", 2, "first"),  # the same output again: recorded again, nothing changes
        output_line("q1", 3, "second"),
        line("q1", 4, input=None, output="third"),
        line("q2", 5, output="own"),
        output_line("q2", 6, "other"),
        group=Tracker(store),
    )
    assert kinds(outcomes) == [
        "accepted", "output", "output", "conflicting_duplicate", "conflicting_duplicate",
        "accepted", "conflicting_duplicate",
    ]  # fmt: skip
    assert recorded_output(store, "q1") == "first"
    assert recorded_output(store, "q2") == "own"
    assert (summary.outputs, summary.rejected) == (2, 3)
    conflict = outcomes[3]
    assert isinstance(conflict, RejectedLine)
    assert "'q1'" in conflict.detail and "another output" in conflict.detail


def test_an_output_for_an_event_not_remembered_is_rejected() -> None:
    day = 24 * 3600
    outcomes, _ = run(
        output_line("never", 0, "x"),
        line("q1", 1),
        line("late", 2, session_id="gone", session_end=True),
        line("late", 2, session_id="gone", session_end=True, input=None),  # says less
        output_line("late", 3, "ended, but still remembered"),
        output_line("q1", 1 + day - 0.001, "just in time"),
        output_line("q1", 1 + day, "at its horizon: forgotten"),
    )
    assert kinds(outcomes) == [
        "unknown_event", "accepted", "accepted", "duplicate", "output", "output", "unknown_event",
    ]  # fmt: skip
    unknown = outcomes[0]
    assert isinstance(unknown, RejectedLine)
    assert "'never'" in unknown.detail and "not remembered" in unknown.detail


def test_outputs_are_put_in_time_order_with_the_events() -> None:
    outcomes, _ = run(output_line("q1", 2, "early line"), line("q1", 1), lateness=5)
    assert kinds(outcomes) == ["output", "accepted"]
    outcomes, _ = run(line("q1", 10), output_line("q1", 1, "too late"), lateness=5)
    assert kinds(outcomes) == ["accepted", "late"]


def test_outputs_scopes_are_kept_apart() -> None:
    outcomes, _ = run(line("q1", 0, profile_id="a"), output_line("q1", 1, "x", profile_id="b"))
    assert kinds(outcomes) == ["accepted", "unknown_event"]


def test_a_grouping_function_compares_nothing() -> None:
    """Given ``feed_each``, not the Sessionizer: the behaviour of 0.2 (no content is kept)."""
    sessionizer = Sessionizer()
    outcomes, _ = run(
        line("q1", 0), line("q1", 0, input="other"), output_line("q1", 1, "x"),
        group=sessionizer.feed_each,
    )  # fmt: skip
    assert kinds(outcomes) == ["accepted", "duplicate", "unknown_event"]


# -- the Tracker and stores ----------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryStore | SQLiteStore:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")


def test_record_output_sets_the_latest_events_output(store: MemoryStore | SQLiteStore) -> None:
    tracker = Tracker(store)
    first = tracker.track(ev("q1", 0, input="hi"))
    assert tracker.record_output("q1", "hello") == first.session_id
    assert recorded_output(store, "q1") == "hello"
    assert tracker.sessionizer.now == at(0)  # time did not move
    assert tracker.session_of("q1") == first.session_id


def test_record_output_refuses_and_changes_nothing(store: MemoryStore | SQLiteStore) -> None:
    tracker = Tracker(store)
    tracker.track(ev("q1", 0))
    with pytest.raises(UnknownEventError) as unknown:
        tracker.record_output("q2", "x")
    assert (unknown.value.event_id, unknown.value.reason) == ("q2", "unknown_event")
    with pytest.raises(UnknownEventError):
        tracker.record_output("q1", "x", scope="other")
    with pytest.raises(UnknownEventError):
        tracker.record_output("q1", "x", at=at(24 * 3600))
    with pytest.raises(UnstorableEventError) as unstorable:
        tracker.record_output("q1", "\ud800")
    assert "'q1'" in str(unstorable.value)
    assert recorded_output(store, "q1") is None


def test_outputs_of_events_recorded_before_a_restart(tmp_path: Path) -> None:
    """A resumed replay compares repeats with what the store recorded."""
    path = tmp_path / "s.db"
    with Tracker(SQLiteStore(path)) as tracker:
        run(line("q1", 0), line("q2", 1, output="own"), group=tracker)
    with Tracker(SQLiteStore(path)) as tracker:
        outcomes, _ = run(
            output_line("q1", 2, "later"),
            line("q2", 3, input=None, output="other"),
            line("q1", 0),
            group=tracker,
        )
        assert kinds(outcomes) == ["output", "conflicting_duplicate", "late"]
        assert isinstance(tracker.store, SQLiteStore)
        assert recorded_output(tracker.store, "q1") == "later"
        assert recorded_output(tracker.store, "q2") == "own"


def test_a_fingerprint_is_kept_with_its_event_and_forgotten_with_it() -> None:
    sessionizer = Sessionizer()
    repeats = Repeats(sessionizer)
    for n in range(3_000):  # a prompt a minute: 1,440 remembered at any time
        event = ev(f"q{n}", 60 * n, input="hi")
        sessionizer.feed(event)
        repeats.remember(event)
        assert sessionizer._note(f"q{n}", "") is not None
        if n >= 1440:  # forgotten with its session, and its fingerprint with it
            assert sessionizer._note(f"q{n - 1440}", "") is None
            with pytest.raises(UnknownEventError):
                repeats.follow_up(OutputFollowUp(f"q{n - 1440}", at(60 * n), "x"))
    assert repeats.follow_up(OutputFollowUp("q2000", at(60 * 3000), "x"))
    assert sum(len(s.notes or ()) for s in sessionizer._by_horizon) == 1440


def test_a_conflict_is_a_refusal_that_names_the_fields() -> None:
    sessionizer = Sessionizer()
    repeats = Repeats(sessionizer)
    event = ev("q1", 0, input="a")
    session_id = sessionizer.feed(event).session_id
    repeats.remember(event)
    with pytest.raises(ConflictingDuplicateError) as conflict:
        repeats.repeated(ev("q1", 0, input="b", ends_session=True), session_id)
    assert conflict.value.fields == (*WHO.split(", "), "input")
    assert conflict.value.reason == "conflicting_duplicate"


# -- properties ----------------------------------------------------------------------------------


def _with_outputs(
    events: list[Event], picks: list[tuple[int, int, int]]
) -> list[LogEvent | LogOutput]:
    """The events as log records, with outputs sent alone for earlier ids mixed in: for each
    pick ``(earlier, after, text)``, after event ``after`` an output for event ``earlier``."""
    records: list[LogEvent | LogOutput] = []
    for n, event in enumerate(events):
        records.append(LogEvent("log", len(records) + 1, event, b""))
        for index, after, text in picks:
            if after == n and index <= n:
                earlier = events[index]
                output = OutputFollowUp(earlier.id, event.at, f"out{text}", earlier.scope)
                records.append(LogOutput("log", len(records) + 1, output, b""))
    return records


def sorted_pick(pick: tuple[int, int, int]) -> tuple[int, int, int]:
    """An output for the earlier of two events, sent after the later one."""
    return (min(pick[:2]), max(pick[:2]), pick[2])


def _grouping(outcomes: list[Any], records: list[LogEvent | LogOutput]) -> list[object]:
    """Each event line's outcome in line order: its session, "repeat" (a duplicate, or a
    conflicting one: neither changes anything), or the rule's refusal."""
    got: list[object] = []
    for o in sorted(outcomes, key=lambda o: o.line):
        if isinstance(records[o.line - 1], LogOutput):
            continue
        if isinstance(o, Replayed):
            got.append("repeat" if o.assignment.duplicate else o.assignment.session_id)
        else:
            got.append("repeat" if o.reason == "conflicting_duplicate" else o.reason)
    return got


@settings(max_examples=200, deadline=None)
@given(
    rules_strategy.flatmap(lambda r: st.tuples(st.just(r), streams(r, min_size=1, max_size=25))),
    st.data(),
)
def test_outputs_change_no_grouping_and_are_recorded_once(
    drawn: tuple[Rules, list[Event]], data: st.DataObject
) -> None:
    """Outputs sent alone never change where any event goes; each event's recorded output is
    its own, else the first sent for it while remembered; a different one later conflicts."""
    index = st.integers(0, len(drawn[1]) - 1)
    picks = data.draw(
        st.lists(st.tuples(index, index, st.integers(0, 1)).map(sorted_pick), max_size=12)
    )
    rules, events = drawn
    records = _with_outputs(events, picks)
    store = MemoryStore()
    outcomes = list(replay_records(records, Tracker(store, rules)))
    plain = _with_outputs(events, [])
    assert _grouping(outcomes, records) == _grouping(
        list(replay_records(plain, Sessionizer(rules))), plain
    )
    holds: dict[tuple[str, str], str | None] = {}  # per accepted (scope, id), its output
    for o in sorted(outcomes, key=lambda o: o.line):
        record = records[o.line - 1]
        if isinstance(record, LogEvent):
            if isinstance(o, Replayed) and not o.assignment.duplicate:
                holds[(record.event.scope, record.event.id)] = record.event.output
            continue
        key, sent = (record.output.scope, record.output.id), record.output.output
        if isinstance(o, OutputSet):
            assert holds[key] in (None, sent)
            holds[key] = sent
        elif isinstance(o, RejectedLine) and o.reason == "conflicting_duplicate":
            assert holds[key] not in (None, sent)
        else:
            assert isinstance(o, RejectedLine) and o.reason == "unknown_event"
    for (scope, event_id), output in holds.items():
        session_id = store.session_of(event_id, scope)
        session = store.session(session_id, scope) if session_id is not None else None
        assert session is not None
        assert [e.output for e in session.events if e.id == event_id][-1] == output
