"""sessionkit on Apache Spark (``local[2]``) gives exactly the in-process outcome.

Run with ``python -m pytest -m spark`` (needs ``sessionkit[spark]`` and Java 17). The expected
outcomes come from one plain Sessionizer fed the same records in (time, position) order, or
from ``sessionkit replay`` itself.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as f

from sessionkit import (
    LogLineError,
    Rules,
    Sessionizer,
    SessionSummary,
    derive_session_id,
)
from sessionkit.replay import (
    EventMapper,
    LogEvent,
    LogLayout,
    LogOutput,
    OutputFollowUp,
    OutputSet,
    Replayed,
    TimestampParser,
    replay_records,
)
from sessionkit.spark import (
    PartitioningError,
    Sessionized,
    check_partitioning,
    sessionize_dataframe,
)
from sessionkit.testing.synth import generate

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "examples" / "agent-log.jsonl"
SCRIPT = Path(sys.executable).with_name("sessionkit")

Record = dict[str, Any]


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def linked_records(events: int, seed: int) -> list[Record]:
    """The synthetic log, with ids that tie users together: explicit ids sent by two users,
    replies to another user's event, one event id under two users, an explicit id equal to the
    id derived for another user's event, and content for closed sessions (refused)."""
    rng = random.Random(seed)
    records = list(generate(events, max(events // 60, 20), seed))
    for i, record in enumerate(records):
        if i < 50:
            continue
        other = records[rng.randrange(i - 50, i)]
        roll = rng.random()
        if roll < 0.02 and "session_id" in other:
            record["session_id"] = other["session_id"]  # one explicit id, two users
        elif roll < 0.04:
            record["parent_event_id"] = other["event_id"]  # a reply across users
        elif roll < 0.05:
            record["event_id"] = other["event_id"]  # one id, two users (or a duplicate)
        elif roll < 0.055:
            scope = other.get("profile_id", "")
            record["session_id"] = derive_session_id(scope, other["event_id"])
        elif roll < 0.06:
            records[i] = dict(other)  # the same event delivered twice: a duplicate
    # Outputs sent alone, for earlier events (some twice, differently: a conflict).
    for i in range(len(records) - 1, 50, -97):
        other = records[rng.randrange(i - 50, i)]
        output = {"event_id": other["event_id"], "timestamp": records[i]["timestamp"]}
        if "profile_id" in other:
            output["profile_id"] = other["profile_id"]
        records.insert(i + 1, {**output, "output": f"answer {rng.randrange(2)}"})
    # Late content for sessions long closed: refused, with details that depend on time.
    last = records[-1]["timestamp"]
    for record in rng.sample(records[: len(records) // 3], 5):
        if "session_id" in record:
            records.append({**record, "event_id": record["event_id"] + "-late", "timestamp": last})
    return records


def frame(spark: SparkSession, records: list[Record]) -> DataFrame:
    """The records as a DataFrame (nested structs, nulls for absent fields) with positions."""
    lines = [json.dumps({**r, "position": n}) for n, r in enumerate(records, 1)]
    return spark.read.json(spark.sparkContext.parallelize(lines, 3))


def expected(
    records: list[Record], rules: Rules | None = None, timestamps: TimestampParser | None = None
) -> tuple[dict[int, tuple[Any, ...]], list[SessionSummary]]:
    """What ``replay_records`` decides with one Sessionizer, fed the records in (time,
    position) order."""
    mapper = EventMapper(LogLayout(), timestamps or TimestampParser())
    outcomes: dict[int, tuple[Any, ...]] = {}
    mapped: list[tuple[datetime, int, LogEvent | LogOutput]] = []
    for n, record in enumerate(records, 1):
        try:
            item = mapper(record, "dataframe", n)
        except LogLineError as error:
            outcomes[n] = (None, None, None, None, None, None, error.reason, str(error))
            continue
        if isinstance(item, OutputFollowUp):
            mapped.append((item.at, n, LogOutput("dataframe", n, item, b"")))
        else:
            mapped.append((item.at, n, LogEvent("dataframe", n, item, b"")))
    mapped.sort(key=lambda entry: entry[:2])
    sessionizer = Sessionizer(rules or Rules())
    sessions: list[SessionSummary] = []
    for o in replay_records((entry[2] for entry in mapped), sessionizer):
        if isinstance(o, Replayed):
            a = o.assignment
            outcomes[o.line] = (
                a.session_id, a.rule.value, a.started, a.header, a.duplicate, a.thread_parent_id,
                None, None,
            )  # fmt: skip
            sessions += a.closed
        elif isinstance(o, OutputSet):
            outcomes[o.line] = (o.session_id, None, None, None, None, None, None, None)
        else:
            outcomes[o.line] = (None, None, None, None, None, None, o.reason, o.detail)
    return outcomes, sessions + list(sessionizer.open_sessions())


def outcomes_of(result: Sessionized) -> dict[int, tuple[Any, ...]]:
    rows = result.assignments.select(
        "position", "session_id", "rule", "started", "header", "duplicate",
        "thread_parent_id", "reason", "detail",
    ).collect()  # fmt: skip
    return {row[0]: tuple(row[1:]) for row in rows}


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("partition", ["scope", "components"])
def test_spark_gives_the_in_process_outcome(spark: SparkSession, seed: int, partition: str) -> None:
    """Every record's outcome and every session, in the order replay writes them."""
    records = linked_records(20_000, seed)  # tens of thousands, three scopes
    want, sessions = expected(records)
    result = sessionize_dataframe(frame(spark, records), partition=partition, buckets=5)
    assert outcomes_of(result) == want
    assert list(result.session_summaries()) == sessions
    reasons = {o[6] for o in want.values()}
    assert {"session_closed", "conflicting_duplicate", None} <= reasons  # refusals were part
    assert any(o[4] for o in want.values())  # and duplicates
    assert any(o[0] and o[1] is None for o in want.values())  # and outputs sent alone


def test_shuffled_input_changes_nothing(spark: SparkSession) -> None:
    """Rows arrive at the tasks in no order; positions, not arrival, break ties."""
    records = linked_records(4000, 3)
    want, sessions = expected(records)
    shuffled = frame(spark, records).orderBy(f.rand(7)).repartition(5)
    result = sessionize_dataframe(shuffled, partition="components", buckets=3)
    assert outcomes_of(result) == want
    assert list(result.session_summaries()) == sessions


def test_partitioning_by_user_is_refused_naming_an_id(spark: SparkSession) -> None:
    """User keys tied together by an id cannot be split: refused, the id named; check explains;
    components partition them correctly."""
    records = linked_records(3000, 4)
    df = frame(spark, records)
    with pytest.raises(PartitioningError, match="links user keys") as refused:
        sessionize_dataframe(df, partition="user")
    report = check_partitioning(df)
    assert not report.user_partitioning_is_exact
    shared_explicit = _explicit_ids_of_several_users(records)
    assert report.links.explicit_ids[0] == len(shared_explicit)
    named = str(refused.value)
    assert any(repr(i) in named for i in _all_ids(records))
    assert "explicit session ids used across user keys" in str(report)


def _user_key(record: Record) -> str:
    return str((record.get("metadata") or {}).get("user_id") or record["initiator"]["name"])


def _explicit_ids_of_several_users(records: list[Record]) -> set[tuple[str, str]]:
    users: dict[tuple[str, str], set[str]] = {}
    for r in records:
        if "session_id" in r:
            users.setdefault((r.get("profile_id", ""), r["session_id"]), set()).add(_user_key(r))
    return {key for key, keys in users.items() if len(keys) > 1}


def _all_ids(records: list[Record]) -> set[str]:
    return {str(r.get(k)) for r in records for k in ("session_id", "event_id", "parent_event_id")}


def test_an_untied_log_partitions_by_user_exactly(spark: SparkSession) -> None:
    """Where no id ties user keys, "user" is accepted and exact."""
    records = [r for r in generate(2000, 50, 5) if "session_id" not in r]
    want, sessions = expected(records)
    result = sessionize_dataframe(frame(spark, records), partition="user")
    assert outcomes_of(result) == want
    assert list(result.session_summaries()) == sessions


def test_times_are_instants_whatever_the_session_time_zone(spark: SparkSession) -> None:
    """A timestamp column, read in Europe/Berlin across the spring DST change: prompts 20 s
    apart join, exactly 45 s joins, 45 s and 1 µs does not; offsets as given."""
    berlin = ZoneInfo("Europe/Berlin")
    change = datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)  # 02:00 -> 03:00 local
    steps = [
        ("a1", change - timedelta(seconds=10)),
        ("a2", change + timedelta(seconds=10)),  # 20 s later, an hour later on the clock
        ("a3", change + timedelta(seconds=55)),  # exactly 45 s
        ("a4", change + timedelta(seconds=100, microseconds=1)),  # 45 s and 1 µs
    ]
    rows = [
        (n, event_id, at.astimezone(berlin), "user_agent", ("user", "ann"))
        for n, (event_id, at) in enumerate(steps, 1)
    ]
    spark.conf.set("spark.sql.session.timeZone", "Europe/Berlin")
    try:
        df = spark.createDataFrame(
            rows,
            "position long, event_id string, timestamp timestamp, event_type string, "
            "initiator struct<type: string, name: string>",
        )
        result = sessionize_dataframe(df)
        got = outcomes_of(result)
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    records = [
        {
            "event_id": event_id,
            "timestamp": at.isoformat(),
            "event_type": "user_agent",
            "initiator": {"type": "user", "name": "ann"},
        }
        for event_id, at in steps
    ]
    want, _ = expected(records)
    assert got == want
    assert [got[n][1] for n in (2, 3, 4)] == ["join_window", "join_window", "new_session"]


def test_nulls_are_absent_fields(spark: SparkSession) -> None:
    """Null strings and booleans in a DataFrame read as absent, never as NaN or true."""
    rows = [
        (1, "q1", "2026-03-02T09:00:00Z", "user_agent", ("user", "ann"), None, None),
        (2, "q2", "2026-03-02T09:00:20Z", "user_agent", ("user", "ann"), None, None),
        (3, "q3", "2026-03-02T09:00:30Z", "user_agent", ("user", "ann"), "s-1", True),
    ]
    df = spark.createDataFrame(
        rows,
        "position long, event_id string, timestamp string, event_type string, "
        "initiator struct<type: string, name: string>, session_id string, session_end boolean",
    )
    got = outcomes_of(sessionize_dataframe(df))
    assert [got[n][1] for n in (1, 2, 3)] == ["new_session", "join_window", "explicit_id"]
    assert got[2][0] == got[1][0] != "nan"


def test_a_refusal_reads_as_in_one_process_across_scopes(spark: SparkSession) -> None:
    """Scope A names its idle session at 26 h; in one process an event of scope B at 25 h has
    made that session forgotten, and the refusal says only that it closed. So on Spark."""
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

    def record(event_id: str, hours: int, scope: str, **more: str) -> Record:
        at = (t0 + timedelta(hours=hours)).isoformat()
        who = {"type": "user", "name": "ann"}
        base = {"event_id": event_id, "timestamp": at, "event_type": "user_agent"}
        return {**base, "initiator": who, "profile_id": scope, **more}

    records = [
        record("a1", 0, "A", session_id="s"),
        record("b1", 25, "B"),
        record("a2", 26, "A", session_id="s"),
        record("a3", 26, "A", session_id="t"),
        record("a4", 27, "A", session_id="t", session_end="true"),
        record("a5", 52, "A", session_id="t"),  # the ended session, forgotten by B's 51 h
        record("b2", 51, "B"),
    ]
    want, sessions = expected(records)
    result = sessionize_dataframe(frame(spark, records))
    assert outcomes_of(result) == want
    assert list(result.session_summaries()) == sessions
    assert "which closed (rule 3)" in str(want[3][7])


def replay(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "replay", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )


def outputs(where: Path, name: str, *args: object) -> tuple[dict[str, Any], list[bytes]]:
    files = [f"{name}.jsonl", f"{name}-sessions.jsonl", f"{name}-rejects.jsonl", f"{name}.csv"]
    done = replay(
        *args, "--out", files[0], "--sessions-out", files[1], "--rejects", files[2],
        "--format", "json", cwd=where,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    del summary["seconds"], summary["events_per_second"]
    return summary, [(where / f).read_bytes() for f in files[:3]]


def test_the_example_log_replays_the_same_on_spark(tmp_path: Path) -> None:
    """`replay --engine spark`: the same summary and, byte for byte, the same files."""
    python = outputs(tmp_path, "python", LOG, "--no-db")
    spark = outputs(tmp_path, "spark", LOG, "--engine", "spark", "--partition", "components")
    assert spark == python
    assert python[0]["rejected"] > 0 and python[1][2]


def test_several_late_logs_replay_the_same_on_spark(tmp_path: Path) -> None:
    """Two files, lines out of order within and beyond --max-lateness, and a gzip file."""
    import gzip

    records = linked_records(3000, 6)
    rng = random.Random(6)
    lines = [json.dumps(r) for r in records]
    for i in range(0, len(lines) - 3, 40):  # swap neighbours: some late, some reordered
        j = i + rng.randint(1, 3)
        lines[i], lines[j] = lines[j], lines[i]
    (tmp_path / "a.jsonl").write_text("\n".join(lines[:1500]) + "\n")
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines[1500:]) + "\n").encode()))
    for lateness in ("0s", "2s"):
        args = ("a.jsonl", "b.jsonl.gz", "--max-lateness", lateness)
        python = outputs(tmp_path, "python", *args, "--no-db")
        spark = outputs(tmp_path, "spark", *args, "--engine", "spark")
        assert spark[0] == python[0]
        assert spark[1][:2] == python[1][:2]  # assignments and sessions, byte for byte
        assert sorted(spark[1][2].splitlines()) == sorted(python[1][2].splitlines())
        assert python[0]["rejected_by_reason"].get("late")


def test_spark_is_refused_with_a_database(tmp_path: Path) -> None:
    done = replay(LOG, "--engine", "spark", "--db", "x.db", cwd=tmp_path)
    assert done.returncode == 2 and "writes no database" in done.stderr


def test_the_scaling_guide_runs(spark: SparkSession, tmp_path: Path) -> None:
    """docs/scaling.md's examples run, in order, on the bundled example log."""
    from tests.test_docs import BLOCK

    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "agent-log.jsonl").write_bytes(LOG.read_bytes())
    namespace: dict[str, object] = {"spark": spark, "log_folder": tmp_path / "logs"}
    text = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)
    assert len(blocks) == 2
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"scaling.md (python block {number})", "exec"), namespace)
