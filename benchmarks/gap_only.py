"""Compare sessionkit's replay with DuckDB, pandas and polars grouping the same log by the
gap-only rule (a user's event more than 45 s after their previous one starts a session).

    python benchmarks/gap_only.py [--events 1000000] [--users 10000] [--repeat 3] [--tools ...]

sessionkit's dependencies do not include these tools: when one is missing, this script installs
it into a folder of its own (``--tools``, a temporary one by default) with pip, and imports it
from there. Each run reads the same JSON Lines log (``sessionkit.testing.synth``) end to end:

* ``duckdb``: ``read_json`` and a window query (``lag`` over the user key, ordered by time);
* ``pandas``: ``read_json(lines=True)``, sort, ``groupby().diff()``;
* ``polars``: ``read_ndjson``, sort, ``diff().over()``;
* ``sessionkit``: ``sessionkit replay --no-db --out FILE.csv`` in a child process, with all of
  its rules (explicit ids, parent links, 24 h closing, duplicates, every line accounted for),
  and the ``Sessionizer.feed`` of pre-built events alone.

It prints events/s (best and median) and, for the gap-only tools, the number of sessions: they
must agree with each other (a check that they compute the same rule). The user key is
``metadata.user_id``, else the initiator's name; scopes (``profile_id``) are kept apart.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

WINDOW_SECONDS = 45
PACKAGES = {"duckdb": "duckdb", "pandas": "pandas", "polars": "polars"}


def tool(name: str, folder: Path) -> ModuleType:
    """Import ``name``, installing it into ``folder`` first if it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError:
        pass
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    except ImportError:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(folder), name],
            check=True,
        )
        importlib.invalidate_caches()
        return importlib.import_module(name)


def with_duckdb(log: Path, folder: Path) -> int:
    duckdb = tool("duckdb", folder)
    query = f"""
        WITH e AS (
            SELECT coalesce(profile_id, '') AS scope,
                   coalesce(metadata.user_id, initiator.name) AS user_key,
                   CAST("timestamp" AS TIMESTAMPTZ) AS t
            FROM read_json('{log}', format = 'newline_delimited')
        )
        SELECT count(*) FILTER (
            WHERE previous IS NULL OR t - previous > INTERVAL {WINDOW_SECONDS} SECOND
        )
        FROM (
            SELECT t, lag(t) OVER (PARTITION BY scope, user_key ORDER BY t) AS previous
            FROM e
        )
    """
    connection = duckdb.connect()
    try:
        return int(connection.execute(query).fetchone()[0])
    finally:
        connection.close()


def with_pandas(log: Path, folder: Path) -> int:
    pd = tool("pandas", folder)
    frame = pd.read_json(log, lines=True, dtype=False)
    users = frame["metadata"].str.get("user_id")
    names = frame["initiator"].str.get("name")
    table = pd.DataFrame(
        {
            "scope": frame["profile_id"].fillna("") if "profile_id" in frame else "",
            "user": users.fillna(names),
            "at": pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601"),
        }
    ).sort_values(["scope", "user", "at"], kind="stable")
    gaps = table.groupby(["scope", "user"], sort=False)["at"].diff()
    return int((gaps.isna() | (gaps > pd.Timedelta(seconds=WINDOW_SECONDS))).sum())


def with_polars(log: Path, folder: Path) -> int:
    pl = tool("polars", folder)
    frame = pl.read_ndjson(log, infer_schema_length=10_000)
    user = pl.coalesce(
        pl.col("metadata").struct.field("user_id"), pl.col("initiator").struct.field("name")
    )
    table = frame.select(
        pl.col("profile_id").fill_null("").alias("scope"),
        user.alias("user"),
        pl.col("timestamp").str.to_datetime(time_zone="UTC").alias("at"),
    ).sort(["scope", "user", "at"])
    gaps = table.select(pl.col("at").diff().over(["scope", "user"]).alias("gap"))["gap"]
    limit = pl.duration(seconds=WINDOW_SECONDS)
    return int(
        gaps.to_frame().select((pl.col("gap").is_null() | (pl.col("gap") > limit)).sum()).item()
    )


def with_sessionkit(log: Path, folder: Path) -> int:
    """``sessionkit replay`` end to end, in a child (its start-up included): the sessions it
    started (all its rules, so not the gap-only count)."""
    out = log.with_name("assignments.csv")
    done = subprocess.run(
        [sys.executable, "-m", "sessionkit", "replay", str(log), "--no-db", "--out",
         str(out), "--format", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(json.loads(done.stdout)["sessions"])


def time_feed(log: Path) -> tuple[float, int]:
    """Seconds to feed the log's events to a Sessionizer (reading them is not timed)."""
    import gc

    from sessionkit import Sessionizer
    from sessionkit.replay import LogEvent, LogReader

    events = [r.event for r in LogReader([log]) if type(r) is LogEvent]
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    Sessionizer().feed_each(events)  # refused events are passed over, as a replay does
    seconds = time.perf_counter() - started
    gc.unfreeze()
    return seconds, len(events)


RUNS: dict[str, Callable[[Path, Path], int]] = {
    "duckdb": with_duckdb,
    "pandas": with_pandas,
    "polars": with_polars,
    "sessionkit replay": with_sessionkit,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tools", type=Path, help="where missing tools are installed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        tools = args.tools or folder / "tools"
        log = folder / "synth.jsonl"
        subprocess.run(
            [sys.executable, "-m", "sessionkit.testing.synth", "--events", str(args.events),
             "--users", str(args.users), "--seed", str(args.seed), "--out", str(log)],
            check=True,
        )  # fmt: skip
        print(
            f"{args.events:,} events, {args.users:,} users, {log.stat().st_size / 2**20:,.0f} MiB"
        )
        for label, run in RUNS.items():
            run(log, tools)  # once untimed: installs the tool, warms the page cache
            times, sessions = [], 0
            for _ in range(args.repeat):
                started = time.perf_counter()
                sessions = run(log, tools)
                times.append(time.perf_counter() - started)
            report(label, args.events, times, f"{sessions:,} sessions")
        seconds, fed = time_feed(log)
        report("sessionkit feed alone", fed, [seconds], "events read beforehand")


def report(label: str, events: int, times: list[float], note: str) -> None:
    rates = sorted(events / seconds for seconds in times)
    print(
        f"  {label:22} {rates[-1]:>11,.0f} events/s best of {len(rates)} "
        f"(median {statistics.median(rates):,.0f}); {note}"
    )


if __name__ == "__main__":
    main()
