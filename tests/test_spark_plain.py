"""The plain-Python parts of sessionkit.spark, run in-process: no Spark, no Java.

What a Spark task does to a partition is checked here against ``sessionkit replay``'s own
path (``replay_records`` over a ``LogReader``) and against a plain Sessionizer.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from sessionkit import (
    Event,
    Participant,
    ParticipantKind,
    Rules,
    Sessionizer,
    SessionStatus,
    SessionSummary,
)
from sessionkit.replay import (
    LogLayout,
    LogReader,
    OutputSet,
    RejectedLine,
    Replayed,
    TimestampParser,
    replay_records,
)
from sessionkit.spark._engine import mark_late_packed
from sessionkit.spark._plain import (
    Components,
    Item,
    Outcome,
    SessionRow,
    Unpacker,
    feed_partition,
    items_of_log,
    items_of_records,
    micros,
    pack,
    session_order,
    session_row,
    settle,
)

LOG = Path(__file__).resolve().parent.parent / "examples" / "agent-log.jsonl"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def mark_late(items: list[Item], newest_us: int | None, max_lateness: timedelta) -> list[Item]:
    """mark_late_packed, on items (a task packs and unpacks them)."""
    return list(map(Unpacker(), mark_late_packed(map(pack, items), newest_us, max_lateness)))


def fed(items: list[Item], rules: Rules | None = None) -> tuple[list[Outcome], list[SessionRow]]:
    """A partition's items fed as a Spark task feeds them: events by (time, position)."""
    timed = [i for i in items if i.event is not None or i.output is not None]
    timed.sort(key=lambda i: (micros((i.event or i.output).at), i.position))  # type: ignore[union-attr]
    outcomes: list[Outcome] = []
    sessions: list[SessionRow] = []
    untimed = [i for i in items if i.event is None and i.output is None]
    for tag, row in feed_partition([*timed, *untimed], rules or Rules()):
        if tag == "a":
            assert isinstance(row, Outcome)
            outcomes.append(row)
        else:
            assert isinstance(row, SessionRow)
            sessions.append(row)
    return outcomes, sessions


def test_a_partition_decides_as_replay_does() -> None:
    """The example log, read by items_of_log and fed as one partition: every line's outcome,
    and every session in --sessions-out order, as replay_records gives them."""
    items, lines = items_of_log(LOG.read_bytes(), str(LOG), 0, LogReader)
    outcomes, sessions = fed(mark_late(items, None, timedelta(0)))
    reader = LogReader([LOG])
    sessionizer = Sessionizer()
    expected_sessions: list[SessionSummary] = []
    expected: dict[int, tuple[object, ...]] = {}
    for outcome in replay_records(reader, sessionizer.feed_each):
        if isinstance(outcome, Replayed):
            a = outcome.assignment
            expected[outcome.line] = (a.session_id, a.rule.value, a.started, a.header, None, None)
            expected_sessions += a.closed
        else:
            assert isinstance(outcome, RejectedLine)
            expected[outcome.line] = (None, None, None, None, outcome.reason, outcome.detail)
    expected_sessions += sessionizer.open_sessions()
    got = {
        o.line: (o.session_id, o.rule, o.started, o.header, o.reason, o.detail) for o in outcomes
    }
    assert got == expected
    assert lines == reader.lines_read == len(outcomes)
    ordered = sorted(sessions, key=session_order)
    assert [row.summary() for row in ordered] == expected_sessions


