"""Grouping on Spark: partitions that cannot lie, each fed to the real Sessionizer.

Spark is imported inside the functions, so that ``import sessionkit.spark`` works where it is
not installed and the plain parts (``_plain.py``) stay testable without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from sessionkit import Rules, SessionkitError
from sessionkit.replay import LogEvent, LogOutput, late_line
from sessionkit.spark._plain import (
    Components,
    Outcome,
    Packed,
    SessionRow,
    Unpacker,
    feed_partition,
    packed_keys,
    settle,
    stable_hash,
    time_of,
)

if TYPE_CHECKING:
    from pyspark import RDD, StorageLevel
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "PARTITIONINGS",
    "Grouped",
    "Links",
    "PartitioningError",
    "find_links",
    "group_items",
    "kept",
    "mark_late_packed",
]

#: How events may be spread over Spark's tasks: both exact.
PARTITIONINGS = ("scope", "components")


class PartitioningError(SessionkitError, ValueError):
    """A partitioning that would give other sessions than one process: it would split events
    that the rules tie together. The message names one id that ties them."""


class Links(NamedTuple):
    """What ties user keys together, found by :func:`find_links`: for each kind of link, how
    many ids make one and up to a few examples ``(scope, id, user keys)``."""

    explicit_ids: tuple[int, list[tuple[str, str, list[str]]]]
    parent_links: tuple[int, list[tuple[str, str, list[str]]]]
    event_ids: tuple[int, list[tuple[str, str, list[str]]]]
    derived_ids: tuple[int, list[tuple[str, str, list[str]]]]
    edges: list[tuple[tuple[str, str], tuple[str, str]]]

    @property
    def total(self) -> int:
        return sum(kind[0] for kind in self[:4])


_KEYS_SCHEMA = (
    "scope string, user_key string, event_id string, session_id string, parent_id string, "
    "derived_id string"
)


def find_links(spark: SparkSession, packed: RDD[Packed], examples: int = 5) -> Links:
    """The four kinds of id that tie two user keys of a scope: an explicit session id sent by
    both, a parent link from one to the other, one event id under both, and an explicit id
    equal to the id derived for another key's event. Four Spark aggregations."""
    from pyspark.sql import functions as f

    keys = spark.createDataFrame(
        packed.filter(lambda p: p[3] is not None).map(packed_keys),
        _KEYS_SCHEMA,
    ).persist(kept())
    try:
        shared = [
            _shared(keys.where(f.col("session_id").isNotNull()), "session_id"),
            _crossing(keys, "parent_id", "event_id"),
            _shared(keys, "event_id"),
            _crossing(keys, "session_id", "derived_id"),
        ]
        found = []
        edges: list[tuple[tuple[str, str], tuple[str, str]]] = []
        for frame in shared:
            rows = frame.collect()
            found.append((len(rows), [(r[0], r[1], sorted(r[2])) for r in rows[:examples]]))
            for scope, _, users in rows:
                first, *others = sorted(users)
                edges += [((scope, first), (scope, other)) for other in others]
    finally:
        keys.unpersist()
    return Links(found[0], found[1], found[2], found[3], edges)


def _shared(keys: Any, column: str) -> Any:
    """Ids of ``column`` that more than one user key of a scope carries."""
    from pyspark.sql import functions as f

    return (
        keys.groupBy("scope", column)
        .agg(f.collect_set("user_key").alias("users"))
        .where(f.size("users") > 1)
        .orderBy("scope", column)
    )


def _crossing(keys: Any, linking: str, linked: str) -> Any:
    """Ids where an event's ``linking`` id is another user key's event's ``linked`` id."""
    from pyspark.sql import functions as f

    a = keys.where(f.col(linking).isNotNull()).select(
        "scope", f.col(linking).alias("id"), f.col("user_key").alias("a")
    )
    b = keys.select("scope", f.col(linked).alias("id"), f.col("user_key").alias("b"))
    return (
        a.join(b, ["scope", "id"])
        .where(f.col("a") != f.col("b"))
        .groupBy("scope", "id")
        .agg(f.array_union(f.collect_set("a"), f.collect_set("b")).alias("users"))
        .orderBy("scope", "id")
    )


