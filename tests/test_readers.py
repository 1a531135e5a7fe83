"""Log readers: JSON Lines and CSV, the default layout, other layouts, and every rejection."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import pytest

from sessionkit import Event, LogLineError, Participant, ParticipantKind
from sessionkit.replay import (
    EVENT_TYPES,
    EventMapper,
    LogEvent,
    LogLayout,
    LogOutput,
    LogReader,
    OutputFollowUp,
    RejectedLine,
)

WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
USER, AGENT = ParticipantKind.USER, ParticipantKind.AGENT


def record(**fields: Any) -> dict[str, Any]:
    """A valid default-layout record, changed by ``fields`` (None removes a field)."""
    base: dict[str, Any] = {
        "event_id": "e1",
        "timestamp": "2026-03-02T09:00:00Z",
        "event_type": "user_agent",
        "initiator": {"type": "user", "name": "alice"},
        "metadata": {"user_id": "alice"},
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def jsonl(*lines: dict[str, Any] | str) -> bytes:
    return b"".join(
        (line if isinstance(line, str) else json.dumps(line)).encode() + b"\n" for line in lines
    )


def read(data: bytes, **options: Any) -> list[LogEvent | LogOutput | RejectedLine]:
    return list(LogReader(["-"], stdin=io.BytesIO(data), **options))


def one_event(data: bytes | dict[str, Any], **options: Any) -> Event:
    items = read(data if isinstance(data, bytes) else jsonl(data), **options)
    assert len(items) == 1
    assert isinstance(items[0], LogEvent), items[0]
    return items[0].event


def one_rejection(data: bytes | dict[str, Any] | str, **options: Any) -> RejectedLine:
    items = read(data if isinstance(data, bytes) else jsonl(data), **options)
    assert len(items) == 1
    assert isinstance(items[0], RejectedLine), items[0]
    return items[0]


class TestDefaultLayout:
    def test_every_field(self) -> None:
        """The wire format's fields land in the Event's fields."""
        event = one_event(
            record(
                session_id="s-1",
                parent_event_id="e0",
                profile_id="acme",
                session_end=True,
                input="Where is my order?",
                output="On its way.",
                metadata={"user_id": "alice", "plan": "pro"},
            )
        )
        assert event == Event(
            id="e1",
            at=WHEN,
            initiator=Participant(USER, "alice"),
            target=Participant(AGENT, "agent"),
            user_id="alice",
            session_id="s-1",
            parent_id="e0",
            scope="acme",
            ends_session=True,
            input="Where is my order?",
            output="On its way.",
            metadata={"user_id": "alice", "plan": "pro"},
        )

    @pytest.mark.parametrize(("name", "kinds"), sorted(EVENT_TYPES.items()))
    def test_every_event_type_long_and_short(
        self, name: str, kinds: tuple[ParticipantKind, ParticipantKind]
    ) -> None:
        """Without an initiator object, the type's first part is the initiator's kind, the second
        the target's; users are named by metadata.user_id, others by their kind."""
        event = one_event(record(event_type=name, initiator=None))
        assert (event.initiator.kind, event.target.kind if event.target else None) == kinds
        expected_name = "alice" if kinds[0] is USER else kinds[0].value
        assert event.initiator.id == expected_name

    def test_the_listed_types(self) -> None:
        """The table holds exactly the documented types."""
        assert set(EVENT_TYPES) == {
            "user_llm",
            "user_agent",
            "user_agt",
            "agent_llm",
            "agt_llm",
            "agent_tool",
            "agt_tool",
            "agent_agent",
            "agt_agt",
            "agent_mem",
            "agt_mem",
            "agent_init",
            "agt_init",
        }

    @pytest.mark.parametrize("name", ["agent_tool.mcp", "agent_llm.planning", "AGT_TOOL.Mcp"])
    def test_subtypes_and_case(self, name: str) -> None:
        """A subtype after a dot changes nothing; names are read in any case."""
        event = one_event(record(event_type=name, initiator=None))
        assert event.initiator.kind is AGENT

    @pytest.mark.parametrize("name", ["user_tool", "tool_agent", "agent_tool.", "llm", ""])
    def test_unknown_types(self, name: str) -> None:
        """Anything else is rejected as unknown_event_type, naming the type."""
        rejected = one_rejection(record(event_type=name))
        assert rejected.reason == "unknown_event_type"
        assert repr(name) in rejected.detail

    def test_the_initiator_object_wins_over_the_type(self) -> None:
        """A webhook (a tool) may send an agent_tool event: its kind comes from initiator."""
        event = one_event(
            record(event_type="agent_tool.webhook", initiator={"type": "tool", "name": "hook"})
        )
        assert event.initiator == Participant(ParticipantKind.TOOL, "hook")
        assert event.target == Participant(ParticipantKind.TOOL, "tool")

    @pytest.mark.parametrize(
        ("initiator", "expected"),
        [
            ({"type": "agt", "name": "a1"}, Participant(AGENT, "a1")),
            ({"type": "Memory", "name": "m"}, Participant(ParticipantKind.MEMORY, "m")),
            ({"type": "init", "name": 7}, Participant(ParticipantKind.INITIALIZATION, "7")),
            ({"type": "user"}, Participant(USER, "alice")),  # named by metadata.user_id
            ({"name": "bob"}, Participant(USER, "bob")),  # kind from the event type
        ],
    )
    def test_initiator_forms(self, initiator: dict[str, Any], expected: Participant) -> None:
        """Kind names long or short in any case; a missing part comes from elsewhere."""
        assert one_event(record(initiator=initiator)).initiator == expected

    def test_no_event_type_needs_an_initiator(self) -> None:
        """Without either, nobody sent the event: missing_field."""
        rejected = one_rejection(record(event_type=None, initiator=None))
        assert rejected.reason == "missing_field"
        assert "initiator" in rejected.detail

    def test_an_event_without_a_type_but_with_an_initiator_has_no_target(self) -> None:
        """The type is optional when the initiator says who sent the event."""
        event = one_event(record(event_type=None))
        assert event.initiator == Participant(USER, "alice")
        assert event.target is None

    def test_a_user_initiator_needs_a_name(self) -> None:
        """A user with neither a name nor a user_id cannot be told apart: missing_field."""
        rejected = one_rejection(record(initiator=None, metadata=None))
        assert (rejected.reason, "metadata.user_id" in rejected.detail) == ("missing_field", True)

    @pytest.mark.parametrize(
        ("fields", "reason", "named"),
        [
            ({"initiator": "alice"}, "wrong_type", "initiator"),
            ({"initiator": {"type": "robot", "name": "r"}}, "unknown_kind", "initiator.type"),
            ({"initiator": {"type": "user", "name": ["a"]}}, "wrong_type", "initiator.name"),
            ({"event_type": 3}, "wrong_type", "event_type"),
            ({"event_id": 1.5}, "wrong_type", "event_id"),
            ({"session_id": {"id": 1}}, "wrong_type", "session_id"),
            ({"parent_event_id": True}, "wrong_type", "parent_event_id"),
            ({"metadata": {"user_id": 5.0}}, "wrong_type", "metadata.user_id"),
            ({"metadata": "alice"}, "wrong_type", "metadata"),
            ({"session_end": "maybe"}, "wrong_type", "session_end"),
            ({"session_end": 2}, "wrong_type", "session_end"),
            ({"profile_id": 2.5}, "wrong_type", "profile_id"),
            ({"timestamp": None}, "missing_field", "timestamp, created_at, time"),
            ({"timestamp": "soon"}, "bad_timestamp", "soon"),
            ({"timestamp": "2026-03-02T09:00:00"}, "zoneless_timestamp", "no time zone"),
        ],
    )
    def test_field_problems(self, fields: dict[str, Any], reason: str, named: str) -> None:
        """Each problem is rejected with its reason, and the detail names the field or value."""
        rejected = one_rejection(record(**fields))
        assert rejected.reason == reason
        assert named in rejected.detail

    def test_ids_may_be_integers_and_empty_means_absent(self) -> None:
        """Numeric ids are read as text; empty optional ids are absent."""
        event = one_event(record(event_id=42, session_id="", parent_event_id="", profile_id=""))
        assert (event.id, event.session_id, event.parent_id, event.scope) == ("42", None, None, "")

    def test_a_missing_event_id_is_derived_from_source_and_line(self, tmp_path: Path) -> None:
        """The same file read twice gives the same ids: path as given, then the line number."""
        path = tmp_path / "log.jsonl"
        path.write_bytes(b"\n" + jsonl(record(event_id=None), record(event_id="")))
        ids = [item.event.id for item in LogReader([path]) if isinstance(item, LogEvent)]
        assert ids == [f"{path}:2", f"{path}:3"]

    @pytest.mark.parametrize(
        ("value", "ends"), [(True, True), (False, False), ("true", True), ("0", False), (1, True)]
    )
    def test_session_end_forms(self, value: object, ends: bool) -> None:
        """JSON booleans, and the words and digits CSV files use."""
        assert one_event(record(session_end=value)).ends_session is ends

    def test_scope_from_profile_or_use_case(self) -> None:
        """profile_id first, else use_case_id."""
        assert one_event(record(use_case_id="triage")).scope == "triage"
        assert one_event(record(profile_id="acme", use_case_id="triage")).scope == "acme"

    def test_time_fields_in_order(self) -> None:
        """timestamp, else created_at, else time; any documented form."""
        event = one_event(record(timestamp=None, created_at=1_772_442_000_000, time="x"))
        assert event.at == WHEN

    def test_non_text_input_is_kept_as_json_text(self) -> None:
        """Chat messages as objects are not lost: they become their JSON text."""
        event = one_event(record(input=[{"role": "user", "content": "hé"}], output=3))
        assert event.input == '[{"role":"user","content":"hé"}]'
        assert event.output == "3"


