"""The lean replay gives what the replay of Events gives: the Sessionizer's field-level door
decides as ``feed`` does, a layout's compiled reading maps as its mapper does, and
``replay_lean`` yields ``replay_records``'s outcomes — on the example log, synthetic logs,
hostile lines, repeats, outputs sent alone and late lines."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionkit import (
    Assignment,
    LogLineError,
    Participant,
    ParticipantKind,
    RefusedEventError,
    Rules,
    Sessionizer,
    SessionSummary,
    StoreError,
)
from sessionkit.cli import main
from sessionkit.replay import (
    EventMapper,
    KeptFields,
    LogLayout,
    LogReader,
    Replayed,
    TimestampParser,
    replay_lean,
    replay_records,
)
from sessionkit.replay._compiled import compile_fields, compile_typed
from sessionkit.storage import Batch, MemoryStore, SQLiteStore, Tracker
from sessionkit.testing.synth import generate

from .helpers import T0
from .strategies import rules_strategy, streams
from .test_fast import HOSTILE
from .test_repeats import line as prompt
from .test_repeats import output_line
from .test_replay import mutated

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "agent-log.jsonl"


# -- the door -------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_field_level_door_decides_as_feed(data: st.DataObject) -> None:
    """Event by event the same placement (or both refuse), and the same state at the end."""
    rules = data.draw(rules_strategy)
    events = data.draw(streams(rules, max_size=40))
    by_event, by_fields = Sessionizer(rules), Sessionizer(rules)
    for event in events:
        try:
            want: tuple[object, ...] | None = tuple(by_event.feed(event))[1:]
        except RefusedEventError:
            want = None
        got = by_fields._place(
            None, event.id, event.at, event.scope, event.initiator, event.user_id,
            event.session_id, event.parent_id, event.ends_session,
        )  # fmt: skip
        assert got == want
    assert by_fields.snapshot() == by_event.snapshot()


# -- the compiled reading -------------------------------------------------------------------------

LAYOUTS = [
    LogLayout(),
    LogLayout().with_fields({"user_id": "metadata.user_id,user", "session_id": "sid,session_id"}),
    LogLayout().with_fields({"user_id": "metadata.who.id", "event_id": "id"}),
    LogLayout(scope=(), follow_ups=False),
    LogLayout().with_fields({"input": "", "session_end": "end"}),
    LogLayout.preset("langsmith"),
    LogLayout.preset("langfuse"),
]

#: Values a field may hold: the usual ones, and every kind of odd one.
ODD = [None, "", 0, 7, 1.5, True, False, [], {}, ["x"], {"a": 1}]
VALUES: dict[str, list[Any]] = {
    "event_id": ["q1", "q2", *ODD],
    "id": ["q1", *ODD],
    "timestamp": [
        "2026-03-02T09:00:00Z",
        "2026-03-02T11:00:00+02:00",
        "2026-03-02 09:00",
        "x",
        *ODD,
    ],
    "created_at": ["2026-03-02T09:00:01Z", None],
    "start_time": ["2026-03-02T09:00:00", "2026-03-02T09:00:00.5Z", 1772442000, None],
    "startTime": ["2026-03-02T09:00:00Z", None],
    "event_type": ["user_agent", "agent_llm.plan", "agent_", "nope", *ODD],
    "initiator": [
        {"type": "user", "name": "alice"},
        {"type": "agent", "name": "bot"},
        {"type": "user", "name": ""},
        {"type": "user"},
        {"type": "robot", "name": "r"},
        {"type": 1, "name": "r"},
        {"name": "n"},
        *ODD,
    ],
    "metadata": [
        {"user_id": "alice"},
        {"user_id": "bob"},
        {"user_id": 5},
        {"who": {"id": "w"}},
        *ODD,
    ],
    "user": ["carol", *ODD],
    "metadata.user_id": ["dotted", None],
    "session_id": ["s1", *ODD],
    "sid": ["s2", None],
    "parent_event_id": ["q1", *ODD],
    "session_end": [True, "yes", "maybe", *ODD],
    "end": [True, None],
    "input": ["hi", {"text": "hi"}, *ODD],
    "output": ["hello", ["a"], *ODD],
    "profile_id": ["acme", "", 3, *ODD],
    "use_case_id": ["support", None],
    "run_type": ["llm", "chain", "tool", "nope", None],
    "name": ["step", None],
    "parent_run_id": ["q1", None],
    "type": ["GENERATION", "SPAN", None],
}


def usually(key: str) -> st.SearchStrategy[Any]:
    """A value of ``key``: its first (usual) one three times in four, else any."""
    values = VALUES[key]
    return st.sampled_from([values[0]] * 3 * len(values) + values)


#: Records of any of the keys above; those most layouts read are there more often than not.
_READ_MOST = ("event_id", "timestamp", "event_type", "initiator")
records = st.fixed_dictionaries(
    {key: usually(key) for key in _READ_MOST},
    optional={key: usually(key) for key in VALUES if key not in _READ_MOST},
)


def mapped(fields_of: Any, record: dict[str, Any]) -> object:
    """What mapping a record gives: its fields, or the error it raises."""
    try:
        return fields_of(record, "log", 3)
    except LogLineError as error:
        return ("error", error.reason, str(error))


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(LAYOUTS), records)
def test_the_compiled_reading_maps_as_the_mapper(layout: LogLayout, record: dict[str, Any]) -> None:
    mapper = EventMapper(layout, TimestampParser(assume_tz=timezone.utc))
    assert mapped(compile_fields(mapper), record) == mapped(mapper.fields, record)


USUAL = {
    "event_id": "q1",
    "timestamp": "2026-03-02T09:00:00Z",
    "event_type": "user_agent",
    "initiator": {"type": "user", "name": "alice"},
    "metadata": {"user_id": "alice"},
}

#: Records at the edge of what the compiled code maps itself.
EDGES = [
    USUAL,
    {**USUAL, "profile_id": "", "use_case_id": "support"},
    {**USUAL, "profile_id": 7},
    {**USUAL, "metadata": {"user_id": ""}},
    {**USUAL, "metadata": {"user_id": 5}},
    {**USUAL, "metadata": None, "metadata.user_id": "dotted"},
    {**USUAL, "metadata": "text", "metadata.user_id": "dotted"},
    {**USUAL, "session_id": ""},
    {**USUAL, "session_id": 3},
    {**USUAL, "parent_event_id": ""},
    {**USUAL, "event_id": ""},
    {**USUAL, "event_id": 12},
    {**USUAL, "timestamp": None, "created_at": "2026-03-02T09:00:01Z"},
    {**USUAL, "timestamp": 1772442000},
    {**USUAL, "input": None, "output": "late"},
    {**USUAL, "input": None, "output": "late", "event_type": None, "initiator": None},
    {**USUAL, "initiator": {"type": "user", "name": ""}},
    {**USUAL, "session_end": "yes", "input": {"a": 1}, "output": [1]},
    {**USUAL, "user": "carol", "sid": "s2"},
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("record", EDGES)
def test_records_at_the_edge_map_as_the_mapper(layout: LogLayout, record: dict[str, Any]) -> None:
    mapper = EventMapper(layout, TimestampParser(assume_tz=timezone.utc))
    assert mapped(compile_fields(mapper), record) == mapped(mapper.fields, record)


def typed_or_mapped(layout: LogLayout, record: dict[str, Any]) -> tuple[object, object]:
    """What the typed reading gives for the record's line (``None``: the path of dicts takes
    it), and what the mapper gives."""
    mapper = EventMapper(layout, TimestampParser(assume_tz=timezone.utc))
    typed = compile_typed(mapper)
    assert typed is not None
    return mapped(lambda r, *where: typed(json.dumps(r).encode(), *where), record), mapped(
        mapper.fields, record
    )


TYPED = [layout for layout in LAYOUTS if compile_typed(EventMapper(layout)) is not None]


@pytest.mark.decoders
@settings(max_examples=500, deadline=None)
@given(st.sampled_from(TYPED), records)
def test_the_typed_reading_maps_as_the_mapper(layout: LogLayout, record: dict[str, Any]) -> None:
    typed, want = typed_or_mapped(layout, record)
    assert typed is None or typed == want


@pytest.mark.decoders
@pytest.mark.parametrize("layout", TYPED)
@pytest.mark.parametrize("record", EDGES)
def test_records_at_the_edge_read_typed_as_the_mapper(
    layout: LogLayout, record: dict[str, Any]
) -> None:
    typed, want = typed_or_mapped(layout, record)
    assert typed is None or typed == want


@pytest.mark.decoders
def test_the_typed_reading_takes_the_usual_line_and_leaves_the_rest() -> None:
    typed = compile_typed(EventMapper())
    assert typed is not None
    assert typed(json.dumps(USUAL).encode(), "log", 1) == EventMapper().fields(
        dict(USUAL), "log", 1
    )
    for line in (b"[1]", b"{not json", json.dumps({**USUAL, "event_id": 5}).encode()):
        assert typed(line, "log", 1) is None
    assert compile_typed(EventMapper(LogLayout.preset("langsmith"))) is None  # three levels deep
    assert len(TYPED) >= 4


#: Initiators and event types of lines read one after another: who sent each line is looked
#: up by the initiator's JSON text and the event type, where those alone say it.
INITIATORS = [
    {"type": "user", "name": "alice"},
    {"name": "alice", "type": "user"},
    {"type": "user", "name": ""},  # the user id names it
    {"type": "agent", "name": "a1", "extra": [1, {"b": None}]},
    {"type": "agent", "name": "a2", "extra": "x" * 300},  # too long to keep
    {"type": 3, "name": "x"},
    "user",
    None,
    [1],
]
EVENT_TYPES = ["user_agent", "agent_llm", None, 7, ["user_agent"], "nonsense"]


@pytest.mark.decoders
def test_who_sent_a_line_is_read_typed_as_the_mapper_reads_it() -> None:
    typed = compile_typed(EventMapper())
    assert typed is not None
    records = [
        {**USUAL, "initiator": initiator, "event_type": event_type, "metadata": {"user_id": user}}
        for initiator in INITIATORS
        for event_type in EVENT_TYPES
        for user in ("alice", "bob")
    ]
    records += [{key: value for key, value in USUAL.items() if key != "initiator"}]
    for record in records * 2:  # the second time, what was seen is looked up
        got = mapped(lambda r, *where: typed(json.dumps(r).encode(), *where), record)
        want = mapped(EventMapper().fields, record)  # a mapper that has seen nothing else
        assert got is None or got == want
    cached = typed.__globals__["senders"]
    # alice's two spellings and a1, each by the event types that map (two names and none)
    assert sorted(cached, key=str) == sorted(["user_agent", "agent_llm", None], key=str)
    assert [len(texts) for texts in cached.values()] == [3, 3, 3]
    assert not typed.__globals__["NONE_SEEN"]


@pytest.mark.decoders
def test_who_sent_a_line_is_kept_for_so_many_texts_in_all() -> None:
    """The typed reading keeps at most the mapper's ``CACHE_LIMIT`` initiator texts, whatever
    the event types; a line past the limit is still read right."""
    mapper = EventMapper()
    mapper.CACHE_LIMIT = 5
    typed = compile_typed(mapper)
    assert typed is not None
    for n in range(8):
        for event_type in ("user_agent", "agent_llm"):
            kind = "user" if event_type == "user_agent" else "agent"
            record = {**USUAL, "event_type": event_type,
                      "initiator": {"type": kind, "name": f"n{n}"}}  # fmt: skip
            fields = typed(json.dumps(record).encode(), "log", 1)
            assert fields is not None
            assert fields[2] == Participant(ParticipantKind(kind), f"n{n}")
    cached = typed.__globals__["senders"]
    assert sum(len(texts) for texts in cached.values()) == 5


#: Lines whose oddity is in a field no layout reads, which msgspec skips unread.
SKIPPED = [
    json.dumps(USUAL)[:-1].encode() + b', "note": ' + value + b"}"
    for value in (
        b'"\xff"',
        b'"\xed\xa0\x80"',
        b"9" * 5000,
        b"1e400",
        b'"a\tb"',
        b"NaN",
        b'"\\ud800"',
        b"[1,]",
        b'"\\x"',
        b"-01",
        b'{"\xff": 1}',
    )
] + [json.dumps(USUAL)[:-1].encode() + b', "\xff": 1}']


@pytest.mark.decoders
def test_lean_records_read_hostile_lines_the_same_either_way() -> None:
    lines = [*HOSTILE, *SKIPPED, *(json.dumps(record).encode() for record in EDGES)]
    data = b"".join(line + b"\n" for line in lines)
    got = []
    for fast in (True, False):
        reader = LogReader(["-"], stdin=io.BytesIO(data), fast=fast)
        got.append([*reader.lean_records(), reader.lines_read])
    assert got[0] == got[1]
    skipped = got[1][len(HOSTILE) : len(HOSTILE) + len(SKIPPED)]
    assert {getattr(record, "reason", None) for record in skipped} == {
        None,
        "not_utf8",
        "malformed_json",
    }


def test_the_compiled_reading_takes_the_usual_record_itself() -> None:
    """The usual record is mapped by the compiled code, not handed to the mapper."""
    mapper = EventMapper()
    calls: list[object] = []
    mapper.fields = lambda *args: calls.append(args)  # type: ignore[method-assign, assignment]
    compiled = compile_fields(mapper)
    record = dict(USUAL)
    assert compiled(record, "log", 1) == EventMapper().fields(record, "log", 1)
    assert calls == []
    compiled({**record, "event_id": 5}, "log", 2)
    assert len(calls) == 1


def test_an_initiator_built_from_two_fields_is_not_compiled() -> None:
    mapper = EventMapper(LogLayout(initiator_type="role", initiator_name="who"))
    assert compile_fields(mapper) == mapper.fields


def test_an_empty_initiator_name_is_not_taken_from_another_event() -> None:
    """A user initiator without a name is named by the event's user id, each time (not by
    the first such event's, through a cache)."""
    mapper = EventMapper()
    for user in ("alice", "bob"):
        record = json.loads(prompt("q", 0, metadata={"user_id": user}))
        record["initiator"] = {"type": "user", "name": ""}
        event = mapper(record, "log", 1)
        assert event.initiator.id == user  # type: ignore[union-attr]


