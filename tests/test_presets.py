"""Presets, each on a fixture written from its tool's public specification (the spec and its
version are named inside each fixture; tests/fixtures/presets/README.md lists them).

The expected groupings follow from how each fixture was written: which records carry which
conversation id, which answer which parent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from sessionkit import ParticipantKind, Session, SessionAssembly, Sessionizer
from sessionkit.replay import (
    PRESETS,
    LogLayout,
    LogReader,
    RejectedLine,
    Replayed,
    TimestampParser,
    replay_records,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "presets"
TRACES = ROOT / "examples" / "traces.json"

K = ParticipantKind


def replayed(preset: str, path: Path) -> tuple[list[Session], list[RejectedLine]]:
    zone = timezone.utc if PRESETS[preset].assume_tz == "UTC" else None
    reader = LogReader([path], layout=LogLayout.preset(preset), timestamps=TimestampParser(zone))
    sessionizer, assembly = Sessionizer(), SessionAssembly()
    rejected: list[RejectedLine] = []
    # Spans are written when they end, so they come out of start order: reorder a minute.
    for outcome in replay_records(reader, sessionizer.feed_each, max_lateness=timedelta(minutes=1)):
        if isinstance(outcome, Replayed):
            assembly.record(outcome.assignment)
        else:
            assert isinstance(outcome, RejectedLine)
            rejected.append(outcome)
    assert reader.lines_read == sum(len(s.events) for s in assembly.sessions()) + len(rejected)
    return assembly.sessions(), rejected


def by_id(sessions: list[Session]) -> dict[str, Session]:
    return {s.id: s for s in sessions}


def kinds(session: Session) -> list[tuple[ParticipantKind, str]]:
    return [(e.initiator.kind, e.initiator.id) for e in session.events]


def parents_are_threads(session: Session) -> None:
    """Rule 11: each event sits under the event its parent id names, when that is here."""
    ids = {e.id for e in session.events}
    for root in session.roots:
        for _, node in root.walk():
            for child in node.children:
                if child.event.parent_id in ids:
                    assert child.event.parent_id == node.event.id


def test_otel_genai_spans() -> None:
    """gen_ai.conversation.id only on invoke_agent spans: their children join through their
    parent spans; a later trace with the same id joins the conversation; a span that is no
    GenAI operation is rejected, saying so."""
    sessions, rejected = replayed("otel", TRACES)
    found = by_id(sessions)
    assert set(found) == {"conv-7", "conv-9"}
    seven = found["conv-7"]
    assert len(seven.events) == 6 and seven.header is not None
    assert seven.header.initiator == seven.events[0].initiator
    assert kinds(seven)[:3] == [
        (K.AGENT, "support-agent"),
        (K.LLM, "gpt-4o"),
        (K.TOOL, "orders.lookup"),
    ]
    assert seven.events[0].user_id == "alice" and found["conv-9"].events[0].user_id == "bob"
    parents_are_threads(seven)
    assert [r.reason for r in rejected] == ["missing_field"]
    assert "gen_ai.operation.name" in rejected[0].detail


def test_openinference_spans_in_collector_json_lines() -> None:
    """OTLP JSON Lines (one export request a line); span kinds without a participant of their
    own become the closest one: CHAIN an agent, RETRIEVER memory, GUARDRAIL a tool."""
    sessions, rejected = replayed("openinference", FIXTURES / "openinference.jsonl")
    assert rejected == []
    thread = by_id(sessions)["thread-42"]
    assert len(thread.events) == 7
    assert (K.MEMORY, "retrieve") in kinds(thread) and (K.AGENT, "format_prompt") in kinds(thread)
    assert (K.LLM, "gpt-4o-mini") in kinds(thread) and (K.TOOL, "search_orders") in kinds(thread)
    [other] = [s for s in sessions if s.id != "thread-42"]
    assert not other.explicit and kinds(other) == [(K.AGENT, "AgentExecutor"), (K.TOOL, "moderate")]
    parents_are_threads(thread)


def test_langfuse_observations_json_array() -> None:
    """A JSON array export: sessionId groups two traces; a trace without one is its own
    session, headerless because a GENERATION (an LLM) opened it."""
    sessions, rejected = replayed("langfuse", FIXTURES / "langfuse-observations.json")
    assert rejected == []
    chat = by_id(sessions)["chat-123"]
    assert [e.id for e in chat.events] == [f"obs-{n}" for n in range(1, 7)]
    assert kinds(chat)[1] == (K.LLM, "claude-sonnet-4")
    assert all(e.scope == "cm4kx2j7a0001" for e in chat.events)
    [other] = [s for s in sessions if s.id != "chat-123"]
    assert other.header is None and kinds(other)[1:] == [
        (K.MEMORY, "kb-search"),
        (K.TOOL, "helpfulness"),
    ]


def test_langsmith_runs() -> None:
    """The conversation id may sit under any of metadata's session_id, thread_id and
    conversation_id; zoneless times are UTC."""
    sessions, rejected = replayed("langsmith", FIXTURES / "langsmith-runs.jsonl")
    assert rejected == []
    found = by_id(sessions)
    assert set(found) == {"th-5", "conv-b"}
    assert len(found["th-5"].events) == 6 and len(found["conv-b"].events) == 2
    assert found["th-5"].events[0].at.utcoffset() == timedelta(0)
    assert kinds(found["conv-b"]) == [
        (K.AGENT, "ChatPromptTemplate"),
        (K.AGENT, "StrOutputParser"),
    ]


def test_aiceberg_is_the_default_layout() -> None:
    assert LogLayout.preset("aiceberg") == LogLayout()
    with pytest.raises(ValueError, match="unknown preset 'splunk'"):
        LogLayout.preset("splunk")


def test_every_fixture_names_its_specification() -> None:
    for path in (TRACES, *FIXTURES.iterdir()):
        if path.suffix in {".json", ".jsonl"}:
            text = path.read_text()
            assert "fixture" in text and ("spec" in text or "schema" in text or "API" in text)


def test_a_trace_file_in_sessions_out_in_one_command(tmp_path: Path) -> None:
    """`sessionkit replay traces.json --preset otel`: the README's example."""
    script = Path(sys.executable).with_name("sessionkit")
    done = subprocess.run(
        [str(script), "replay", str(TRACES), "--preset", "otel", "--max-lateness", "1m",
         "--sessions-out", "sessions.jsonl", "--no-db", "--format", "json"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["accepted"], summary["rejected"], summary["sessions"]) == (8, 1, 2)
    lines = (tmp_path / "sessions.jsonl").read_text().splitlines()
    assert {json.loads(line)["session_id"] for line in lines} == {"conv-7", "conv-9"}