class TestOtherLayouts:
    def test_fields_renamed_and_nested(self) -> None:
        """with_fields renames; dotted names reach into nested objects."""
        layout = LogLayout().with_fields(
            {"user_id": "account", "event_id": "ids.event", "time": "ts, when"}
        )
        event = one_event(
            record(event_id=None, timestamp=None, ids={"event": "x9"}, when=WHEN.isoformat())
            | {"account": "acct-7", "initiator": {"type": "user", "name": "alice"}},
            layout=layout,
        )
        assert (event.id, event.user_id, event.at) == ("x9", "acct-7", WHEN)
        assert layout.time == ("ts", "when")

    def test_unknown_field_names_are_refused(self) -> None:
        """A typo in a field name is an error, not a silent no-op."""
        with pytest.raises(ValueError, match="unknown field 'user'"):
            LogLayout().with_fields({"user": "account"})

    def test_a_mapping_function(self) -> None:
        """A function of your own turns records into Events; LogLineError rejects."""

        def mapper(row: dict[str, Any], source: str, line: int) -> Event:
            if "who" not in row:
                raise LogLineError("no_author", "who is missing")
            return Event(
                id=f"{source}#{line}",
                at=datetime.fromtimestamp(row["t"], timezone.utc),
                initiator=Participant(USER, row["who"]),
            )

        items = read(jsonl({"who": "ann", "t": 0}, {"t": 1}), mapper=mapper)
        assert isinstance(items[0], LogEvent)
        assert items[0].event.id == "<stdin>#1"
        assert isinstance(items[1], RejectedLine)
        assert (items[1].reason, items[1].detail) == ("no_author", "who is missing")

    def test_an_event_the_core_refuses_is_invalid_event(self) -> None:
        """A mapping function that builds a refused Event rejects the line: invalid_event."""

        def mapper(row: dict[str, Any], source: str, line: int) -> Event:
            return Event(id=row["id"], at=WHEN, initiator=Participant(USER, "ann"))

        (rejected,) = read(jsonl({"id": ""}), mapper=mapper)
        assert isinstance(rejected, RejectedLine)
        assert (rejected.reason, rejected.detail) == (
            "invalid_event",
            "event '': id must be a non-empty string",
        )

    def test_a_mapper_excludes_a_layout(self) -> None:
        """Both at once would leave one unused: refused."""
        with pytest.raises(ValueError, match="either a mapper"):
            LogReader(["-"], mapper=EventMapper(), layout=LogLayout())

    def test_unknown_format(self) -> None:
        with pytest.raises(ValueError, match="unknown log format 'xml'"):
            LogReader(["-"], format="xml")