# -- the replay -----------------------------------------------------------------------------------


def normal(outcomes: Iterable[object]) -> Iterator[object]:
    """Outcomes made comparable: an accepted or duplicate event as its line, id, scope and
    placement, whether it came as a Placed tuple or a Replayed."""
    for outcome in outcomes:
        if isinstance(outcome, Replayed):
            a: Assignment = outcome.assignment
            yield (outcome.source, outcome.line, a.event.id, a.event.scope, tuple(a)[1:])
        elif type(outcome) is tuple:
            source, line, event_id, scope, placed = outcome
            yield (source, line, event_id, scope, tuple(placed))
        else:
            yield outcome


def both(data: bytes, lateness: float = 0, rules: Rules | None = None) -> tuple[list[object], ...]:
    """The outcomes of both replays of ``data``, with lines read and the grouping's state."""
    results = []
    for lean in (True, False):
        reader = LogReader(["-"], stdin=io.BytesIO(data), stdin_name="log")
        sessionizer = Sessionizer(rules)
        max_lateness = timedelta(seconds=lateness)
        outcomes = (
            replay_lean(reader.lean_records(), sessionizer, max_lateness=max_lateness)
            if lean
            else replay_records(reader, sessionizer, max_lateness=max_lateness, batch_size=1)
        )
        got = list(normal(outcomes))
        results.append([*got, reader.lines_read, sessionizer.snapshot()])
    return tuple(results)


