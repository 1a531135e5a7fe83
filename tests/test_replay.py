"""Replaying: the reorder buffer at its boundary, grouping, and accounting for every line."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import Rules, Sessionizer
from sessionkit.replay import (
    LogEvent,
    LogReader,
    OutputSet,
    RejectedLine,
    ReorderBuffer,
    Replayed,
    ReplaySummary,
    compare_rules,
    replay_records,
)
from sessionkit.storage import ClosedIdFile, SQLiteStore, Tracker

from .helpers import T0, US
from .reference import ReferenceModel

SECOND = timedelta(seconds=1)
#: How gzip, bzip2 and xz streams start: a file that starts so is read as one.
COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


def line(event_id: str, seconds: float, user: str = "alice", **fields: Any) -> str:
    record = {
        "event_id": event_id,
        "timestamp": (T0 + timedelta(seconds=seconds)).isoformat(),
        "event_type": "user_agent",
        "metadata": {"user_id": user},
        **fields,
    }
    return json.dumps(record)


def reader(*lines: str | bytes) -> LogReader:
    data = b"".join((item if isinstance(item, bytes) else item.encode()) + b"\n" for item in lines)
    return LogReader(["-"], stdin=io.BytesIO(data))


def run(
    log: LogReader, grouper: Sessionizer | Tracker | None = None, lateness: float = 0
) -> tuple[list[Replayed | OutputSet | RejectedLine], ReplaySummary]:
    summary = ReplaySummary()
    grouper = grouper or Sessionizer()
    group = grouper.track_each if isinstance(grouper, Tracker) else grouper.feed_each
    outcomes = list(replay_records(log, group, max_lateness=timedelta(seconds=lateness)))
    for outcome in outcomes:
        summary.add(outcome)
    summary.lines_read = log.lines_read
    return outcomes, summary


class TestReorderBuffer:
    def test_strict_order_holds_nothing(self) -> None:
        """With no lateness, each item comes out at once; equal times are in order."""
        buffer: ReorderBuffer[str] = ReorderBuffer()
        assert buffer.push(T0, "a") == ["a"]
        assert buffer.push(T0, "b") == ["b"]
        assert not buffer.accepts(T0 - US)
        assert len(buffer) == 0

    def test_exactly_max_lateness_behind_is_in_time(self) -> None:
        """Lateness is inclusive, like the rules' windows: exactly L behind is accepted,
        one microsecond more is late."""
        buffer: ReorderBuffer[str] = ReorderBuffer(timedelta(seconds=30))
        assert buffer.push(T0 + 30 * SECOND, "newest") == ["newest"][:0]  # held
        assert buffer.accepts(T0)
        assert not buffer.accepts(T0 - US)
        assert buffer.lateness(T0 - US) == 30 * SECOND + US
        assert buffer.push(T0, "exactly-late") == ["exactly-late"]  # at the watermark: out
        assert buffer.flush() == ["newest"]

    def test_items_come_out_in_time_order_ties_by_arrival(self) -> None:
        """Released in order of time, equal times in the order they arrived."""
        buffer: ReorderBuffer[str] = ReorderBuffer(timedelta(seconds=10))
        out: list[str] = []
        for seconds, name in [(5, "c"), (1, "a"), (5, "d"), (3, "b"), (1, "a2"), (20, "e")]:
            out += buffer.push(T0 + seconds * SECOND, name)
        assert out == ["a", "a2", "b", "c", "d"]
        assert buffer.flush() == ["e"]

    def test_pushing_a_late_item_is_an_error(self) -> None:
        buffer: ReorderBuffer[str] = ReorderBuffer(SECOND)
        buffer.push(T0 + 10 * SECOND, "x")
        with pytest.raises(ValueError, match="late"):
            buffer.push(T0, "y")

    def test_negative_lateness_is_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            ReorderBuffer(-SECOND)

    @given(
        st.lists(st.integers(min_value=0, max_value=100), max_size=40),
        st.integers(min_value=0, max_value=30),
    )
    def test_against_a_plain_model(self, times: list[int], lateness: int) -> None:
        """Accepted items are exactly those at most L behind the running maximum; they come
        out sorted by (time, arrival), each once."""
        buffer: ReorderBuffer[int] = ReorderBuffer(lateness * SECOND)
        released: list[int] = []
        accepted: list[int] = []
        newest: int | None = None
        for index, seconds in enumerate(times):
            in_time = newest is None or newest - seconds <= lateness
            assert buffer.accepts(T0 + seconds * SECOND) is in_time
            if in_time:
                accepted.append(index)
                released += buffer.push(T0 + seconds * SECOND, index)
                newest = seconds if newest is None else max(newest, seconds)
        released += buffer.flush()
        assert released == sorted(accepted, key=lambda i: (times[i], i))


class TestReplay:
    def test_late_lines_are_rejected_and_reorderable_ones_are_reordered(self) -> None:
        """The default is strict order: a line 1 s behind is late. With --max-lateness 1s
        it is put back in place, and grouping is as if it had come in order."""
        lines = [line("q1", 0), line("q3", 60), line("q2", 59), line("q4", 120)]
        outcomes, summary = run(reader(*lines))
        assert [o.reason for o in outcomes if isinstance(o, RejectedLine)] == ["late"]
        assert summary.balanced and summary.rejected == 1

        outcomes, summary = run(reader(*lines), lateness=1)
        order = [o.assignment.event.id for o in outcomes if isinstance(o, Replayed)]
        assert order == ["q1", "q2", "q3", "q4"]
        assert summary.rejected == 0
        # q2 and q3 are 1 s apart: one session; q1 and q4 stand alone.
        assert summary.sessions == 3

    def test_lateness_boundary_end_to_end(self) -> None:
        """Exactly --max-lateness behind is reordered; 1 µs more is rejected as late."""
        newest = line("b", 30)
        exactly = line("a", 0)
        beyond = json.dumps({**json.loads(line("c", 0)), "timestamp": (T0 - US).isoformat()})
        outcomes, _ = run(reader(newest, exactly, beyond), lateness=30)
        grouped = [o.assignment.event.id for o in outcomes if isinstance(o, Replayed)]
        assert grouped == ["a", "b"]  # a is at the watermark: released, before b
        (late,) = [o for o in outcomes if isinstance(o, RejectedLine)]
        assert late.reason == "late"
        assert (late.line, "30s" in late.detail) == (3, True)

    def test_refusals_of_the_rules_are_rejected_lines(self) -> None:
        """Content for an ended session is rejected as session_closed, with its line."""
        log = reader(
            line("q1", 0, session_id="s1", session_end=True),
            line("q2", 10, session_id="s1"),
            line("q3", 20),
        )
        outcomes, summary = run(log)
        rejected = [o for o in outcomes if isinstance(o, RejectedLine)]
        assert [(r.line, r.reason) for r in rejected] == [(2, "session_closed")]
        assert "q2" in rejected[0].raw
        assert summary.to_json()["rejected_by_reason"] == {"session_closed": 1}

    def test_duplicates_are_counted_not_grouped_twice(self) -> None:
        _, summary = run(reader(line("q1", 0), line("q1", 0), line("q2", 1)))
        assert (summary.accepted, summary.duplicates, summary.sessions) == (2, 1, 1)

    def test_a_tracker_groups_like_a_sessionizer(self, tmp_path: Path) -> None:
        """Batches of a Tracker (any size) give the same outcomes as feeding one by one."""
        lines = [line(f"q{i}", i * 20, user=f"u{i % 3}") for i in range(25)]
        lines.insert(7, "{oops")
        lines.insert(12, line("q3", 60))  # a duplicate
        lines.insert(15, line("late", 0))
        expected, _ = run(reader(*lines))
        for batch_size in (1, 4, 1000):
            with Tracker(SQLiteStore(tmp_path / f"{batch_size}.db")) as tracker:
                log = reader(*lines)
                got = list(replay_records(log, tracker.track_each, batch_size=batch_size))
            assert sorted(map(repr, got)) == sorted(map(repr, expected))

    def test_appending_to_a_store_rejects_what_is_earlier(self, tmp_path: Path) -> None:
        """A log older than the store's time is out_of_order (not late): the store is ahead."""
        with Tracker(SQLiteStore(tmp_path / "s.db")) as tracker:
            run(reader(line("q1", 100)), tracker)
        with Tracker(SQLiteStore(tmp_path / "s.db")) as tracker:
            outcomes, _ = run(reader(line("q0", 50), line("q2", 101)), tracker)
        assert [getattr(o, "reason", "ok") for o in outcomes] == ["out_of_order", "ok"]

    def test_the_grouping_is_the_reference_models(self) -> None:
        """Replaying lines groups their events as the plain model of the rules does."""
        lines = [line(f"q{i}", i * 30, user=f"u{i % 2}") for i in range(12)]
        lines += [line("r1", 400, user="u0", parent_event_id="q3"), line("q3", 401), "{broken"]
        outcomes, _ = run(reader(*lines))
        model = ReferenceModel(Rules())
        expected = {}
        for record in reader(*lines):
            if isinstance(record, LogEvent):
                outcome = model.feed(record.event)
                expected[record.line] = outcome.session_id if outcome.kind != "rejected" else None
        got = {
            o.line: o.assignment.session_id if isinstance(o, Replayed) else None for o in outcomes
        }
        assert got == {**expected, 15: None}  # the broken line is rejected by the reader