def mark_late_packed(
    packed: Iterable[Packed], newest_us: int | None, max_lateness: timedelta
) -> Iterator[Packed]:
    """A log file's items (in line order) with the events more than ``max_lateness`` behind
    the newest event before them (``newest_us``: of the files before this one) rejected as
    ``late``, as ``replay_records`` rejects them."""
    lateness = max_lateness // timedelta(microseconds=1)
    unpack = Unpacker()
    for p in packed:
        fields = p[3]
        if fields is None:
            yield p
            continue
        at_us = fields[1]
        if newest_us is not None and newest_us - at_us > lateness:
            item = unpack(p)
            source, line, raw = item.source or "", item.line or 0, item.raw or ""
            record: LogEvent | LogOutput = (
                LogEvent(source, line, item.event, raw)
                if item.event is not None
                else LogOutput(source, line, item.output, raw)  # type: ignore[arg-type]
            )
            late = late_line(record, time_of(newest_us, 0), max_lateness)
            yield (p[0], p[1], p[2], None, p[4], late.reason, late.detail)
            continue
        if newest_us is None or at_us > newest_us:
            newest_us = at_us
        yield p


def kept(*, large: bool = False) -> StorageLevel:
    """How intermediate results are kept so they are never recomputed: in memory, spilling
    to disk; ``large`` ones (every input record, read twice) on disk only, so they do not
    crowd the executors' memory (at 5,000,000 lines in 4 GB they did)."""
    from pyspark import StorageLevel

    return StorageLevel.DISK_ONLY if large else StorageLevel.MEMORY_AND_DISK


_OUTCOME_COLUMNS = (
    "position long, source string, line long, scope string, event_id string, at_us long, "
    "session_id string, rule string, explicit boolean, started boolean, header boolean, "
    "duplicate boolean, output_set boolean, thread_parent_id string, reason string, "
    "detail string, raw string, "
    "swept_detail string, swept_from_us long"
)
_SESSION_COLUMNS = (
    "session_id string, scope string, explicit boolean, header_id string, started_us long, "
    "started_offset int, last_input_us long, last_input_offset int, event_count long, "
    "status string, closed_us long, closed_offset int, close_reason string, last_position long"
)
_OUTCOME_WIDTH = len(Outcome._fields)
_SESSION_WIDTH = len(SessionRow._fields)
# What feeding yields, in one DataFrame: a kind ("a", "s") and either part.
_FED_SCHEMA = f"kind string, {_OUTCOME_COLUMNS}, " + ", ".join(
    f"s_{column}" for column in _SESSION_COLUMNS.split(", ")
)


class Grouped(NamedTuple):
    """The outcome of every item (``Outcome`` columns) and every session (``SessionRow``
    columns, times in microseconds with their offsets), as DataFrames; ``cached``, what Spark
    keeps of them (to release when done)."""

    outcomes: DataFrame
    sessions: DataFrame
    cached: DataFrame


def group_items(
    spark: SparkSession,
    packed: RDD[Packed],
    rules: Rules,
    partition: str,
    buckets: int | None = None,
) -> Grouped:
    """Group the items' events: each Spark partition gets whole scopes (``scope``) or whole
    buckets of linked user keys (``components``), sorted by (time, position), and feeds them
    to one Sessionizer. Then what only all partitions together know is settled: which
    sessions went idle by the last event, and the refusal details that depend on it."""
    from pyspark.sql import functions as f

    if partition == "user":  # exact only where no id ties user keys: then it is "components"
        partition_ok(spark, packed, partition)
        partition = "components"
    if partition not in PARTITIONINGS:
        raise PartitioningError(
            f"partition must be one of {', '.join(PARTITIONINGS)}, not {partition!r}"
        )
    tasks = max(1, spark.sparkContext.defaultParallelism * 2)
    key_of = _partition_key(spark, packed, partition, buckets or max(8, tasks))
    keyed = packed.map(lambda p: ((key_of(p), -1 if p[3] is None else p[3][1], p[0]), p))
    fed = keyed.repartitionAndSortWithinPartitions(
        tasks,
        partitionFunc=lambda key: stable_hash(key[0]),
        keyfunc=lambda key: (key[1], key[2]),
    ).mapPartitions(lambda part: _feed_task(part, rules))
    rows = spark.createDataFrame(fed, _FED_SCHEMA, verifySchema=False).persist(kept())
    outcomes = rows.where(f.col("kind") == "a").select(*rows.columns[1 : 1 + _OUTCOME_WIDTH])
    accepted = outcomes.where(f.col("reason").isNull() & ~f.col("duplicate"))
    end_us = accepted.agg(f.max("at_us")).first()[0]  # type: ignore[index]
    packed.unpersist()  # ``rows`` is computed and kept: what it came from is not needed
    stored = rows.where(f.col("kind") == "s").select(*rows.columns[1 + _OUTCOME_WIDTH :])
    settled = stored.rdd.map(lambda r: tuple(settle(SessionRow(*r), end_us, rules)))
    sessions = spark.createDataFrame(settled, _SESSION_COLUMNS, verifySchema=False)
    return Grouped(_settle_refusals(spark, outcomes, accepted), sessions, rows)


