"""Conversation: write the events of a test with relative times and readable ids."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from sessionkit import Event, Participant, ParticipantKind

__all__ = ["START", "Conversation"]

#: Where a :class:`Conversation`'s clock starts unless told otherwise.
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Conversation:
    """Events of conversations, written in order with a clock that only moves forward.

    Every method adds one :class:`~sessionkit.Event` at the clock's time (after moving it by
    ``after`` seconds) and returns it; ids are readable and numbered per kind (``q1``, ``q2`` for
    prompts, ``llm1``, ``tool1``, ``mem1``, ``agent1``) unless given. Replies link to their
    ``parent`` and act for the parent's user. ``events`` (or iterating) gives them all::

        c = Conversation()
        q1 = c.ask("alice", "Where is my order?")       # alice asks the agent, at +0 s
        c.llm(q1, "plan: look it up", after=1)         # the agent plans with an LLM
        c.tool(q1, "orders.lookup(1182)", after=1)     # and calls a tool
        c.ask("alice", "Thanks!", after=60)            # 60 s later: a new session
    """

    def __init__(self, *, start: datetime = START, scope: str = "", agent: str = "agent") -> None:
        self.now = start
        self.scope = scope
        self.agent = Participant(ParticipantKind.AGENT, agent)
        self._events: list[Event] = []
        self._counts: dict[str, int] = {}

    @property
    def events(self) -> list[Event]:
        """The events written so far, in order."""
        return list(self._events)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def wait(self, seconds: float) -> Conversation:
        """Move the clock forward by ``seconds`` (a negative wait is refused)."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, not by {seconds} s")
        self.now += timedelta(seconds=seconds)
        return self

    def _id(self, prefix: str, given: str | None) -> str:
        if given is not None:
            return given
        self._counts[prefix] = self._counts.get(prefix, 0) + 1
        return f"{prefix}{self._counts[prefix]}"

    def add(
        self,
        initiator: Participant,
        text: str | None = None,
        *,
        prefix: str = "e",
        after: float = 0,
        id: str | None = None,
        target: Participant | None = None,
        parent: Event | None = None,
        user: str | None = None,
        session_id: str | None = None,
        ends: bool = False,
        scope: str | None = None,
        output: str | None = None,
    ) -> Event:
        """Add any event: the other methods are this one with the usual participants."""
        self.wait(after)
        event = Event(
            id=self._id(prefix, id),
            at=self.now,
            initiator=initiator,
            target=target,
            user_id=user,
            session_id=session_id,
            parent_id=None if parent is None else parent.id,
            scope=self.scope if scope is None else scope,
            ends_session=ends,
            input=text,
            output=output,
        )
        self._events.append(event)
        return event

    def ask(
        self,
        user: str,
        text: str | None = None,
        *,
        after: float = 0,
        id: str | None = None,
        session_id: str | None = None,
        ends: bool = False,
        scope: str | None = None,
    ) -> Event:
        """``user`` sends the agent a prompt (ids ``q1``, ``q2``, ...)."""
        return self.add(
            Participant(ParticipantKind.USER, user),
            text,
            prefix="q",
            after=after,
            id=id,
            target=self.agent,
            session_id=session_id,
            ends=ends,
            scope=scope,
        )

    def _reply(
        self,
        kind: ParticipantKind,
        prefix: str,
        parent: Event,
        text: str | None,
        after: float,
        id: str | None,
    ) -> Event:
        return self.add(
            self.agent,
            text,
            prefix=prefix,
            after=after,
            id=id,
            target=Participant(kind, kind.value),
            parent=parent,
            user=parent.user_key,
            scope=parent.scope,
        )

    def llm(
        self, parent: Event, text: str | None = None, *, after: float = 0, id: str | None = None
    ) -> Event:
        """The agent calls an LLM about ``parent``, for its user (ids ``llm1``, ...)."""
        return self._reply(ParticipantKind.LLM, "llm", parent, text, after, id)

    def tool(
        self, parent: Event, text: str | None = None, *, after: float = 0, id: str | None = None
    ) -> Event:
        """The agent calls a tool about ``parent``, for its user (ids ``tool1``, ...)."""
        return self._reply(ParticipantKind.TOOL, "tool", parent, text, after, id)

    def memory(
        self, parent: Event, text: str | None = None, *, after: float = 0, id: str | None = None
    ) -> Event:
        """The agent reads or writes memory about ``parent`` (ids ``mem1``, ...)."""
        return self._reply(ParticipantKind.MEMORY, "mem", parent, text, after, id)
