"""Benchmark durable tracking: ``Tracker.track_many`` (batches of 1,000) into a SQLite file.

    python benchmarks/store.py [--events 1000000] [--users 10000] [--seed 1] [--batch 1000]

Uses the same stream as ``benchmarks/feed.py``. Prints events/s over the whole run, and at each
tenth of the stream the Python heap (tracemalloc, current and peak) and the process's peak
resident memory, so that flat memory shows as flat figures. tracemalloc slows the run down; pass
``--no-trace`` for the plain rate.
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

from sessionkit import SQLiteStore, Tracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--no-trace", action="store_true", help="do not trace memory")
    args = parser.parse_args()

    events = build_stream(args.events, args.users, args.seed)
    gc.collect()
    gc.freeze()  # the pre-built stream is input, not the Tracker's state
    print(f"stream: {len(events):,} events, {args.users:,} users")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        tracker = Tracker(SQLiteStore(path))
        trace = not args.no_trace
        if trace:
            tracemalloc.start()
        step = max(len(events) // 10, args.batch)
        started = time.perf_counter()
        for start in range(0, len(events), args.batch):
            tracker.track_many(events[start : start + args.batch])
            done = start + args.batch
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
        print(
            f"Tracker.track_many into SQLiteStore: {len(events) / elapsed:,.0f} events/s "
            f"({elapsed:.1f} s{', traced' if trace else ''}), file {size / 2**20:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
