"""A deterministic generator of large, realistic logs in the default layout.

    python -m sessionkit.testing.synth --events 1000000 --users 10000 --seed 1 > events.jsonl

Users talk to a support agent that plans with an LLM, calls tools and reads memory; some
conversations carry a session id (and some of those end with ``session_end``), some users call an
LLM directly, and webhooks start headerless sessions. A user's next prompt comes within the
45 s window or minutes later, so every grouping rule is at work. Conversations start at random
and interleave; the lines come out in time order, with ISO 8601 times (UTC, milliseconds). The
same arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, TextIO

__all__ = ["generate", "main"]

_START = datetime(2026, 3, 2, tzinfo=timezone.utc)
_PROFILES = ("acme", "globex", "initech")
_ASKS = (
    "Where is my order #{n}?",
    "My invoice {n} shows the wrong amount.",
    "Can I change the delivery address for order {n}?",
    "How do I reset the password of account {n}?",
    "Please cancel subscription {n}.",
    "Why was card ending {n} declined?",
)
_FOLLOW_UPS = (
    "And when will it arrive?",
    "Thanks. Anything else I need to do?",
    "Can you check again?",
)
_TOOLS = ("orders.lookup", "billing.invoice", "accounts.reset", "shipping.track", "crm.note")

#: Seconds between two conversations starting, on average, per 1,000 users: each user starts
#: one about every 5.5 hours, so a log of a million events from 10,000 users spans about 3 days.
_MEAN_GAP_PER_1000_USERS = 20.0

_Record = dict[str, Any]


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


class _Conversation:
    """One conversation: its events, in time order, as (time, record) pairs."""

    def __init__(self, rng: random.Random, number: int, user: str, at: datetime) -> None:
        self.rng = rng
        self.name = f"c{number:07d}"
        self.user = user
        self.profile = _PROFILES[_hash_user(user) % len(_PROFILES)]
        self.at = at
        self.count = 0

    def _event(self, event_type: str, initiator: tuple[str, str], **fields: Any) -> _Record:
        self.count += 1
        record: _Record = {
            "event_id": f"{self.name}-{self.count}",
            "timestamp": _stamp(self.at),
            "event_type": event_type,
            "initiator": {"type": initiator[0], "name": initiator[1]},
            "metadata": {"user_id": self.user},
            "profile_id": self.profile,
        }
        record.update({key: value for key, value in fields.items() if value is not None})
        return record

    def _wait(self, low: float, high: float) -> None:
        self.at += timedelta(milliseconds=round(self.rng.uniform(low, high) * 1000))

    def events(self) -> Iterator[tuple[datetime, _Record]]:
        rng = self.rng
        kind = rng.random()
        if kind < 0.05:
            yield from self._webhook()
        elif kind < 0.10:
            yield from self._direct_llm()
        else:
            session_id = f"sess-{self.name}" if kind < 0.25 else None
            yield from self._support(session_id)

    def _support(self, session_id: str | None) -> Iterator[tuple[datetime, _Record]]:
        rng = self.rng
        agent = ("agent", "support-agent")
        turns = rng.choice((1, 1, 2, 2, 3, 4))
        for turn in range(turns):
            ask = rng.choice(_ASKS) if turn == 0 else rng.choice(_FOLLOW_UPS)
            prompt = self._event(
                rng.choice(("user_agent", "user_agt")),
                ("user", self.user),
                session_id=session_id,
                input=ask.format(n=rng.randrange(1000, 9999)),
            )
            yield self.at, prompt
            self._wait(0.3, 1.5)
            plan = self._event(
                "agent_llm.planning",
                agent,
                session_id=session_id,
                parent_event_id=prompt["event_id"],
                input="Plan the answer to: " + prompt["input"],
                output="Look it up, then answer.",
            )
            yield self.at, plan
            yield from self._tools_and_memory(session_id, prompt, plan)
            self._wait(0.5, 3.0)
            last = turn == turns - 1
            yield (
                self.at,
                self._event(
                    "agent_llm",
                    agent,
                    session_id=session_id,
                    parent_event_id=prompt["event_id"],
                    input="Write the answer.",
                    output="Here is what I found.",
                    session_end=True if session_id and last and rng.random() < 0.5 else None,
                ),
            )
            if session_id is not None:
                self._wait(30, 900)  # minutes apart: only the session id holds them together
            elif rng.random() < 0.8:
                self._wait(3, 40)  # within the join window
            else:
                self._wait(50, 400)  # too late: a new session

    def _tools_and_memory(
        self, session_id: str | None, prompt: _Record, plan: _Record
    ) -> Iterator[tuple[datetime, _Record]]:
        """The agent's tool calls (under its plan) and memory reads (under the prompt)."""
        rng = self.rng
        agent = ("agent", "support-agent")
        for _ in range(rng.choice((0, 1, 1, 2))):
            self._wait(0.2, 2.0)
            tool = rng.choice(_TOOLS)
            yield (
                self.at,
                self._event(
                    rng.choice(("agent_tool.mcp", "agt_tool")),
                    agent,
                    session_id=session_id,
                    parent_event_id=plan["event_id"],
                    input=f"{tool}({rng.randrange(1000, 9999)})",
                    output=json.dumps({"status": rng.choice(("ok", "shipped", "pending"))}),
                ),
            )
        if rng.random() < 0.3:
            self._wait(0.1, 0.5)
            yield (
                self.at,
                self._event(
                    "agt_mem",
                    agent,
                    session_id=session_id,
                    parent_event_id=prompt["event_id"],
                    input=f"recall preferences of {self.user}",
                    output="prefers email",
                ),
            )

    def _direct_llm(self) -> Iterator[tuple[datetime, _Record]]:
        for _ in range(self.rng.choice((1, 2, 3))):
            yield (
                self.at,
                self._event(
                    "user_llm",
                    ("user", self.user),
                    input="Summarise this paragraph for me.",
                    output="Here is a short summary.",
                ),
            )
            self._wait(5, 60)

    def _webhook(self) -> Iterator[tuple[datetime, _Record]]:
        hook = self._event(
            "agent_tool.webhook",
            ("tool", "payments-webhook"),
            input=f"payment failed for {self.user}",
        )
        yield self.at, hook
        self._wait(0.5, 2.0)
        yield (
            self.at,
            self._event(
                "agent_llm",
                ("agent", "support-agent"),
                parent_event_id=hook["event_id"],
                input="Draft a message about the failed payment.",
                output="We could not take your payment.",
            ),
        )


