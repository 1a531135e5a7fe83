"""Layouts for the logs users have: alternatives for any field, initiators built from a kind
field and a name field, and value maps from a field's values to participant kinds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import Event, LogLineError, ParticipantKind
from sessionkit.replay import EventMapper, LogLayout

CHAT = LogLayout(kinds={"assistant": "llm", "system": "init"}).with_fields(
    {
        "event_id": "id",
        "time": "created",
        "initiator.type": "role",
        "initiator.name": "name,model",
        "session_id": "conversation_id",
        "user_id": "user",
        "input": "content",
    }
)


def mapped(mapper: EventMapper, record: dict[str, Any], source: str, line: int) -> Event:
    """The event a record maps to (none of these records is an output sent alone)."""
    event = mapper(record, source, line)
    assert isinstance(event, Event)
    return event


def chat(role: str, n: int, **more: Any) -> dict[str, Any]:
    """One message of an OpenAI-style chat log."""
    return {
        "id": f"m{n}",
        "created": 1772442000 + n,
        "role": role,
        "conversation_id": "conv-1",
        "user": "ann",
        "content": f"message {n}",
        **more,
    }


class TestAChatLog:
    def test_roles_become_kinds_through_the_value_map(self) -> None:
        mapper = EventMapper(CHAT)
        kinds = [
            mapped(
                mapper,
                chat(role, n, **({"model": "gpt-x"} if "assist" in role.lower() else {})),
                "c",
                n,
            ).initiator
            for n, role in enumerate(["system", "user", "assistant", "tool", "ASSISTANT"])
        ]
        assert [p.kind for p in kinds] == [
            ParticipantKind.INITIALIZATION,
            ParticipantKind.USER,
            ParticipantKind.LLM,
            ParticipantKind.TOOL,
            ParticipantKind.LLM,
        ]
        assert kinds[2].id == "gpt-x"  # the name from the second alternative
        assert kinds[1].id == "ann"  # a user without a name is named by the user id

    def test_an_unknown_value_names_the_value_and_the_field(self) -> None:
        with pytest.raises(LogLineError) as refused:
            EventMapper(CHAT)(chat("function", 1), "chat.jsonl", 1)
        assert refused.value.reason == "unknown_kind"
        assert "'function'" in str(refused.value) and " role " in str(refused.value)

    def test_a_value_map_to_no_kind_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown participant kind 'robot'"):
            LogLayout(kinds={"assistant": "robot"})

    def test_the_command_reads_it(self, tmp_path: Path) -> None:
        log = tmp_path / "chat.jsonl"
        roles = ["system", "user", "assistant", "user", "assistant"]
        log.write_text("".join(json.dumps(chat(r, n)) + "\n" for n, r in enumerate(roles)))
        script = Path(sys.executable).with_name("sessionkit")
        fields = [
            "id=id", "time=created", "initiator.type=role", "session_id=conversation_id",
            "user_id=user", "input=content",
        ]  # fmt: skip
        done = subprocess.run(
            [str(script), "replay", str(log), "--no-db", "--format", "json",
             *(f"--field={f}" for f in fields[1:]), "--field", "event_id=id",
             "--kind", "assistant=llm", "--kind", "system=init"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert (summary["accepted"], summary["rejected"], summary["sessions"]) == (5, 0, 1)
        bad = subprocess.run(
            [str(script), "replay", str(log), "--no-db", "--kind", "assistant"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert bad.returncode == 2 and "VALUE=KIND" in bad.stderr


SESSION_IDS = ("extra.metadata.session_id", "extra.metadata.thread_id", "metadata.conversation_id")


@given(st.sets(st.sampled_from(range(len(SESSION_IDS)))))
def test_the_first_present_alternative_wins(present: set[int]) -> None:
    """Any id field may list alternatives; the first one present in a record is used."""
    layout = LogLayout().with_fields({"session_id": ",".join(SESSION_IDS)})
    record: dict[str, Any] = {
        "event_id": "r1",
        "timestamp": "2026-03-02T09:00:00Z",
        "initiator": {"type": "agent", "name": "a"},
    }
    for index in present:
        *parents, leaf = SESSION_IDS[index].split(".")
        place = record
        for part in parents:
            place = place.setdefault(part, {})
        place[leaf] = f"s{index}"
    got = mapped(EventMapper(layout), record, "runs.jsonl", 1).session_id
    assert got == (f"s{min(present)}" if present else None)


def test_layouts_with_value_maps_compare_and_hash() -> None:
    """A value map given in any order is the same layout."""
    a = LogLayout(kinds={"assistant": "llm", "system": "init"})
    b = LogLayout(kinds={"SYSTEM": "init", "assistant": "LLM"})
    assert a == b and hash(a) == hash(b)