def test_the_example_log_replays_the_same() -> None:
    lean, full = both(EXAMPLE.read_bytes())
    assert lean == full
    reasons = {getattr(o, "reason", None) for o in full}
    assert len(reasons) > 3  # the example log holds rejections of several kinds


@pytest.mark.parametrize("seed", [1, 2])
def test_synthetic_logs_replay_the_same(seed: int) -> None:
    data = "".join(json.dumps(record) + "\n" for record in generate(3000, 40, seed)).encode()
    lean, full = both(data)
    assert lean == full
    assert len(full) > 3000


#: A repeat, an output sent alone, conflicts and refusals, in one log.
REPEATS = [
    prompt("q1", 0),
    prompt("q1", 1),  # a duplicate
    prompt("q2", 2, output=None, session_id="s"),
    prompt("q2", 3, output="late answer", session_id="s"),  # sets the output
    prompt("q2", 4, input="other", session_id="s"),  # conflicting
    output_line("q1", 5, "answer"),
    output_line("q1", 6, "another answer"),  # conflicting
    output_line("nobody", 7, "x"),  # unknown
    prompt("q3", 8, session_id="s", session_end=True),
    prompt("q4", 9, session_id="s"),  # the session closed
    prompt("q5", 5),  # out of order: late
    prompt("q6", 10, parent_event_id="q3"),  # a parent in a closed session
]