class TestJsonLines:
    def test_rejections_of_lines(self) -> None:
        """Malformed JSON, non-objects and non-UTF-8 lines each get their reason."""
        data = b'{broken\n[1, 2]\n"text"\n' + b'{"event_id": "\xff"}\n'
        reasons = [(item.line, item.reason) for item in read(data)]  # type: ignore[union-attr]
        assert reasons == [
            (1, "malformed_json"),
            (2, "not_an_object"),
            (3, "not_an_object"),
            (4, "not_utf8"),
        ]

    def test_the_raw_line_is_kept_exactly(self) -> None:
        """Even bytes that are not UTF-8 come back from raw with surrogateescape."""
        line = b'{"event_id": "caf\xe9"'
        rejected = one_rejection(line + b"\r\n")
        assert rejected.raw.encode("utf-8", "surrogateescape") == line

    def test_blank_lines_are_not_counted_but_keep_line_numbers(self) -> None:
        """Line numbers are the file's; only non-empty lines are read."""
        reader = LogReader(["-"], stdin=io.BytesIO(b"\n  \n" + jsonl(record()) + b"\n"))
        items = list(reader)
        assert [item.line for item in items] == [3]
        assert reader.lines_read == 1

    def test_a_last_line_without_newline(self) -> None:
        """The last line counts even without its newline; a truncated one is malformed."""
        data = jsonl(record()) + b'{"event_id": "e2", "timest'
        assert [type(item).__name__ for item in read(data)] == ["LogEvent", "RejectedLine"]


