"""Benchmark durable tracking: ``Tracker.track_many`` (batches of 1,000) into a SQLite file.

    python benchmarks/store.py [--events 1000000] [--users 10000] [--seed 1] [--batch 1000]

Uses the same stream as ``benchmarks/feed.py``. Tracks it ``--repeat`` times (default 5) into
new files and prints the best and median events/s; then, in one more run under tracemalloc
(slower), the Python heap and the process's peak resident memory at each tenth of the stream,
so that flat memory shows as flat figures (``--no-trace`` skips it).
"""

from __future__ import annotations

import argparse
import gc
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from feed import build_stream

from sessionkit import Event
from sessionkit.storage import SQLiteStore, Tracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (default 5)")
    parser.add_argument("--no-trace", action="store_true", help="skip the traced memory run")
    args = parser.parse_args()

    events = build_stream(args.events, args.users, args.seed)
    gc.collect()
    gc.freeze()  # the pre-built stream is input, not the Tracker's state
    print(f"stream: {len(events):,} events, {args.users:,} users")
    rates = sorted(track(events, args.batch, trace=False) for _ in range(args.repeat))
    print(
        f"Tracker.track_many into SQLiteStore: {rates[-1]:,.0f} events/s best of {args.repeat} "
        f"(median {rates[len(rates) // 2]:,.0f})"
    )
    if not args.no_trace:
        print("memory, in one more run traced with tracemalloc (slower):")
        track(events, args.batch, trace=True)


def track(events: list[Event], batch: int, trace: bool) -> float:
    """Track ``events`` into a new SQLite file; return events/s (and print memory if traced)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        tracker = Tracker(SQLiteStore(path))
        if trace:
            tracemalloc.start()
        step = max(len(events) // 10, batch)
        started = time.perf_counter()
        for start in range(0, len(events), batch):
            tracker.track_many(events[start : start + batch])
            done = start + batch
            if trace and done % step == 0:
                current, peak = tracemalloc.get_traced_memory()
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(
                    f"  after {done:>9,} events: heap {current / 2**20:6.1f} MiB "
                    f"(peak {peak / 2**20:6.1f} MiB), process peak RSS {rss:7.1f} MiB, "
                    f"{tracker.sessionizer.open_session_count:,} open sessions"
                )
        elapsed = time.perf_counter() - started
        if trace:
            tracemalloc.stop()
        tracker.close()
        size = sum(p.stat().st_size for p in Path(folder).iterdir())
        if trace:
            print(f"  file size at the end: {size / 2**20:,.0f} MiB")
        return len(events) / elapsed


if __name__ == "__main__":
    main()