@pytest.mark.parametrize("lateness", [0, 3, 30])
def test_repeats_outputs_and_refusals_replay_the_same(lateness: float) -> None:
    data = "".join(item + "\n" for item in REPEATS).encode()
    lean, full = both(data, lateness)
    assert lean == full
    reasons = {getattr(o, "reason", None) for o in full}
    assert {"conflicting_duplicate", "unknown_event", "session_closed"} <= reasons


def logs(known: list[str], max_size: int) -> st.SearchStrategy[bytes]:
    """Logs of hostile lines, ``known`` lines, and prompts of a few ids and times."""
    line = st.one_of(
        mutated(),
        st.sampled_from(known).map(str.encode),
        st.builds(
            lambda i, s: prompt(f"q{i}", s, session_id="s" if i % 2 else None).encode(),
            st.integers(0, 5),
            st.integers(0, 100),
        ),
    )
    return st.lists(line, max_size=max_size).map(lambda lines: b"".join(x + b"\n" for x in lines))


@settings(max_examples=300, deadline=None)
@given(logs(REPEATS, 40), st.integers(min_value=0, max_value=30), rules_strategy)
def test_any_lines_replay_the_same(data: bytes, lateness: int, rules: Rules) -> None:
    lean, full = both(data, lateness, rules)
    assert lean == full


