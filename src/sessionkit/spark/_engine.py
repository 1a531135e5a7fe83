"""Grouping on Spark: partitions that cannot lie, each fed to the real Sessionizer.

Spark is imported inside the functions, so that ``import sessionkit.spark`` works where it is
not installed and the plain parts (``_plain.py``) stay testable without it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from sessionkit import Rules, SessionkitError
from sessionkit.replay import LogEvent, late_line
from sessionkit.spark._plain import (
    Components,
    Item,
    Keys,
    Outcome,
    SessionRow,
    bucket_of,
    feed_partition,
    keys_of,
    micros,
    rejected,
    settle,
    time_of,
)

if TYPE_CHECKING:
    from pyspark import RDD, StorageLevel
    from pyspark.sql import SparkSession

__all__ = [
    "PARTITIONINGS",
    "Grouped",
    "Links",
    "PartitioningError",
    "find_links",
    "group_items",
    "kept",
    "mark_late",
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


def find_links(spark: SparkSession, items: RDD[Item], examples: int = 5) -> Links:
    """The four kinds of id that tie two user keys of a scope: an explicit session id sent by
    both, a parent link from one to the other, one event id under both, and an explicit id
    equal to the id derived for another key's event. Four Spark aggregations."""
    from pyspark.sql import functions as f

    keys = spark.createDataFrame(
        items.filter(lambda item: item.event is not None).map(_keys),
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


def _keys(item: Item) -> Keys:
    assert item.event is not None
    return keys_of(item.event)


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


def mark_late(items: Iterable[Item], newest_us: int | None, max_lateness: timedelta) -> list[Item]:
    """A log file's items (in line order) with the events more than ``max_lateness`` behind
    the newest event before them (``newest_us``: of the files before this one) rejected as
    ``late``, as ``replay_records`` rejects them."""
    marked = []
    newest = None if newest_us is None else time_of(newest_us, 0)
    for item in items:
        event = item.event
        if event is not None and newest is not None and newest - event.at > max_lateness:
            record = LogEvent(item.source or "", item.line or 0, event, item.raw or "")
            line = late_line(record, newest, max_lateness)
            marked.append(item._replace(event=None, reason=line.reason, detail=line.detail))
            continue
        if event is not None and (newest is None or event.at > newest):
            newest = event.at
        marked.append(item)
    return marked


def kept() -> StorageLevel:
    """How intermediate results are kept: in memory, spilling to disk (never recomputed)."""
    from pyspark import StorageLevel

    return StorageLevel.MEMORY_AND_DISK


def _stable_hash(value: object) -> int:
    return zlib.crc32(repr(value).encode("utf-8", "surrogatepass"))


class Grouped(NamedTuple):
    """The outcome of every item and the summary of every session, as RDDs."""

    outcomes: RDD[Outcome]
    sessions: RDD[SessionRow]


def group_items(
    spark: SparkSession,
    items: RDD[Item],
    rules: Rules,
    partition: str,
    buckets: int | None = None,
) -> Grouped:
    """Group the items' events: each Spark partition gets whole scopes (``scope``) or whole
    buckets of linked user keys (``components``), sorted by (time, position), and feeds them
    to one Sessionizer. Then what only all partitions together know is settled: which
    sessions went idle by the last event, and the refusal details that depend on it."""
    if partition == "user":  # exact only where no id ties user keys: then it is "components"
        partition_ok(spark, items, partition)
        partition = "components"
    if partition not in PARTITIONINGS:
        raise PartitioningError(
            f"partition must be one of {', '.join(PARTITIONINGS)}, not {partition!r}"
        )
    parallelism = spark.sparkContext.defaultParallelism
    key_of = _partition_key(spark, items, partition, buckets or max(8, 2 * parallelism))
    tasks = max(1, parallelism * 2)
    events = items.filter(lambda item: item.event is not None).map(
        lambda item: ((key_of(item), micros(item.event.at), item.position), item)  # type: ignore[union-attr]
    )
    fed = events.repartitionAndSortWithinPartitions(
        tasks,
        partitionFunc=lambda key: _stable_hash(key[0]),
        keyfunc=lambda key: (key[1], key[2]),
    ).mapPartitions(lambda part: feed_partition((item for _, item in part), rules))
    fed.persist(kept())
    outcomes = fed.filter(lambda tagged: tagged[0] == "a").map(_outcome)
    outcomes = outcomes.union(items.filter(lambda item: item.event is None).map(rejected))
    accepted = outcomes.filter(lambda o: o.reason is None and not o.duplicate)
    end_us = accepted.map(lambda o: o.at_us).max() if not accepted.isEmpty() else None
    sessions = fed.filter(lambda tagged: tagged[0] == "s").map(
        lambda tagged: settle(_session(tagged), end_us, rules)
    )
    return Grouped(_settle_refusals(outcomes, accepted), sessions)


def _outcome(tagged: tuple[str, Outcome | SessionRow]) -> Outcome:
    assert isinstance(tagged[1], Outcome)
    return tagged[1]


def _session(tagged: tuple[str, Outcome | SessionRow]) -> SessionRow:
    assert isinstance(tagged[1], SessionRow)
    return tagged[1]


def _partition_key(
    spark: SparkSession, items: RDD[Item], partition: str, buckets: int
) -> Callable[[Item], object]:
    if partition == "scope":
        return lambda item: item.event.scope  # type: ignore[union-attr]
    roots = Components(find_links(spark, items).edges).roots()
    shared = spark.sparkContext.broadcast(roots)

    def bucket(item: Item) -> object:
        event = item.event
        assert event is not None
        node = (event.scope, event.user_key)
        return bucket_of(shared.value.get(node, node), buckets)

    return bucket


def _settle_refusals(outcomes: RDD[Outcome], accepted: RDD[Outcome]) -> RDD[Outcome]:
    """A refusal that named a session its partition still remembered gets the detail the
    in-process Sessionizer gives it if, by then, an accepted event of any partition had reached
    that session's horizon (the in-process Sessionizer had forgotten it)."""
    candidates = outcomes.filter(lambda o: o.swept_from_us is not None).collect()
    if not candidates:
        return outcomes
    spark_context = outcomes.context
    shared = spark_context.broadcast(
        [(o.swept_from_us or 0, o.at_us or 0, o.position) for o in candidates]
    )

    def reached(o: Outcome) -> Iterator[int]:
        at = o.at_us
        assert at is not None  # an accepted event
        for swept_from, at_us, position in shared.value:
            if at >= swept_from and (at, o.position) < (at_us, position):
                yield position

    forgotten = set(accepted.flatMap(reached).distinct().collect())
    chosen = spark_context.broadcast(forgotten)
    return outcomes.map(
        lambda o: o._replace(detail=o.swept_detail) if o.position in chosen.value else o
    )


def partition_ok(spark: SparkSession, items: RDD[Item], partition: str) -> Links:
    """The links in the items; raises :class:`PartitioningError` naming an id that ties user
    keys together when ``partition`` is ``user`` (the partitioning that would split them)."""
    links = find_links(spark, items)
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
