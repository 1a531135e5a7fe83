"""sessionkit.otel with the real OpenTelemetry SDK: spans exported with their session ids."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Tracer

from sessionkit import Sessionizer
from sessionkit.otel import SessionSpanProcessor, SpanMapper
from sessionkit.replay import EventMapper, LogLayout
from sessionkit.replay._documents import spans_of
from sessionkit.storage import MemoryStore, Tracker

SECOND = 1_000_000_000


class Traced:
    """A tracer whose spans go through the processor, then to an in-memory exporter."""

    def __init__(self, processor: SessionSpanProcessor) -> None:
        self.processor = processor
        self.exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(processor)
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer: Tracer = provider.get_tracer("test")

    def spans(self) -> dict[str, ReadableSpan]:
        return {span.name: span for span in self.exporter.get_finished_spans()}


@pytest.fixture
def traced() -> Traced:
    return Traced(SessionSpanProcessor())


def turn(tracer: Tracer, name: str, at: int, user: str, conversation: str | None = None) -> None:
    """An agent turn: invoke_agent, with a chat and a tool call under it."""
    attributes = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper"}
    attributes["user.id"] = user
    if conversation:
        attributes["gen_ai.conversation.id"] = conversation
    with tracer.start_as_current_span(f"{name}/agent", start_time=at, attributes=attributes):
        chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}
        with tracer.start_as_current_span(f"{name}/chat", start_time=at + SECOND, attributes=chat):
            tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "t"}
            with tracer.start_as_current_span(
                f"{name}/tool", start_time=at + 2 * SECOND, attributes=tool
            ):
                pass


T0 = 1_772_442_000 * SECOND


def test_exported_spans_carry_their_session(traced: Traced) -> None:
    """The app's conversation id is kept; children get it; a prompt 30 s later from the same
    user joins; another user starts another session, its id set as the conversation id."""
    turn(traced.tracer, "a1", T0, "alice", conversation="conv-1")
    turn(traced.tracer, "b1", T0 + 5 * SECOND, "bob")
    turn(traced.tracer, "a2", T0 + 30 * SECOND, "alice")
    spans = traced.spans()
    session = {name: span.attributes["session.id"] for name, span in spans.items()}  # type: ignore[index]
    assert {session[f"a1/{part}"] for part in ("agent", "chat", "tool")} == {"conv-1"}
    assert {session[f"a2/{part}"] for part in ("agent", "chat", "tool")} == {"conv-1"}
    bob = session["b1/agent"]
    assert bob != "conv-1" and session["b1/tool"] == bob
    assert spans["b1/agent"].attributes["gen_ai.conversation.id"] == bob  # type: ignore[index]
    assert spans["a1/agent"].attributes["gen_ai.conversation.id"] == "conv-1"  # type: ignore[index]
    assert traced.processor.counts == {"grouped": 9}


def test_other_spans_are_left_alone(traced: Traced) -> None:
    with traced.tracer.start_as_current_span("GET /health", start_time=T0):
        pass
    [span] = traced.exporter.get_finished_spans()
    assert "session.id" not in (span.attributes or {})
    assert traced.processor.counts == {"ignored": 1}


def test_it_never_raises_and_counts_refusals() -> None:
    """Content for a closed conversation, a span far in the past, and a broken group: the
    application goes on, the spans are exported unchanged, each counted."""
    traced = Traced(SessionSpanProcessor(max_skew=timedelta(seconds=1)))
    ended = {"gen_ai.operation.name": "invoke_agent", "user.id": "u", "gen_ai.conversation.id": "c"}
    with traced.tracer.start_as_current_span("x", start_time=T0, attributes=ended):
        pass
    group = traced.processor.group
    assert isinstance(group, Sessionizer) and group.now is not None
    group.advance(group.now + timedelta(days=2))
    turn(traced.tracer, "late", T0 + 10 * SECOND, "u", conversation="c")  # 2 days back
    turn(traced.tracer, "closed", T0 + 3 * 86400 * SECOND, "u", conversation="c")
    counts = traced.processor.counts
    assert counts["grouped"] == 3 and counts["late"] == 3 and counts["session_closed"] == 1
    spans = traced.spans()
    assert "session.id" not in (spans["late/agent"].attributes or {})
    assert "session.id" not in (spans["closed/agent"].attributes or {})
    broken = Traced(SessionSpanProcessor())
    broken.processor._feed = None  # type: ignore[assignment]  # any failure inside
    turn(broken.tracer, "b", T0, "u")
    assert (
        broken.processor.counts == {"failed": 3} and len(broken.exporter.get_finished_spans()) == 3
    )


def test_a_span_a_little_before_the_last_is_fed_at_its_time() -> None:
    """Threads race: a span stamped 200 ms before one already fed joins, at the time reached."""
    traced = Traced(SessionSpanProcessor())
    turn(traced.tracer, "first", T0, "ann")
    turn(traced.tracer, "racer", T0 + 2 * SECOND - SECOND // 5, "ann")
    session = traced.spans()["racer/agent"].attributes["session.id"]  # type: ignore[index]
    assert session == traced.spans()["first/agent"].attributes["session.id"]  # type: ignore[index]
    assert traced.processor.counts["skewed"] >= 1 and traced.processor.counts["late"] == 0


def test_many_threads() -> None:
    """Eight threads of conversations at once: every span grouped, each user's turns in one
    session, no refusal."""
    traced = Traced(SessionSpanProcessor(max_skew=timedelta(minutes=5)))
    errors: list[BaseException] = []

    def talk(user: int) -> None:
        try:
            for n in range(25):
                turn(traced.tracer, f"u{user}-{n}", T0 + n * 10 * SECOND, f"user-{user}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=talk, args=(u,)) for u in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    spans = traced.spans()
    assert len(spans) == 8 * 25 * 3
    assert traced.processor.counts["grouped"] == len(spans)
    for user in range(8):
        ids = {
            (spans[f"u{user}-{n}/{p}"].attributes or {}).get("session.id")
            for n in range(25)
            for p in ("agent", "tool")
        }
        assert len(ids) == 1 and None not in ids


def test_a_tracker_records_the_spans() -> None:
    store = MemoryStore()
    traced = Traced(SessionSpanProcessor(Tracker(store)))
    turn(traced.tracer, "a", T0, "ann", conversation="conv-x")
    session = store.session("conv-x")
    assert session is not None and len(session.events) == 3
    assert [e.initiator.kind.value for e in session.events] == ["agent", "llm", "tool"]
    assert isinstance(traced.processor.group, Tracker)
    assert isinstance(traced.processor.group.sessionizer, Sessionizer)


def test_live_spans_map_as_their_exported_records_do() -> None:
    """SpanMapper on live spans gives the Events the OTLP reader and EventMapper give for the
    same spans exported (the bundled trace, rebuilt span by span with its own ids)."""
    document = json.loads((Path(__file__).parent.parent / "examples" / "traces.json").read_text())
    records = sorted(spans_of(document), key=lambda r: int(r["startTimeUnixNano"]))
    layout = LogLayout.preset("otel")
    expected = [
        EventMapper(layout)(r, "otel", 0)
        for r in records
        if r["attributes"].get("gen_ai.operation.name")
    ]

    class Ids(IdGenerator):
        def __init__(self) -> None:
            self.spans = iter(int(r["spanId"], 16) for r in records)

        def generate_span_id(self) -> int:
            return next(self.spans)

        def generate_trace_id(self) -> int:
            return 1

    mapper, got = SpanMapper(layout), []

    class Capture(SessionSpanProcessor):
        def on_start(self, span, parent_context=None):  # type: ignore[no-untyped-def]
            attributes = dict(span.attributes or {})
            kind = mapper.kind_of(span, attributes)
            if kind is not None:
                got.append(mapper(span, attributes, kind))

    provider = TracerProvider(id_generator=Ids())
    provider.add_span_processor(Capture())
    tracer = provider.get_tracer("rebuild")
    live: dict[str, object] = {}
    for r in records:
        parent = live.get(r["parentSpanId"] or "")
        context = trace.set_span_in_context(parent) if parent is not None else None  # type: ignore[arg-type]
        span = tracer.start_span(
            r["name"],
            context=context,
            attributes=r["attributes"],
            start_time=int(r["startTimeUnixNano"]),
        )
        live[r["spanId"]] = span
    assert got == expected and len(got) == 8
