"""Crash tests: a writer killed with SIGKILL at random points loses and doubles nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from sessionkit import Event, StoreLockedError
from sessionkit.replay import LogReader, Replayed, replay_lean
from sessionkit.storage import MemoryStore, SQLiteStore, Tracker
from sessionkit.testing.conformance import conformance_stream
from sessionkit.testing.synth import generate

ROOT = Path(__file__).resolve().parent.parent
EVENTS = 1500
BATCH = 25

CHILD = f"""
import sys, time
from sessionkit.storage import SQLiteStore, Tracker
from sessionkit.testing.conformance import conformance_stream
events = conformance_stream({EVENTS}, seed=int(sys.argv[2]))
tracker = Tracker(SQLiteStore(sys.argv[1]))
print("ready", flush=True)
for start in range(0, len(events), {BATCH}):
    tracker.track_many(events[start:start + {BATCH}])
    print("batch", flush=True)
    time.sleep(0.001)
print("done", flush=True)
"""


def kill_at_random(seed: int, script: str, *args: str) -> None:
    """Run ``script`` in a child, and kill it with SIGKILL during a random batch, at a random
    moment of it (writing, committing or sleeping)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    rng = random.Random(seed)
    for _ in range(rng.randrange(EVENTS // BATCH // 2)):
        assert child.stdout.readline().strip() == "batch"
    time.sleep(rng.uniform(0, 0.003))
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL


def uninterrupted(seed: int) -> tuple[list[str | None], list[tuple[str, str, str]]]:
    """Assignments and session statuses of one run that nothing interrupts."""
    events = conformance_stream(EVENTS, seed=seed)
    store = MemoryStore()
    Tracker(store).track_many(events)
    return outcome(store, events)


def outcome(
    store: MemoryStore | SQLiteStore, events: list[Event]
) -> tuple[list[str | None], list[tuple[str, str, str]]]:
    assigned = [store.session_of(e.id, e.scope) for e in events]
    sessions = [
        (row.session.id, row.session.scope, row.session.status.value)
        for row in store.sessions(only_sessions=True, limit=100_000).items
    ]
    return assigned, sessions


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_killed_writer_resumes_without_loss_or_doubling(tmp_path: Path, seed: int) -> None:
    """Kill the writer at a random moment, resume from the file, finish: same as no crash.

    The stream (conformance_stream) is refusal-free, so batches align with what was recorded.
    """
    path = tmp_path / "crash.db"
    events = conformance_stream(EVENTS, seed=seed)
    kill_at_random(seed, CHILD, str(path), str(seed))

    with SQLiteStore(path) as store:
        recorded = [store.session_of(e.id, e.scope) is not None for e in events]
        done = recorded.index(False) if False in recorded else len(events)
        # Whole batches only: a prefix of the stream, nothing after it.
        assert recorded == [True] * done + [False] * (len(events) - done)
        assert done % BATCH == 0 or done == len(events)
        tracker = Tracker(store)
        if done:  # the last recorded event comes back as a duplicate
            assert tracker.track(events[done - 1]).duplicate
        tracker.track_many(events[done:])
        assert outcome(store, events) == uninterrupted(seed)
        assert len(store.sessions(limit=100_000).items) == len(events)


REPLAY = """
import sys, time
from datetime import timedelta
from sessionkit.replay import LogReader, replay_lean
from sessionkit.storage import SQLiteStore, Tracker
tracker = Tracker(SQLiteStore(sys.argv[1]))
reader = LogReader([sys.argv[2]])
print("ready", flush=True)
outcomes = replay_lean(reader.lean_records(), tracker, max_lateness=timedelta(0), batch_size=25)
for n, _ in enumerate(outcomes, 1):
    if n % 25 == 0:
        print("batch", flush=True)
        time.sleep(0.001)
print("done", flush=True)
"""


def replayed_into(path: Path, log: Path) -> list[object]:
    """Replay ``log`` into the store at ``path`` (once no other writer holds it)."""
    deadline = time.monotonic() + 10
    while True:  # a killed replay's writing process ends once it sees its parent gone
        try:
            tracker = Tracker(SQLiteStore(path))
            break
        except StoreLockedError:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    with tracker:
        reader = LogReader([log])
        return list(replay_lean(reader.lean_records(), tracker, max_lateness=timedelta(0)))


def tables(path: Path) -> list[list[tuple[object, ...]]]:
    with sqlite3.connect(path) as db:
        names = ("sessions", "events", "session_users")
        return [db.execute(f"SELECT * FROM {name} ORDER BY 1, 2").fetchall() for name in names]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_killed_replay_into_a_store_resumes_without_loss_or_doubling(
    tmp_path: Path, seed: int
) -> None:
    """A replay whose store writes in a process of its own (the lean path into a SQLite
    file), killed at a random moment: replayed again, the file holds what one uninterrupted
    replay writes, and what was recorded before comes back as duplicates."""
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in generate(EVENTS, 30, seed)))
    path = tmp_path / "crash.db"
    kill_at_random(seed, REPLAY, str(path), str(log))

    again = replayed_into(path, log)
    recorded_before = sum(type(o) is Replayed for o in again)
    assert recorded_before % BATCH == 0  # whole batches only
    replayed_into(tmp_path / "clean.db", log)
    assert tables(path) == tables(tmp_path / "clean.db")
