"""Benchmark ``Sessionizer.feed`` on a realistic stream; prints events/s and working memory.

    python benchmarks/feed.py [--events 1000000] [--users 10000] [--seed 1]

The stream is built before timing: 10,000 users talk in bursts (most gaps under the 45 s window,
some just over it, some hours long, a few over the 24 h idle timeout); about 20 % of events carry
an explicit session id, about 20 % a parent link, 1 % end their session. The same run times a bare
dict-and-loop gap rule on the same events, for comparison, then feeds the stream again under
``tracemalloc`` to show the Sessionizer's working memory as the run goes on, and last measures
what one open session and one remembered event cost.

The pre-built events are moved out of the garbage collector's sight (``gc.freeze()``) before
timing: they are the benchmark's input, not the Sessionizer's state, and a service feeding live
traffic does not hold a million events at once.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sessionkit import ClosedSessionSet, Event, Participant, ParticipantKind, Rules, Sessionizer

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def build_stream(n_events: int, n_users: int, seed: int) -> list[Event]:
    """A deterministic, time-ordered stream with the mix described above."""
    rng = random.Random(seed)
    agent = Participant(ParticipantKind.AGENT, "support-agent")
    llm = Participant(ParticipantKind.LLM, "llm")
    tool = Participant(ParticipantKind.TOOL, "search")
    users = [Participant(ParticipantKind.USER, f"user-{i}") for i in range(n_users)]
    queue = [(rng.uniform(0, 3600), i) for i in range(n_users)]
    heapq.heapify(queue)
    previous: dict[int, str] = {}
    explicit: dict[int, str | None] = {}
    events: list[Event] = []
    while len(events) < n_events:
        offset, u = heapq.heappop(queue)
        n = len(events)
        roll = rng.random()
        initiator = users[u] if roll < 0.6 else agent if roll < 0.8 else llm if roll < 0.9 else tool
        parent = previous.get(u) if rng.random() < 0.2 else None
        events.append(
            Event(
                id=f"e{n}",
                at=START + timedelta(seconds=offset),
                initiator=initiator,
                user_id=users[u].id,
                session_id=explicit.get(u),
                parent_id=parent,
                ends_session=rng.random() < 0.01,
                input="hello",
            )
        )
        previous[u] = f"e{n}"
        gap = rng.random()
        if gap < 0.7:
            step = rng.uniform(1, 45)
        else:
            step = rng.uniform(45.000001, 600) if gap < 0.9 else rng.expovariate(1 / 21600)
            # A new burst: about a fifth of bursts name their session explicitly.
            explicit[u] = f"s-{u}-{n}" if rng.random() < 0.2 else None
        if events[-1].ends_session:  # an ended session takes no more events
            explicit[u] = None
            del previous[u]
        heapq.heappush(queue, (offset + step, u))
    return events


def bare_gap_rule(events: list[Event], window: timedelta) -> int:
    """The simplest possible grouping: a dict of each user's last time and session."""
    latest: dict[str, tuple[datetime, str]] = {}
    sessions = 0
    for event in events:
        key = event.user_id or event.initiator.id
        previous = latest.get(key)
        if previous is None or event.at - previous[0] > window:
            previous = (event.at, event.id)
            sessions += 1
        latest[key] = (event.at, previous[1])
    return sessions


