"""Benchmark that costs stay bounded: time per event flat in a session's size, memory back to
empty once sessions close.

    python benchmarks/bounds.py [--sizes 10000 30000 100000] [--users 100000] [--hours 60]

1. **Linear recording.** One explicit session of N events, each from a distinct user, recorded
   by a Tracker into a SQLite file in batches of 1,000: microseconds per event at each N. Flat
   means no per-event cost grows with the session (a list scan made it quadratic before 0.2).
2. **Memory once sessions close** (``tracemalloc``, the closed ids kept in a ``ClosedIdFile`` so
   that only the working state counts): an empty Sessionizer; after ``--users`` one-prompt users
   and a day of quiet (every session closed); and the same followed by ``--hours`` of a
   heartbeat user who sends a prompt every 30 s, keeping the scope busy.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sessionkit import Event, Participant, ParticipantKind, Sessionizer
from sessionkit.storage import ClosedIdFile, SQLiteStore, Tracker

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
AGENT = Participant(ParticipantKind.AGENT, "agent")


def recording(size: int, folder: Path) -> float:
    """Microseconds per event to record one session of ``size`` events from distinct users."""
    events = [
        Event(
            id=f"e{n}",
            at=START + timedelta(milliseconds=n),
            initiator=AGENT,
            user_id=f"user-{n}",
            session_id="one",
        )
        for n in range(size)
    ]
    path = folder / f"one-{size}.db"
    with Tracker(SQLiteStore(path)) as tracker:
        started = time.perf_counter()
        for first in range(0, size, 1000):
            tracker.track_many(events[first : first + 1000])
        elapsed = time.perf_counter() - started
    return elapsed / size * 1e6


def traced(work: object) -> int:
    """Bytes the working state holds after ``work()`` (``tracemalloc``, after a collection)."""
    gc.collect()
    tracemalloc.start()
    keep = work()  # type: ignore[operator]
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del keep
    return current


def quiet_users(users: int, heartbeat_hours: int) -> tuple[Sessionizer, ClosedIdFile]:
    """One prompt from each of ``users`` users, then a day of quiet or of a heartbeat user."""
    closed = ClosedIdFile()
    sessionizer = Sessionizer(closed_sessions=closed)
    for n in range(users):
        at = START + timedelta(milliseconds=n)
        sessionizer.feed(
            Event(id=f"q{n}", at=at, initiator=Participant(ParticipantKind.USER, f"u{n}"))
        )
    beat = Participant(ParticipantKind.USER, "heartbeat")
    at = START + timedelta(milliseconds=users)
    for n in range(heartbeat_hours * 120):
        at += timedelta(seconds=30)
        sessionizer.feed(Event(id=f"beat-{n}", at=at, initiator=beat))
    sessionizer.advance(at + timedelta(hours=25) if not heartbeat_hours else at)
    return sessionizer, closed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--hours", type=int, default=60)
    options = parser.parse_args()
    print("one session of N events from N distinct users, into SQLite:")
    with tempfile.TemporaryDirectory() as name:
        for size in options.sizes:
            print(f"  N = {size:>7,}: {recording(size, Path(name)):6.1f} µs per event")
    print("working memory (tracemalloc):")
    empty = traced(lambda: Sessionizer(closed_sessions=ClosedIdFile()))
    print(f"  an empty Sessionizer:                            {empty / 2**20:6.2f} MiB")
    for hours, label in (
        (0, "and a day of quiet"),
        (options.hours, f"then {options.hours} h of a heartbeat"),
    ):
        held = traced(lambda hours=hours: quiet_users(options.users, hours))
        print(f"  {options.users:,} one-prompt users, {label}: {held / 2**20:6.2f} MiB")


if __name__ == "__main__":
    main()