class TestCsv:
    HEADER = "event_id,timestamp,event_type,initiator.type,initiator.name,metadata.user_id,input"

    def read_csv(
        self, text: str, encoding: str = "utf-8"
    ) -> list[LogEvent | LogOutput | RejectedLine]:
        return read(text.encode(encoding), format="csv")

    def test_dotted_columns_nest_and_empty_cells_are_absent(self) -> None:
        """Columns named like the JSON paths; empty cells are missing fields."""
        items = self.read_csv(
            f"{self.HEADER},session_id\n"
            "e1,2026-03-02T09:00:00Z,user_agent,user,alice,alice,hello,\n"
        )
        assert isinstance(items[0], LogEvent)
        event = items[0].event
        assert (event.id, event.initiator, event.user_id, event.session_id) == (
            "e1",
            Participant(USER, "alice"),
            "alice",
            None,
        )
        assert event.metadata == {"user_id": "alice"}

    def test_multi_line_cells_and_line_numbers(self) -> None:
        """A quoted cell may span lines; the record's line is where it starts."""
        items = self.read_csv(
            f"{self.HEADER}\n\n"
            'e1,2026-03-02T09:00:00Z,user_agent,user,alice,alice,"two\nlines"\n'
            "e2,2026-03-02T09:00:01Z,user_agent,user,alice,alice,one\n"
        )
        assert [(item.line, item.event.input) for item in items] == [  # type: ignore[union-attr]
            (3, "two\nlines"),
            (5, "one"),
        ]

    def test_rows_with_too_many_cells_are_malformed(self) -> None:
        """A row that does not fit the header is rejected with its raw text."""
        (item,) = self.read_csv(
            f"{self.HEADER}\ne1,2026-03-02T09:00:00Z,user_agent,user,alice,alice,hi,extra\n"
        )
        assert isinstance(item, RejectedLine)
        assert (item.reason, item.raw) == (
            "malformed_csv",
            "e1,2026-03-02T09:00:00Z,user_agent,user,alice,alice,hi,extra",
        )

    def test_a_byte_order_mark_and_a_line_that_is_not_utf8(self) -> None:
        """Excel's BOM is skipped; a line in another encoding is rejected, not guessed."""
        data = (
            b"\xef\xbb\xbf"
            + self.HEADER.encode()
            + b"\ne1,2026-03-02T09:00:00Z,user_agent,user,alice,alice,caf\xe9\n"
            + b"e2,2026-03-02T09:00:01Z,user_agent,user,alice,alice,ok\n"
        )
        items = read(data, format="csv")
        assert [getattr(item, "reason", "ok") for item in items] == ["not_utf8", "ok"]

    def test_the_header_is_not_a_line_read(self) -> None:
        """Only records after the header are counted."""
        reader = LogReader(["-"], format="csv", stdin=io.BytesIO(self.HEADER.encode() + b"\n"))
        assert list(reader) == []
        assert reader.lines_read == 0