# Lines made of valid records, mutated: cut short, bytes flipped, fields dropped or retyped.
valid = st.builds(
    line,
    st.text(alphabet="abc", min_size=1, max_size=3),
    st.integers(min_value=0, max_value=200),
    st.sampled_from(["alice", "bob"]),
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    text = draw(valid).encode()
    how = draw(st.sampled_from(["keep", "cut", "flip", "drop", "retype", "garbage", "blank"]))
    if how == "cut":
        return text[: draw(st.integers(0, len(text)))]
    if how == "flip":
        at = draw(st.integers(0, len(text) - 1))
        return text[:at] + bytes([draw(st.integers(0, 255))]) + text[at + 1 :]
    if how in {"drop", "retype"}:
        record = json.loads(text)
        key = draw(st.sampled_from(sorted(record)))
        if how == "drop":
            del record[key]
        else:
            record[key] = draw(st.sampled_from([None, 1, 1.5, True, [], {}, "", "x"]))
        return json.dumps(record).encode()
    if how == "garbage":  # (a first line starting like gzip, bzip2 or xz makes the input that)
        garbage = draw(st.binary(max_size=30).filter(lambda b: not b.startswith(COMPRESSED)))
        return garbage.replace(b"\n", b"").replace(b"\r", b"")
    if how == "blank":
        return b"   "
    return text


@given(st.lists(mutated(), max_size=30), st.integers(min_value=0, max_value=30))
def test_every_line_is_accounted_for(lines: list[bytes], lateness: int) -> None:
    """Whatever the lines, nothing crashes and accepted + duplicates + outputs + rejected
    equals the non-empty lines read; each line has exactly one outcome."""
    log = reader(*lines)
    outcomes, summary = run(log, lateness=lateness)
    # A flipped byte may be a newline: the file's lines are what the bytes say.
    # (A byte order mark at the very start is skipped, not a line's content.)
    data = b"".join(item + b"\n" for item in lines).removeprefix(b"\xef\xbb\xbf")
    physical = data.split(b"\n")[:-1]
    non_empty = [n for n, item in enumerate(physical, 1) if item.strip()]
    assert log.lines_read == len(non_empty)
    assert summary.balanced
    assert sorted(outcome.line for outcome in outcomes) == non_empty


@given(st.integers(min_value=0, max_value=400))
def test_a_gzip_file_cut_short(cut: int) -> None:
    """The lines before the cut are read; the unreadable rest is one rejected line."""
    import gzip

    data = gzip.compress("".join(line(f"q{i}", i) + "\n" for i in range(20)).encode())
    kept = data[: 2 + (len(data) - 2) * cut // 400]  # at least the gzip magic
    log = LogReader(["-"], stdin=io.BytesIO(kept))
    outcomes, summary = run(log)
    assert summary.balanced
    rejected = [o.reason for o in outcomes if isinstance(o, RejectedLine)]
    assert rejected == ([] if cut == 400 else ["unreadable"])
    assert summary.accepted == 20 or cut < 400


def test_comparing_rule_sets() -> None:
    """A wider window merges; a narrower one splits; the same rules change nothing."""
    lines = [line("q1", 0), line("q2", 40), line("q3", 100), line("q4", 300, user="bob")]
    wide = compare_rules(reader(*lines), Rules(), Rules(join_window=timedelta(minutes=2)))
    assert (wide.groups["merged"], wide.groups["unchanged"]) == (1, 1)
    (merge,) = wide.examples["merged"]
    assert [ref.first_event_id for ref in merge.a] == ["q1", "q3"]
    assert [ref.first_event_id for ref in merge.b] == ["q1"]

    narrow = compare_rules(reader(*lines), Rules(), Rules(join_window=timedelta(seconds=30)))
    assert (narrow.groups["split"], narrow.sessions_b["split"]) == (1, 2)
    assert narrow.events_both == 4

    same = compare_rules(reader(*lines), Rules(), Rules())
    assert same.groups["unchanged"] == 3
    assert sum(same.groups.values()) == 3


def test_comparing_when_one_rule_set_refuses() -> None:
    """An event refused under b only is counted apart, and its group is not unchanged."""
    lines = [line("q1", 0, session_id="s"), line("q2", 600, session_id="s"), "{bad"]
    result = compare_rules(reader(*lines), Rules(), Rules(idle_timeout=timedelta(minutes=5)))
    assert (result.events_both, result.events_only_a, result.events_neither) == (1, 1, 1)
    assert result.groups["regrouped"] == 1
    assert datetime.fromisoformat(T0.isoformat()) == result.examples["regrouped"][0].a[0].started_at


def test_closed_ids_in_a_file_are_refused_for_good() -> None:
    """Without a store, closed ids live in a temporary file; an id closed long ago (forgotten
    by the Sessionizer, written to the file) is still refused; the file goes on close."""
    with ClosedIdFile() as closed_ids:
        closed_ids.FLUSH = 3
        sessionizer = Sessionizer(closed_sessions=closed_ids)
        log = [line(f"q{i}", i * 100, session_id=f"s{i}") for i in range(3)]
        log += [line("tick", 200_000, user="bob"), line("again", 200_001, session_id="s0")]
        outcomes = list(replay_records(reader(*log), sessionizer.feed_each))
        assert [getattr(o, "reason", "ok") for o in outcomes] == ["ok"] * 4 + ["session_closed"]
        assert sessionizer.closed_session_count == 0  # nothing held by the Sessionizer
        assert not closed_ids._pending  # the three closings went to the file together
        queries: list[str] = []
        closed_ids._db.set_trace_callback(queries.append)
        assert closed_ids.is_closed("s0", "") and closed_ids.is_closed("s2", "")
        assert len(queries) == 2  # in the file, found there
        assert not closed_ids.is_closed("s0", "other-scope")
        assert not closed_ids.is_closed("never-closed", "")
        assert len(queries) == 2  # the Bloom filter answered: no look-up in the file
        folder = Path(closed_ids._folder.name)
        assert folder.exists()
    assert not folder.exists()