# -- into a store ---------------------------------------------------------------------------------

#: Lines a store may not keep as they are, or keeps only after the full check: a lone
#: surrogate, metadata that is not plain JSON (NaN), nested and non-ASCII metadata, and an
#: unstorable repeat of an accepted event.
UNUSUAL = [
    prompt("u1", 20, input="\ud800"),
    prompt("u2", 21, metadata={"user_id": "ann", "score": float("nan")}),
    prompt("u3", 22, metadata={"user_id": "ann", "tags": ["a", {"b": 1.5}], "é": "ü"}),
    prompt("u4", 23, output="\u00e9t\u00e9", metadata={"user_id": "\u00e9"}),
    prompt("q1", 24, input="\udc00"),
]


def table_rows(store: SQLiteStore) -> list[list[tuple[Any, ...]]]:
    """Every row of every table of a SQLite store, in order."""
    tables = ("meta", "sessions", "events", "session_users")
    return [store._db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables]


#: The stores a replay is recorded into: SQLite in memory (recording each batch at once), a
#: SQLite file (recording each batch in a process of its own while the next is decided), a
#: memory store (given assignments), and a store that answers no queries (repeats are
#: compared with the fingerprints the Tracker keeps).
STORES = ("sqlite-memory", "sqlite-file", "memory", "recorder")


class Recorder:
    """A store that only records (a :class:`~sessionkit.storage.SessionRecorder`): a replay
    cannot look up in it the event a line repeats."""

    def __init__(self) -> None:
        self.memory = MemoryStore()

    def record(self, batch: Batch) -> None:
        self.memory.record(batch)

    def resume_point(self) -> tuple[Rules, datetime | None] | None:
        return self.memory.resume_point()

    def remembered_sessions(
        self, with_input_after: datetime | None
    ) -> Sequence[tuple[SessionSummary, Sequence[str]]]:
        return self.memory.remembered_sessions(with_input_after)

    def recent_events(
        self, at_or_after: datetime | None
    ) -> Sequence[tuple[str, str, datetime, str]]:
        return self.memory.recent_events(at_or_after)

    def is_closed(self, session_id: str, scope: str) -> bool:
        return self.memory.is_closed(session_id, scope)

    def close(self) -> None:
        self.memory.close()


