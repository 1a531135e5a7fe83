"""Short ways to write events in scenario tests: times are seconds after ``T0``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sessionkit import Event, Participant, ParticipantKind

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
US = timedelta(microseconds=1)

ALICE = Participant(ParticipantKind.USER, "alice")
BOB = Participant(ParticipantKind.USER, "bob")
AGENT = Participant(ParticipantKind.AGENT, "agent")
LLM = Participant(ParticipantKind.LLM, "llm")
TOOL = Participant(ParticipantKind.TOOL, "tool")


def at(seconds: float | timedelta = 0) -> datetime:
    """``T0`` plus ``seconds`` (a number of seconds or a timedelta)."""
    if isinstance(seconds, timedelta):
        return T0 + seconds
    return T0 + timedelta(seconds=seconds)


def ev(
    id: str,
    when: float | timedelta = 0,
    who: Participant = ALICE,
    **fields: object,
) -> Event:
    """An event ``id`` sent by ``who`` at ``at(when)``; other fields by keyword."""
    return Event(id=id, at=at(when), initiator=who, **fields)  # type: ignore[arg-type]