class TestSources:
    def test_paths_in_order_gzip_by_content_and_format_by_suffix(self, tmp_path: Path) -> None:
        """Several paths are read in order; gzip is detected from the bytes; .csv is CSV."""
        first = tmp_path / "a.jsonl.gz"
        first.write_bytes(gzip.compress(jsonl(record(event_id="a1"))))
        second = tmp_path / "b.csv"
        second.write_text(TestCsv.HEADER + "\nb1,2026-03-02T09:00:01Z,user_agent,user,bob,bob,hi\n")
        third = tmp_path / "c.log"  # gzip without the suffix
        third.write_bytes(gzip.compress(jsonl(record(event_id="c1", timestamp="2026-03-02T10Z"))))
        reader = LogReader([first, second, third])
        items = list(reader)
        assert [(item.source, item.event.id) for item in items] == [  # type: ignore[union-attr]
            (str(first), "a1"),
            (str(second), "b1"),
            (str(third), "c1"),
        ]
        sizes = sum(path.stat().st_size for path in (first, second, third))
        assert reader.bytes_total == sizes
        assert reader.bytes_read == sizes
        assert reader.lines_read == 3

    def test_standard_input_has_no_total(self) -> None:
        reader = LogReader(["-"], stdin=io.BytesIO(jsonl(record())))
        assert reader.bytes_total is None
        assert [item.source for item in reader] == ["<stdin>"]


class TestHostileLines:
    """No line stops a reader: every one ends as exactly one outcome, and is counted."""

    def test_a_byte_order_mark_at_the_start_of_json_lines_is_skipped(self) -> None:
        """The first line after a UTF-8 BOM is read, not rejected as malformed JSON."""
        assert one_event(b"\xef\xbb\xbf" + jsonl(record())).id == "e1"

    def test_an_over_long_line_is_rejected_and_the_next_is_read(self) -> None:
        """A line over max_line_bytes is line_too_long, with its length; reading goes on."""
        long = json.dumps(record(event_id="big", input="x" * 5000)).encode()
        data = long + b"\n" + jsonl(record(event_id="after"))
        items = read(data, max_line_bytes=1000)
        assert isinstance(items[0], RejectedLine) and items[0].reason == "line_too_long"
        assert f"{len(long) + 1:,} bytes" in items[0].detail
        assert isinstance(items[1], LogEvent) and items[1].event.id == "after"
        assert items[1].line == 2

    @pytest.mark.parametrize("size", [999, 1000, 1001])
    def test_the_line_limit_counts_the_line_ending(self, size: int) -> None:
        """A line of exactly max_line_bytes (newline included) is read; one byte more is not."""
        bare = json.dumps(record(input="")).encode() + b"\n"
        line = json.dumps(record(input="y" * (size - len(bare)))).encode() + b"\n"
        assert len(line) == size
        (item,) = read(line, max_line_bytes=1000)
        assert isinstance(item, LogEvent) is (size <= 1000)

    @pytest.mark.parametrize("where", ["line", "metadata"])
    def test_deep_nesting_is_too_deep(self, where: str) -> None:
        """JSON nested 100,000 deep (that json.loads cannot even read) is one rejected line."""
        deep = "[" * 100_000 + "]" * 100_000
        text = (
            deep
            if where == "line"
            else json.dumps(record()).replace(
                '{"user_id"', deep[:0] + '{"x": ' + deep + ', "user_id"'
            )
        )
        items = read(text.encode() + b"\n" + jsonl(record(event_id="after")))
        assert [getattr(item, "reason", "ok") for item in items] == ["too_deep", "ok"]

    def test_nesting_within_the_bound_is_read(self) -> None:
        """Metadata nested max_depth deep is kept; one level more is too deep."""
        nested: Any = "leaf"
        for _ in range(3):
            nested = {"n": nested}
        line = record(metadata={"user_id": "alice", "x": nested})
        assert one_event(jsonl(line), max_depth=5).metadata["x"] == nested
        assert one_rejection(jsonl(line), max_depth=4).reason == "too_deep"

    def test_a_csv_quote_left_open_at_the_end_is_rejected(self) -> None:
        """An unclosed quote swallows the rows after it: the record is rejected, not accepted."""
        rows = ["event_id,timestamp,event_type,metadata.user_id,input"]
        rows += ["a,2026-03-02T09:00:00Z,user_agent,ann,fine"]
        rows += ['b,2026-03-02T09:00:01Z,user_agent,ann,"oops']
        rows += [f"c{i},2026-03-02T09:00:0{i}Z,user_agent,ann,more" for i in range(2, 6)]
        reader = LogReader(["-"], format="csv", stdin=io.BytesIO("\n".join(rows).encode()))
        items = list(reader)
        assert [getattr(item, "reason", "ok") for item in items] == ["ok", "malformed_csv"]
        assert items[1].line == 3 and "lines 3 to 7" in items[1].detail  # type: ignore[union-attr]
        assert reader.lines_read == 2

    @pytest.mark.parametrize(
        "timestamp",
        ["9999-12-31T12:00:00Z", "0001-01-01T00:00:00+14:00", "2026-03-02T09:00:00+24:00"],
    )
    def test_times_past_the_range_are_bad_timestamps(self, timestamp: str) -> None:
        """Times that once crashed the reader, or a store later, are bad_timestamp."""
        assert one_rejection(record(timestamp=timestamp)).reason == "bad_timestamp"