_NO_OUTCOME = (None,) * _OUTCOME_WIDTH
_NO_SESSION = (None,) * _SESSION_WIDTH


def _feed_task(part: Iterable[tuple[object, Packed]], rules: Rules) -> Iterator[tuple[Any, ...]]:
    unpack = Unpacker()
    for kind, row in feed_partition((unpack(p) for _, p in part), rules):
        yield ("a", *row, *_NO_SESSION) if kind == "a" else ("s", *_NO_OUTCOME, *row)


def _partition_key(
    spark: SparkSession, packed: RDD[Packed], partition: str, buckets: int
) -> Callable[[Packed], object]:
    if partition == "scope":
        return lambda p: ("rejected", p[0] % buckets) if p[3] is None else p[3][10]
    packed.persist(kept(large=True))  # read twice: for the links, then to group
    roots = Components(find_links(spark, packed).edges).roots()
    shared = spark.sparkContext.broadcast(roots)

    def bucket(p: Packed) -> object:
        if p[3] is None:
            return p[0] % buckets
        keys = packed_keys(p)
        node = (keys.scope, keys.user_key)
        return stable_hash(shared.value.get(node, node)) % buckets

    return bucket


def _settle_refusals(spark: SparkSession, outcomes: DataFrame, accepted: DataFrame) -> DataFrame:
    """A refusal that named a session its partition still remembered gets the detail the
    in-process Sessionizer gives it if, by then, an accepted event of any partition had reached
    that session's horizon (the in-process Sessionizer had forgotten it)."""
    from pyspark.sql import functions as f

    wanted = outcomes.where(f.col("swept_from_us").isNotNull())
    candidates = wanted.select("swept_from_us", "at_us", "position").collect()
    if not candidates:
        return outcomes
    named = spark.createDataFrame(candidates, "since long, until long, refused long")
    a = accepted.select("at_us", "position")
    reached = a.join(
        f.broadcast(named),
        (a.at_us >= named.since)
        & ((a.at_us < named.until) | ((a.at_us == named.until) & (a.position < named.refused))),
    )
    forgotten = [row[0] for row in reached.select("refused").distinct().collect()]
    if not forgotten:
        return outcomes
    chosen = f.col("position").isin(forgotten)
    return outcomes.withColumn(
        "detail", f.when(chosen, f.col("swept_detail")).otherwise(f.col("detail"))
    )


def partition_ok(spark: SparkSession, packed: RDD[Packed], partition: str) -> Links:
    """The links in the items; raises :class:`PartitioningError` naming an id that ties user
    keys together when ``partition`` is ``user`` (the partitioning that would split them)."""
    links = find_links(spark, packed)
    if partition == "user" and links.total:
        for name, (count, examples) in zip(
            ("explicit session id", "parent link", "event id", "derived session id"),
            links[:4],
            strict=True,
        ):
            if count:
                scope, id, users = examples[0]
                raise PartitioningError(
                    f"partitioning by user key would split what the rules tie together: "
                    f"{name} {id!r} of scope {scope!r} links user keys {', '.join(users)} "
                    f"({links.total:,} such ids in all); partition by 'components' instead"
                )
    return links