def new_store(kind: str, path: str) -> SQLiteStore | MemoryStore | Recorder:
    """A new store of one of :data:`STORES` (``path`` for a file)."""
    if kind == "sqlite-file":
        return SQLiteStore(path)
    if kind == "sqlite-memory":
        return SQLiteStore(":memory:")
    return MemoryStore() if kind == "memory" else Recorder()


def stored(
    data: bytes, lateness: float = 0, rules: Rules | None = None
) -> tuple[dict[str, list[object]], ...]:
    """The outcomes of both replays of ``data`` through a Tracker on each of :data:`STORES`
    (batches of 4: refusals, repeats and closings fall at their edges), with lines read, the
    grouping's state and what the store holds (last)."""
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for lean in (True, False):
            got: dict[str, list[object]] = {}
            for kind in STORES:
                store = new_store(kind, os.path.join(folder, f"{lean}.db"))
                reader = LogReader(["-"], stdin=io.BytesIO(data), stdin_name="log")
                with Tracker(store, rules) as tracker:
                    late = timedelta(seconds=lateness)
                    outcomes = (
                        replay_lean(reader.lean_records(), tracker, max_lateness=late, batch_size=4)
                        if lean
                        else replay_records(reader, tracker, max_lateness=late, batch_size=4)
                    )
                    got[kind] = [
                        *normal(outcomes),
                        reader.lines_read,
                        tracker.sessionizer.snapshot(),
                        table_rows(store)
                        if isinstance(store, SQLiteStore)
                        else (store if isinstance(store, MemoryStore) else store.memory).sessions(
                            limit=10**6
                        ),
                    ]
            results.append(got)
    return tuple(results)


def test_the_example_log_is_stored_the_same() -> None:
    lean, full = stored(EXAMPLE.read_bytes())
    assert lean == full
    page: Any = lean["memory"][-1]
    assert len(page.items) > 20
    assert lean["sqlite-file"][-1] == lean["sqlite-memory"][-1]  # every row of every table


@pytest.mark.parametrize("lateness", [0, 3, 30])
def test_repeats_outputs_refusals_and_unstorable_lines_are_stored_the_same(
    lateness: float,
) -> None:
    data = "".join(item + "\n" for item in [*REPEATS, *UNUSUAL]).encode()
    lean, full = stored(data, lateness)
    assert lean == full
    for kind in STORES:
        reasons = {getattr(o, "reason", None) for o in full[kind]}
        assert {"conflicting_duplicate", "unknown_event", "session_closed"} <= reasons
        unstorable = {o.line for o in full[kind] if getattr(o, "reason", None) == "unstorable"}  # type: ignore[attr-defined]
        assert unstorable == {13, 14, 17}  # u1, u2 and the repeat of q1
    tables: Any = full["sqlite-file"][-1]
    assert [row[3] for row in tables[2]].count("u3") == 1  # nested metadata was kept
    assert tables == full["sqlite-memory"][-1]


def test_a_repeat_is_compared_before_the_next_batch_is_decided() -> None:
    """A repeat that sets its event's output is recorded before the next batch is decided:
    the next batch's time (a day later) would have forgotten the event's session."""
    lines = [
        prompt("q1", 0),
        prompt("q1", 1, output="the answer"),  # sets q1's output
        prompt("q2", 2),
        prompt("q3", 3),
        prompt("q4", 25 * 3600),  # the next batch of 4: q1's session is forgotten by now
    ]
    lean, full = stored("".join(line + "\n" for line in lines).encode())
    assert lean == full
    assert [type(o).__name__ for o in full["sqlite-file"][:5]] == [
        "tuple", "OutputSet", "tuple", "tuple", "tuple"
    ]  # fmt: skip


def test_synthetic_logs_are_stored_the_same() -> None:
    data = "".join(json.dumps(record) + "\n" for record in generate(2000, 30, 3)).encode()
    lean, full = stored(data)
    assert lean == full