class TestCompression:
    """gzip, bzip2 and xz are recognised by their first bytes, whatever the file's name."""

    COMPRESS: ClassVar[dict[str, Callable[[bytes], bytes]]] = {
        "gzip": gzip.compress,
        "bzip2": bz2.compress,
        "xz": lzma.compress,
    }

    @pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz"])
    def test_a_compressed_log_is_read(self, tmp_path: Path, kind: str) -> None:
        """The same lines come out of each compressed form, from a file and from stdin."""
        data = jsonl(record(event_id="a"), "{oops", record(event_id="b"))
        path = tmp_path / "log.data"  # the name says nothing
        path.write_bytes(self.COMPRESS[kind](data))
        for items in (list(LogReader([path])), read(self.COMPRESS[kind](data))):
            assert [getattr(item, "reason", "ok") for item in items] == [
                "ok",
                "malformed_json",
                "ok",
            ]

    @pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz"])
    def test_a_compressed_log_cut_short_is_one_unreadable_line(self, kind: str) -> None:
        """What came before the cut is read; the rest is one `unreadable` line."""
        data = jsonl(*(record(event_id=f"e{n}", input="x" * 200) for n in range(400)))
        packed = self.COMPRESS[kind](data)
        items = read(packed[: len(packed) // 2])
        assert items[-1].reason == "unreadable"  # type: ignore[union-attr]
        assert all(isinstance(item, LogEvent) for item in items[:-1])

    def test_a_compressed_csv_is_csv_by_its_name(self, tmp_path: Path) -> None:
        """``.csv.bz2`` and ``.csv.xz`` are CSV, like ``.csv.gz``."""
        text = TestCsv.HEADER + "\nb1,2026-03-02T09:00:01Z,user_agent,user,bob,bob,hi\n"
        for suffix, kind in ((".csv.bz2", "bzip2"), (".csv.xz", "xz")):
            path = tmp_path / f"log{suffix}"
            path.write_bytes(self.COMPRESS[kind](text.encode()))
            (item,) = list(LogReader([path]))
            assert isinstance(item, LogEvent) and item.event.id == "b1"


def test_a_mapping_function_that_fails_rejects_its_line_only() -> None:
    """Whatever a mapper of your own raises, that line is invalid_event and the next is read."""

    def mapper(record: dict[str, Any], source: str, line: int) -> Event | OutputFollowUp:
        if record["event_id"] == "bad":
            raise KeyError("no such column")
        return EventMapper()(record, source, line)

    data = jsonl(record(event_id="bad"), record(event_id="good"))
    bad, good = list(LogReader(["-"], stdin=io.BytesIO(data), mapper=mapper))
    assert isinstance(bad, RejectedLine) and bad.reason == "invalid_event"
    assert "KeyError" in bad.detail
    assert isinstance(good, LogEvent) and good.event.id == "good"