def print_rates(
    label: str,
    arguments: list[tuple[Any, ...]],
    entry: Callable[[Sessionizer], Callable[..., object]],
    repeat: int,
) -> None:
    """Call ``entry(sessionizer)`` with each of ``arguments``, ``repeat`` times, each time into
    a fresh Sessionizer; print the best and the median rate."""
    gc.collect()
    gc.freeze()
    rates = []
    for _ in range(repeat):
        sessionizer = Sessionizer()
        call = entry(sessionizer)
        started = time.perf_counter()
        for args in arguments:
            call(*args)
        rates.append(len(arguments) / (time.perf_counter() - started))
        del sessionizer, call
        gc.collect()
    rates.sort()
    print(
        f"{label}: {rates[-1]:,.0f} events/s best of {repeat} "
        f"(median {rates[len(rates) // 2]:,.0f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of feed (default 5)")
    args = parser.parse_args()

    events = build_stream(args.events, args.users, args.seed)
    span = events[-1].at - events[0].at
    print(f"stream: {len(events):,} events, {args.users:,} users, spanning {span}")

    print_rates("Sessionizer.feed", [(e,) for e in events], lambda s: s.feed, args.repeat)
    # The field-level door (what feed calls, and the lean replay with the fields it read),
    # given each event's fields ready.
    fields = [
        (None, e.id, e.at, e.scope, e.initiator, e.user_id, e.session_id, e.parent_id,
         e.ends_session)
        for e in events
    ]  # fmt: skip
    door = "the field-level door (Sessionizer._place)"
    print_rates(door, fields, lambda s: s._place, args.repeat)

    started = time.perf_counter()
    bare = bare_gap_rule(events, Rules().join_window)
    elapsed = time.perf_counter() - started
    print(
        f"bare dict-and-loop gap rule: {len(events) / elapsed:,.0f} events/s "
        f"({elapsed:.2f} s), {bare:,} sessions"
    )

    print("working memory of a fresh Sessionizer fed the same stream (tracemalloc):")
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    sessionizer = Sessionizer()
    step = max(len(events) // 10, 1)
    for i, event in enumerate(events, 1):
        sessionizer.feed(event)
        if i % step == 0:
            current, peak = tracemalloc.get_traced_memory()
            closed_ids = closed_id_bytes(sessionizer)
            print(
                f"  after {i:>9,} events: {(current - base) / 2**20:6.1f} MiB now "
                f"({(current - base - closed_ids) / 2**20:5.1f} MiB without closed ids), "
                f"{(peak - base) / 2**20:6.1f} MiB peak; "
                f"{sessionizer.open_session_count:,} open sessions, "
                f"{sessionizer.remembered_event_count:,} remembered events, "
                f"{sessionizer.closed_session_count:,} closed ids"
            )
    tracemalloc.stop()
    started_sessions = sessionizer.open_session_count + sessionizer.closed_session_count
    print(f"  {started_sessions:,} sessions in all (open and closed)")
    del sessionizer
    print_unit_costs()


def closed_id_bytes(sessionizer: Sessionizer) -> int:
    """Bytes held by the set of closed session ids, which grows by design (rule 3).

    Reads a private attribute of the default ``ClosedSessionSet``: this is sessionkit's own
    benchmark, separating the registry that a store takes over from the working memory that must
    stay flat.
    """
    closed = sessionizer.closed_sessions
    assert isinstance(closed, ClosedSessionSet)
    ids_by_scope = closed._ids
    return sys.getsizeof(ids_by_scope) + sum(
        sys.getsizeof(ids) + sum(sys.getsizeof(i) for i in ids) for ids in ids_by_scope.values()
    )


def print_unit_costs(n: int = 100_000) -> None:
    """Bytes per open session (of one event) and per further remembered event.

    Event ids are made before measuring, so their strings (owned by the caller's events) are not
    counted; with ids the Sessionizer alone keeps alive, add the size of the id string.
    """
    user = Participant(ParticipantKind.USER, "u")
    singles = [Event(id=f"s{i}", at=START, initiator=user, session_id=f"s{i}") for i in range(n)]
    joined = [Event(id=f"j{i}", at=START, initiator=user, session_id="one") for i in range(n)]
    for label, events in (("open session", singles), ("remembered event", joined)):
        sessionizer = Sessionizer()
        gc.collect()
        tracemalloc.start()
        for event in events:
            sessionizer.feed(event)
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"cost of one {label}: {current / n:,.0f} bytes")


if __name__ == "__main__":
    main()