@settings(max_examples=100, deadline=None)
@given(logs([*REPEATS, *UNUSUAL], 30), st.integers(min_value=0, max_value=30), rules_strategy)
def test_any_lines_are_stored_the_same(data: bytes, lateness: int, rules: Rules) -> None:
    lean, full = stored(data, lateness, rules)
    assert lean == full


def synthetic(lines: int) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in generate(lines, 20, 7)).encode()


def into(path: Path, data: bytes, **options: Any) -> Iterator[object]:
    """The lean replay of ``data`` into a Tracker on the SQLite file ``path``, in batches of
    50; the Tracker closes when the outcomes end (or are closed)."""
    reader = LogReader(["-"], stdin=io.BytesIO(data), stdin_name="log")
    with Tracker(SQLiteStore(path), **options) as tracker:
        yield tracker
        yield from replay_lean(
            reader.lean_records(), tracker, max_lateness=timedelta(0), batch_size=50
        )


def rows_of(path: Path) -> list[list[tuple[Any, ...]]]:
    with SQLiteStore(path, readonly=True) as store:
        return table_rows(store)


def test_a_batch_that_fails_to_be_recorded_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writing process fails on the third batch: the replay raises the store's error,
    the Tracker goes back to what the file holds, and replaying the log again ends with the
    rows of a replay that never failed."""
    import sessionkit.storage._sqlite as sqlite

    real, parent, written = sqlite._write, os.getpid(), [0]

    def failing(db: Any, rows: Any) -> None:
        if os.getpid() != parent:  # in the writing process
            written[0] += 1
            if written[0] == 3:
                raise sqlite3.OperationalError("database or disk is full")
        real(db, rows)

    monkeypatch.setattr(sqlite, "_write", failing)  # the forked writer has it too
    data = synthetic(300)
    outcomes = into(tmp_path / "a.db", data)
    tracker: Any = next(outcomes)
    with pytest.raises(StoreError, match=r"recording a batch failed: .*disk is full"):
        list(outcomes)
    assert len(rows_of(tmp_path / "a.db")[2]) == 100  # the first two batches, each whole
    back = tracker.sessionizer.snapshot()
    monkeypatch.setattr(sqlite, "_write", real)
    again = into(tmp_path / "a.db", data)
    assert next(again).sessionizer.snapshot() == back  # type: ignore[attr-defined]
    replayed = list(again)
    assert sum(type(o) is Replayed for o in replayed) == 100  # recorded before: duplicates
    clean = list(into(tmp_path / "b.db", data))
    assert len(clean) == len(replayed) + 1
    assert rows_of(tmp_path / "a.db") == rows_of(tmp_path / "b.db")


def test_stopping_early_leaves_the_tracker_as_the_store_is(tmp_path: Path) -> None:
    outcomes = into(tmp_path / "a.db", synthetic(300))
    tracker: Any = next(outcomes)
    for _ in range(60):  # past the first batch: the second is being recorded
        next(outcomes)
    outcomes.close()  # type: ignore[attr-defined]
    left = tracker.sessionizer.snapshot()
    again: Any = next(into(tmp_path / "a.db", b""))
    assert again.sessionizer.snapshot() == left
    assert len(rows_of(tmp_path / "a.db")[2]) in (50, 100)


def test_records_read_apart_are_not_stored() -> None:
    """KeptFields carry only what the grouping reads: a store would lose the rest."""
    ann = Participant(ParticipantKind.USER, "ann")
    kept = KeptFields("log", 1, ("q", T0, ann), b"", 0, lambda raw, source, line: None)  # type: ignore[arg-type, return-value]
    outcomes = replay_lean([kept], Tracker(MemoryStore()), max_lateness=timedelta(0))
    with pytest.raises(TypeError, match="KeptFields"):
        next(iter(outcomes))


def test_lean_records_need_the_readers_own_mapper() -> None:
    reader = LogReader(["-"], stdin=io.BytesIO(b""), mapper=lambda record, source, line: None)  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match="EventMapper"):
        reader.lean_records()


# -- the command ----------------------------------------------------------------------------------


def replayed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, *args: str
) -> list[Any]:
    """The summary and the files of ``sessionkit replay --no-db``: assignments (JSON Lines),
    sessions, rejects, then assignments as CSV from a second run."""
    files = [tmp_path / f"{name}{suffix}" for suffix in (".jsonl", "-s.jsonl", "-r.jsonl", ".csv")]
    documents = []
    for out in ([*files[:3]], [files[3]]):
        argv = ["replay", *args, "--no-db", "--quiet", "--out", str(out[0])]
        if len(out) == 3:
            argv += ["--sessions-out", str(out[1]), "--rejects", str(out[2]), "--format", "json"]
            argv.remove("--quiet")
        assert main(argv) in (0, 1)
        documents.append(capsys.readouterr().out)
    summary = json.loads(documents[0])
    del summary["seconds"], summary["events_per_second"]
    return [summary, *(f.read_bytes() for f in files)]


@pytest.mark.parametrize("lateness", ["0s", "2s"])
def test_the_command_writes_the_same_files_either_way(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    lateness: str,
) -> None:
    """``sessionkit replay --no-db`` takes the lean path; the same files come out of the
    path of Events (forced here by hiding the mapper's class from the command)."""
    log = tmp_path / "log.jsonl"
    log.write_bytes("".join(item + "\n" for item in REPEATS).encode() + EXAMPLE.read_bytes())
    lean = replayed(tmp_path, capsys, "lean", str(log), "--max-lateness", lateness)
    import sessionkit.cli._replay_command as command

    monkeypatch.setattr(command, "EventMapper", type("NotTheMapper", (), {}))
    full = replayed(tmp_path, capsys, "full", str(log), "--max-lateness", lateness)
    assert lean[0]["rejected"] > 0 and lean[0]["outputs"] > 0
    assert lean[:3] == full[:3]
    assert lean[4] == full[4]  # the CSV
    # Rejects in the order decided: the path of Events groups 50 events at a time, so a line
    # the reader rejects may come out before the refusal of an event above it.
    assert sorted(lean[3].splitlines()) == sorted(full[3].splitlines())


def test_a_mapper_of_a_subclass_is_called_not_compiled() -> None:
    """A subclass of EventMapper may change what a record means: its own methods map."""

    class Shouting(EventMapper):
        def __call__(self, record: dict[str, Any], source: str, line: int) -> Any:
            return super().__call__(
                {**record, "event_id": record["event_id"].upper()}, source, line
            )

        def fields(self, record: dict[str, Any], source: str, line: int) -> Any:
            return super().fields({**record, "event_id": record["event_id"].upper()}, source, line)

    data = json.dumps(USUAL).encode() + b"\n"
    reader = LogReader(["-"], stdin=io.BytesIO(data), mapper=Shouting())
    assert [record.event.id for record in reader] == ["Q1"]  # type: ignore[union-attr]
    reader = LogReader(["-"], stdin=io.BytesIO(data), mapper=Shouting())
    assert [record.fields[0] for record in reader.lean_records()] == ["Q1"]  # type: ignore[union-attr]


@given(
    st.lists(st.tuples(st.text(min_size=1), st.text(min_size=1)), max_size=20),
    st.integers(0, 1500),
)
def test_csv_pairs_are_written_as_the_csv_module_writes_them(
    tmp_path_factory: pytest.TempPathFactory, odd: list[tuple[str, str]], plain: int
) -> None:
    """The CSV of assignments: rows written straight (several hundred at a time) equal the
    csv module's, for any ids."""
    pairs = [(f"q{n}", f"s{n // 7}") for n in range(plain)]
    pairs[plain // 2 : plain // 2] = odd
    import csv

    from sessionkit.replay import AssignmentWriter

    folder = tmp_path_factory.mktemp("pairs")
    with AssignmentWriter(folder / "a.csv") as writer:
        pair = writer.pair_writer()
        assert pair is not None
        for event_id, session_id in pairs:
            pair(event_id, session_id)
    with open(folder / "b.csv", "w", encoding="utf-8", errors="surrogatepass", newline="") as f:
        rows = csv.writer(f, lineterminator="\n")
        rows.writerow(("event_id", "session_id"))
        rows.writerows(pairs)
    assert (folder / "a.csv").read_bytes() == (folder / "b.csv").read_bytes()
