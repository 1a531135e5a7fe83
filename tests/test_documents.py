"""Whole-document logs: JSON arrays of records and OTLP JSON. Every record ends as exactly one
outcome, numbered in its file."""

from __future__ import annotations

import io
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sessionkit.replay import LogEvent, LogLayout, LogOutput, LogReader, RejectedLine
from sessionkit.replay._documents import attribute_value

RECORD = {
    "event_id": "e1",
    "timestamp": "2026-03-02T09:00:00Z",
    "event_type": "user_agent",
    "initiator": {"type": "user", "name": "ann"},
}


def read(data: bytes, name: str, **options: Any) -> list[LogEvent | LogOutput | RejectedLine]:
    return list(LogReader(["-"], stdin=io.BytesIO(data), stdin_name=name, **options))


def outcome(item: LogEvent | LogOutput | RejectedLine) -> tuple[int, str]:
    if isinstance(item, RejectedLine):
        return (item.line, item.reason)
    return (item.line, "event" if isinstance(item, LogEvent) else "output")


class TestJsonArrays:
    def test_elements_are_numbered_records(self) -> None:
        data = json.dumps([RECORD, {**RECORD, "event_id": "e2"}, [1, 2], "x"], indent=2)
        got = read(data.encode(), "export.json")
        assert [outcome(i) for i in got] == [
            (1, "event"),
            (2, "event"),
            (3, "not_an_object"),
            (4, "not_an_object"),
        ]
        assert isinstance(got[1], LogEvent) and got[1].event.id == "e2"

    def test_a_malformed_element_ends_the_array_as_one_rejection(self) -> None:
        data = b"\xef\xbb\xbf[" + json.dumps(RECORD).encode() + b', {"event_id": oops}, {}]'
        got = read(data, "export.json")
        assert [outcome(i) for i in got] == [(1, "event"), (2, "malformed_json")]
        assert isinstance(got[1], RejectedLine) and got[1].raw.startswith('{"event_id": oops}')

    def test_not_an_array_and_trailing_text(self) -> None:
        forced = read(b'{"a": 1}', "one.json", format="json")
        assert [outcome(i) for i in forced] == [(1, "malformed_json")]
        lines = read(json.dumps(RECORD).encode() + b"\n" + json.dumps(RECORD).encode(), "l.json")
        assert [outcome(i) for i in lines] == [(1, "event"), (2, "event")]  # JSON Lines
        tail = read(b"[" + json.dumps(RECORD).encode() + b"] [2]", "x.json")
        assert [outcome(i) for i in tail] == [(1, "event"), (2, "malformed_json")]
        assert read(b" [ ] ", "empty.json") == []

    def test_a_deep_element_is_too_deep(self) -> None:
        deep = "[" * 100_000 + "]" * 100_000
        got = read(f"[{json.dumps(RECORD)}, {deep}]".encode(), "deep.json")
        assert [outcome(i) for i in got] == [(1, "event"), (2, "too_deep")]

    def test_jsonl_is_still_lines(self) -> None:
        """Only a .json name (or --log-format json) makes an array a document."""
        got = read(json.dumps([RECORD]).encode() + b"\n", "log.jsonl")
        assert [outcome(i) for i in got] == [(1, "not_an_object")]


@given(st.lists(st.one_of(st.just(RECORD), st.integers(), st.lists(st.integers())), max_size=30))
def test_every_element_is_one_outcome_in_order(elements: list[object]) -> None:
    reader = LogReader(["-"], stdin=io.BytesIO(json.dumps(elements).encode()), format="json")
    got = list(reader)
    assert [i.line for i in got] == list(range(1, len(elements) + 1))
    assert reader.lines_read == len(elements)
    assert [isinstance(i, LogEvent) for i in got] == [e == RECORD for e in elements]


def span(span_id: str, **attributes: dict[str, Any]) -> dict[str, Any]:
    return {
        "traceId": "t1",
        "spanId": span_id,
        "parentSpanId": "",
        "name": "chat gpt-4o",
        "startTimeUnixNano": "1772442000123456789",
        "attributes": [{"key": key, "value": value} for key, value in attributes.items()],
    }


def request(*spans: dict[str, Any]) -> str:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]})


class TestOtlp:
    def test_json_lines_of_requests_with_a_broken_one(self) -> None:
        chat = {"gen_ai.operation.name": {"stringValue": "chat"}}
        lines = [request(span("a", **chat), span("b", **chat)), "{not json", request(span("c"))]
        got = read(
            ("\n".join(lines) + "\n").encode(), "traces.jsonl", layout=LogLayout.preset("otel")
        )
        assert [outcome(i) for i in got] == [
            (1, "event"),
            (2, "event"),
            (3, "malformed_json"),
            (4, "missing_field"),  # span c names no GenAI operation
        ]
        first = got[0]
        assert isinstance(first, LogEvent)
        assert first.event.parent_id is None  # an empty parentSpanId is no parent
        assert first.event.at.microsecond == 123456  # nanoseconds, floored to the microsecond

    def test_attribute_values(self) -> None:
        assert attribute_value({"intValue": "9007199254740993"}) == 9007199254740993
        assert attribute_value({"boolValue": True}) is True
        assert attribute_value(
            {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": 2}]}}
        ) == ["a", 2]
        kv = {"kvlistValue": {"values": [{"key": "k", "value": {"doubleValue": 1.5}}]}}
        assert attribute_value(kv) == {"k": 1.5}
        assert attribute_value({}) is None and attribute_value("x") is None