def test_outputs_sent_alone_are_decided_as_replay_decides_them() -> None:
    """Outputs sent alone and repeats (late within the lateness, conflicting, unknown), packed
    as a task packs them: every outcome as replay_records gives it."""
    lines = [
        {"event_id": "q1", "timestamp": "2026-03-02T09:00:05Z", "event_type": "user_agent",
         "metadata": {"user_id": "ann"}, "input": "hi"},
        {"event_id": "q1", "timestamp": "2026-03-02T09:00:06Z", "output": "first"},
        {"event_id": "q1", "timestamp": "2026-03-02T09:00:06Z", "output": "other"},
        {"event_id": "q1", "timestamp": "2026-03-02T09:00:07Z", "event_type": "user_agent",
         "metadata": {"user_id": "bob"}, "input": "hi"},
        {"event_id": "q9", "timestamp": "2026-03-02T09:00:08Z", "output": "x"},
        {"event_id": "q1", "timestamp": "2026-03-02T08:00:00Z", "output": "far too late"},
    ]  # fmt: skip
    content = "".join(json.dumps(line) + "\n" for line in lines).encode()
    lateness = timedelta(seconds=2)
    items, _ = items_of_log(content, "x.jsonl", 0, LogReader)
    outcomes, _ = fed(mark_late(items, None, lateness))
    got = {o.line: (o.session_id is not None, o.output_set, o.reason) for o in outcomes}
    reader = LogReader(["-"], stdin=io.BytesIO(content), stdin_name="x.jsonl")
    want: dict[int, tuple[bool, bool | None, str | None]] = {}
    for o in replay_records(reader, Sessionizer(), max_lateness=lateness):
        if isinstance(o, OutputSet):
            want[o.line] = (True, True, None)
        elif isinstance(o, Replayed):
            want[o.line] = (True, False, None)
        else:
            want[o.line] = (False, None, o.reason)
    assert got == want
    assert [want[n][2] for n in range(1, 7)] == [
        None, None, "conflicting_duplicate", "conflicting_duplicate", "unknown_event", "late",
    ]  # fmt: skip


def test_a_named_stream_reads_as_that_file() -> None:
    """items_of_log names lines by the path given, and reads a .csv name as CSV."""
    record = (
        b'{"event_id": "a", "timestamp": "2026-03-02T09:00:00Z", "event_type": "user_agent", '
        b'"initiator": {"type": "user", "name": "ann"}}'
    )
    items, _ = items_of_log(record + b"\nnot json\n", "logs/x.jsonl", 3, LogReader)
    assert [(i.source, i.line, i.reason) for i in items] == [
        ("logs/x.jsonl", 1, None),
        ("logs/x.jsonl", 2, "malformed_json"),
    ]
    assert items[1].position == (3 << 40) | 2
    table = b"event_id,timestamp,event_type,initiator.type,initiator.name\n"
    table += b"b,2026-03-02T09:00:00Z,user_agent,user,ann\n"
    [row], _ = items_of_log(table, "logs/x.csv", 0, LogReader)
    assert row.event is not None and row.event.id == "b"


def test_nulls_read_as_absent_fields() -> None:
    """A DataFrame row's nulls (None) map as the field being absent: no NaN, no false truths."""
    record = {
        "event_id": "q1",
        "timestamp": "2026-03-02T09:00:00Z",
        "event_type": "user_agent",
        "initiator": {"type": "user", "name": "ann"},
    }
    nulls = {**record, "session_id": None, "session_end": None, "parent_event_id": None}
    [plain, with_nulls] = items_of_records([(1, record), (1, nulls)], LogLayout(), _parser())
    assert plain.event is not None and with_nulls.event is not None
    assert with_nulls.event.session_id is None and not with_nulls.event.ends_session
    assert with_nulls.event.id == plain.event.id and with_nulls.event.at == plain.event.at


def _parser() -> TimestampParser:
    return TimestampParser()


def event(id: str, seconds: float, user: str = "ann", scope: str = "", **fields: object) -> Event:
    return Event(
        id=id,
        at=T0 + timedelta(seconds=seconds),
        initiator=Participant(ParticipantKind.USER, user),
        scope=scope,
        **fields,  # type: ignore[arg-type]
    )


