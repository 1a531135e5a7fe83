"""Benchmark ``sessionkit replay`` end to end, to a CSV of assignments and to a SQLite file.

    python benchmarks/replay.py [--events 1000000 3000000] [--users 10000] [--seed 1] [--repeat 3]
                                [--targets CSV SQLite CSV-2] [--against PYTHON]

For each size, writes a synthetic log (``python -m sessionkit.testing.synth``, ISO 8601 times) to a
temporary directory, then runs the real command in a child process ``--repeat`` times per
target — ``--no-db --out assignments.csv``, ``--db sessions.db``, and with ``--targets CSV-2``
the first with ``--workers 2`` — and prints events/s
(lines over the wall time of the whole command, start-up included: best and median) and the
child's peak resident memory. Equal peaks at 1M and 3M events show that memory does not grow
with the file.

``--against PYTHON`` also runs the command with another interpreter (say, a virtual environment
with an earlier sessionkit installed), alternating the two run by run on the same log, and prints
the ratio of their median rates: a shared machine's noise hits both alike.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run in a child: its own peak resident memory (ru_maxrss, KiB on Linux) is printed last.
CHILD = """
import resource, sys
from sessionkit.cli import main
status = main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
raise SystemExit(status)
"""

TARGETS = {
    "CSV": ["--no-db", "--out", "assignments.csv"],
    "SQLite": ["--db", "sessions.db"],
    # A second process reads the log (--workers 2); ``--against`` runs the plain CSV target
    # with the other interpreter, whose sessionkit may not know --workers.
    "CSV-2": ["--no-db", "--out", "assignments.csv", "--workers", "2"],
}


def run(log: Path, folder: Path, extra: list[str], python: str) -> tuple[float, int]:
    """One replay in a child process of ``python``: (seconds, peak RSS in MiB)."""
    for name in ("assignments.csv", "sessions.db", "sessions.db-wal", "sessions.db-shm"):
        (folder / name).unlink(missing_ok=True)
    started = time.perf_counter()
    done = subprocess.run(
        [python, "-c", CHILD, "replay", str(log), "--quiet", *extra],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    return seconds, int(done.stderr.split()[-1]) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--against", metavar="PYTHON", help="also run with this interpreter")
    parser.add_argument("--targets", nargs="+", choices=list(TARGETS), default=["CSV", "SQLite"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for events in args.events:
            log = folder / f"synth-{events}.jsonl"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sessionkit.testing.synth",
                    "--events",
                    str(events),
                    "--users",
                    str(args.users),
                    "--seed",
                    str(args.seed),
                    "--out",
                    str(log),
                ],
                check=True,
            )
            size = log.stat().st_size / 2**20
            print(f"{events:,} events ({size:,.0f} MiB of JSON Lines), {args.users:,} users")
            for target in args.targets:
                extra = TARGETS[target]
                pythons = [sys.executable] + ([args.against] if args.against else [])
                runs: dict[str, list[tuple[float, int]]] = {python: [] for python in pythons}
                for _ in range(args.repeat):
                    for python in pythons:
                        other = python != sys.executable and target == "CSV-2"
                        runs[python].append(
                            run(log, folder, TARGETS["CSV"] if other else extra, python)
                        )
                medians = [report(target, events, runs[python], python) for python in pythons]
                if args.against:
                    print(f"  to {target:6}: this / against = {medians[0] / medians[1]:.3f}")
            log.unlink()


def report(target: str, events: int, runs: list[tuple[float, int]], python: str) -> float:
    """Print one interpreter's figures for a target; return its median rate."""
    rates = sorted(events / seconds for seconds, _ in runs)
    peak = max(memory for _, memory in runs)
    median = statistics.median(rates)
    who = "" if python == sys.executable else f" [{python}]"
    print(
        f"  to {target:6}: {rates[-1]:>9,.0f} events/s best of {len(runs)} "
        f"(median {median:,.0f}), peak RSS {peak:,} MiB{who}"
    )
    return median


if __name__ == "__main__":
    main()