def _hash_user(user: str) -> int:
    """A stable number for a user name (``hash()`` changes between processes)."""
    return sum(user.encode()) * 31 + len(user)


def generate(events: int, users: int, seed: int) -> Iterator[_Record]:
    """``events`` records from ``users`` users, in time order; the same for the same arguments."""
    rng = random.Random(seed)
    mean_gap = _MEAN_GAP_PER_1000_USERS * 1000 / max(users, 1)
    heap: list[tuple[datetime, int, _Record, Iterator[tuple[datetime, _Record]]]] = []
    next_start = _START
    number = 0
    emitted = 0
    order = 0
    while emitted < events:
        # Start every conversation due before the next event to emit.
        while not heap or next_start <= heap[0][0]:
            number += 1
            user = f"u{int(users * rng.random() ** 2):06d}"  # some users are much busier
            stream = _Conversation(rng, number, user, next_start).events()
            first = next(stream)
            order += 1
            heapq.heappush(heap, (first[0], order, first[1], stream))
            next_start += timedelta(milliseconds=round(rng.expovariate(1 / mean_gap) * 1000))
        _, _, record, stream = heapq.heappop(heap)
        yield record
        emitted += 1
        following = next(stream, None)
        if following is not None:
            order += 1
            heapq.heappush(heap, (following[0], order, following[1], stream))


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """``python -m sessionkit.testing.synth``: write a log to standard output (or ``--out``)."""
    parser = argparse.ArgumentParser(
        prog="python -m sessionkit.testing.synth",
        description="Write a large, realistic log in the default layout (JSON Lines), "
        "the same for the same arguments.",
    )
    parser.add_argument("--events", type=int, default=10_000, help="how many lines (10,000)")
    parser.add_argument("--users", type=int, default=1_000, help="how many users (1,000)")
    parser.add_argument("--seed", type=int, default=0, help="the random seed (0)")
    parser.add_argument("--out", help="write to this file instead of standard output")
    options = parser.parse_args(argv)
    if options.events < 0 or options.users < 1:
        parser.error("--events must be at least 0 and --users at least 1")
    target = out if out is not None else sys.stdout
    handle = open(options.out, "w", encoding="utf-8") if options.out else None  # noqa: SIM115
    try:
        write = (handle or target).write
        dumps = json.dumps
        for record in generate(options.events, options.users, options.seed):
            write(dumps(record) + "\n")
    finally:
        if handle is not None:
            handle.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