def test_settle_closes_what_went_idle_by_the_last_event() -> None:
    """Open at its partition's end, idle by the end of all: closed at its horizon (rule 7)."""
    rules = Rules()
    _, [row] = fed([Item(1, None, None, event("q1", 0), None)])
    assert row.status == SessionStatus.OPEN.value
    horizon = micros(T0 + rules.idle_timeout)
    assert settle(row, horizon - 1, rules) == row
    closed = settle(row, horizon, rules)
    assert (closed.status, closed.close_reason, closed.closed_us) == ("closed", "idle", horizon)


def test_a_refusal_carries_the_detail_it_gets_once_the_session_is_forgotten() -> None:
    """Scope A names its idle session after 26 h. Alone, A still remembers it ("closed at ...");
    in one process an event of scope B at 25 h has made it forgotten ("closed"). The partition
    gives both details, and from when the second applies."""
    a1 = event("a1", 0, scope="A", session_id="s")
    b1 = event("b1", 25 * 3600, user="bob", scope="B")
    a2 = event("a2", 26 * 3600, scope="A", session_id="s")
    outcomes, _ = fed([Item(1, None, None, a1, None), Item(3, None, None, a2, None)])
    refused = outcomes[-1]
    whole = Sessionizer()
    whole.feed(a1)
    whole.feed(b1)
    try:
        whole.feed(a2)
    except Exception as error:
        in_one_process = str(error)
    assert refused.reason == "session_closed"
    assert refused.detail != in_one_process and refused.swept_detail == in_one_process
    assert refused.swept_from_us == micros(T0 + Rules().idle_timeout)


nodes = st.tuples(st.sampled_from(["", "b"]), st.sampled_from("abcdefgh"))


Node = tuple[str, str]


@given(st.lists(st.tuples(nodes, nodes), max_size=20))
def test_components_are_the_connected_user_keys(links: list[tuple[Node, Node]]) -> None:
    """Two nodes share a root exactly when the links connect them (checked by a search)."""
    components = Components(links)
    roots: dict[Node, Node] = {n: n for link in links for n in link}
    roots.update(components.roots())
    graph: dict[Node, set[Node]] = defaultdict(set)
    for a, b in links:
        graph[a].add(b)
        graph[b].add(a)
    for start in graph:
        seen, todo = {start}, [start]
        while todo:
            for following in graph[todo.pop()] - seen:
                seen.add(following)
                todo.append(following)
        assert {n for n in graph if roots[n] == roots[start]} == seen
        assert roots[start] == min(seen)


def test_session_rows_keep_times_in_their_offsets() -> None:
    """A session row gives back the summary exactly, offsets included."""
    at = datetime(2026, 3, 29, 3, 0, 10, 123456, tzinfo=timezone(timedelta(hours=2)))
    summary = SessionSummary("s", "", True, "q", at, at, 1, SessionStatus.OPEN, None, None)
    assert session_row(summary, 7).summary() == summary
    assert session_row(summary, 7).summary().started_at.utcoffset() == timedelta(hours=2)


def test_lateness_as_replay_decides_it() -> None:
    """mark_late rejects what replay_records rejects as late, with the same detail."""
    times = [0, 10, 5, 30, 14, 31, 1]
    lines = [
        f'{{"event_id": "e{i}", "timestamp": "{(T0 + timedelta(seconds=s)).isoformat()}", '
        f'"initiator": {{"type": "user", "name": "u"}}, "event_type": "user_agent"}}'
        for i, s in enumerate(times)
    ]
    data = ("\n".join(lines) + "\n").encode()
    for lateness in (timedelta(0), timedelta(seconds=16)):
        items, _ = items_of_log(data, "<stdin>", 0, LogReader)
        marked = mark_late(items, None, lateness)
        reader = LogReader(["-"], stdin=io.BytesIO(data))
        expected = [
            (o.line, o.detail)
            for o in replay_records(reader, Sessionizer().feed_each, max_lateness=lateness)
            if isinstance(o, RejectedLine)
        ]
        assert [(i.line, i.detail) for i in marked if i.reason == "late"] == expected
        assert expected  # each lateness rejects some
