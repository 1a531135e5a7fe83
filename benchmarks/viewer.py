"""Benchmark ``sessionkit serve`` on a large store: the time of each page, the server's memory.

    python benchmarks/viewer.py [--events 1000000] [--db viewer-bench.db] [--requests 20]

Builds (once; kept in ``--db`` for later runs) a store of ``--events`` events: the stream of
``benchmarks/feed.py`` (10,000 users) and, at its end, one explicit session of 1,000 events
threaded several levels deep. Starts the real command, ``sessionkit serve DB --port 0``, asks
each page ``--requests`` times over HTTP and prints the median and worst milliseconds, and the
server's resident memory after each page's requests (``VmRSS``, and its peak, ``VmHWM``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from feed import build_stream

from sessionkit import Event, Participant, ParticipantKind
from sessionkit.storage import SQLiteStore, Tracker

THREAD = "bench-thread"


def thread_session(after: Event, size: int, seed: int) -> list[Event]:
    """One explicit session of ``size`` events after ``after``: each replies to one of the
    last few, so the thread is many levels deep."""
    rng = random.Random(seed)
    user = Participant(ParticipantKind.USER, "thread-user")
    agent = Participant(ParticipantKind.AGENT, "planner")
    events: list[Event] = []
    for i in range(size):
        parent = events[max(0, i - rng.randint(1, 4))].id if events else None
        events.append(
            Event(
                id=f"t{i}",
                at=after.at + timedelta(seconds=1 + i),
                initiator=user if i == 0 else agent,
                user_id="thread-user",
                session_id=THREAD,
                parent_id=parent,
                input=f"step {i}: " + "words " * rng.randint(2, 80),
                output="done",
            )
        )
    return events


def build(path: Path, n_events: int) -> None:
    started = time.perf_counter()
    events = build_stream(n_events - 1000, 10_000, 1)
    events += thread_session(events[-1], 1000, 2)
    with SQLiteStore(path, replace=True) as store:
        Tracker(store).track_many(events)
    print(f"built {path} ({n_events:,} events) in {time.perf_counter() - started:.0f} s")


def memory(pid: int) -> str:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return f"RSS {fields['VmRSS'].strip()}, peak {fields['VmHWM'].strip()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("viewer-bench.db"))
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    if not args.db.exists():
        build(args.db, args.events)
    script = Path(sys.executable).with_name("sessionkit")
    server = subprocess.Popen(
        [str(script), "serve", str(args.db), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None
    base = server.stdout.readline().split(" at ", 1)[1].split("/ ", 1)[0]
    pages = {
        "list (newest first)": "/",
        "list, oldest first": "/?order=oldest",
        "show only sessions": "/?only_sessions=1",
        "filtered: one user": "/?user=user-17",
        "filtered: user, closed": "/?user=user-17&status=closed&only_sessions=1",
        "filtered: one hour": "/?since=2026-01-02T10:00Z&until=2026-01-02T11:00Z",
        "filtered: participant": "/?participant=search",
        "no match (participant), events": "/?participant=nobody",
        "no match (participant), sessions": "/?participant=nobody&only_sessions=1",
        f"session of 1,000 events ({THREAD})": f"/sessions/{THREAD}",
    }
    try:
        print(f"server: {memory(server.pid)} at start")
        for name, path in pages.items():
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                with urllib.request.urlopen(base + path, timeout=60) as answer:
                    size = len(answer.read())
                times.append((time.perf_counter() - started) * 1000)
            print(
                f"{name:40} median {statistics.median(times):7.1f} ms, "
                f"worst {max(times):7.1f} ms ({size / 1024:.0f} KiB); {memory(server.pid)}"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
