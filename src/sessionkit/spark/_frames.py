"""The public face of the Spark integration: DataFrames in, DataFrames out."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs

from sessionkit import Rules, SessionSummary
from sessionkit.replay import LogLayout, LogReader, TimestampParser
from sessionkit.spark._engine import (
    Grouped,
    Links,
    group_items,
    kept,
    mark_late_packed,
    partition_ok,
)
from sessionkit.spark._plain import (
    Packed,
    SessionRow,
    items_of_log,
    items_of_records,
    micros,
    pack,
    session_order,
)

if TYPE_CHECKING:
    from pyspark import RDD
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "SESSION_COLUMNS",
    "PartitioningReport",
    "Sessionized",
    "check_partitioning",
    "sessionize_dataframe",
    "sessionize_logs",
]

#: The columns of ``Sessionized.assignments``: one row per input record.
ASSIGNMENT_COLUMNS = (
    "position", "source", "line", "scope", "event_id", "at", "session_id", "rule", "explicit",
    "started", "header", "duplicate", "output_set", "thread_parent_id", "reason", "detail",
    "raw",
)  # fmt: skip
#: The columns of ``Sessionized.sessions``: one row per session.
SESSION_COLUMNS = (
    "session_id", "scope", "explicit", "header_id", "started_at", "last_input_at",
    "event_count", "status", "closed_at", "close_reason", "last_position", "utc_offsets",
)  # fmt: skip


@attrs.frozen
class Sessionized:
    """What :func:`sessionize_dataframe` and :func:`sessionize_logs` decided.

    * ``assignments``: one row per input record (``ASSIGNMENT_COLUMNS``): its ``position``
      (and, for logs, ``source`` and ``line``), the event's ``scope``, ``event_id`` and ``at``,
      then either the session it joined (``session_id``, the ``rule`` that decided, whether the
      id is ``explicit``, whether it ``started`` the session or is its ``header``, whether it is
      a ``duplicate``, its ``thread_parent_id``), or that it set the output of an event
      accepted earlier (``output_set``, with that event's session), or why it was rejected
      (``reason``, ``detail``; ``raw`` is the line as read, for logs).
    * ``sessions``: one row per session (``SESSION_COLUMNS``): the core's
      :class:`~sessionkit.SessionSummary`, with ``last_position`` (its last event's position)
      and ``utc_offsets`` (the offsets, in seconds, its three times were logged in).
    * ``lines_read``: for logs, the lines read (``None`` for a DataFrame).
    """

    assignments: DataFrame
    sessions: DataFrame
    lines_read: int | None = None
    _cached: DataFrame | None = attrs.field(default=None, repr=False, eq=False)

    def unpersist(self) -> None:
        """Release what Spark keeps cached to compute these results (memory and local disk
        of the executors); call it when done with them. Reading them after it computes them
        again (the same rows: the grouping is deterministic)."""
        if self._cached is not None:
            self._cached.unpersist()

    def session_summaries(self) -> Iterator[SessionSummary]:
        """The sessions as :class:`~sessionkit.SessionSummary` values, in the order
        ``sessionkit replay --sessions-out`` writes them: closings in the order they happen,
        then the sessions still open. Streams them to the driver."""
        from pyspark.sql import functions as f

        us = {name: f.unix_micros(name) for name in ("started_at", "last_input_at", "closed_at")}
        rows = self.sessions.select(  # as SessionRow's fields
            *SESSION_COLUMNS[:4],
            us["started_at"],
            f.col("utc_offsets")[0],
            us["last_input_at"],
            f.col("utc_offsets")[1],
            "event_count",
            "status",
            us["closed_at"],
            f.col("utc_offsets")[2],
            "close_reason",
            "last_position",
        )
        ordered = rows.rdd.map(lambda row: SessionRow(*row)).sortBy(session_order)
        for row in ordered.toLocalIterator():
            yield row.summary()


def _frames(grouped: Grouped, lines_read: int | None) -> Sessionized:
    from pyspark.sql import functions as f

    assignments = grouped.outcomes.withColumn("at", f.timestamp_micros("at_us")).select(
        *ASSIGNMENT_COLUMNS
    )
    sessions = grouped.sessions.select(
        *SESSION_COLUMNS[:4],
        f.timestamp_micros("started_us").alias("started_at"),
        f.timestamp_micros("last_input_us").alias("last_input_at"),
        "event_count",
        "status",
        f.timestamp_micros("closed_us").alias("closed_at"),
        "close_reason",
        "last_position",
        f.array("started_offset", "last_input_offset", f.coalesce("closed_offset", f.lit(0))).alias(
            "utc_offsets"
        ),
    )
    return Sessionized(assignments, sessions, lines_read, grouped.cached)


def _records(df: DataFrame, position: str) -> RDD[tuple[int, dict[str, Any]]]:
    """``(position, record)`` of each row: times as ISO text of their instant (so that neither
    the session time zone nor the worker's changes them), nulls as absent fields."""
    from pyspark.sql import functions as f
    from pyspark.sql.types import TimestampNTZType, TimestampType

    if position not in df.columns:
        df = df.withColumn(position, f.monotonically_increasing_id())
    for field in df.schema.fields:
        if isinstance(field.dataType, TimestampType):
            pattern = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"
        elif isinstance(field.dataType, TimestampNTZType):
            pattern = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"
        else:
            continue
        df = df.withColumn(field.name, f.date_format(f.col(field.name), pattern))

    def record(row: Any) -> tuple[int, dict[str, Any]]:
        fields = row.asDict(recursive=True)
        return fields.pop(position), fields

    return df.rdd.map(record)


def _items_of_frame(
    df: DataFrame, layout: LogLayout | None, timestamps: TimestampParser | None, position: str
) -> RDD[Packed]:
    layout = layout if layout is not None else LogLayout()
    timestamps = timestamps if timestamps is not None else TimestampParser()
    return _records(df, position).mapPartitions(
        lambda records: map(pack, items_of_records(records, layout, timestamps))
    )


def sessionize_dataframe(
    df: DataFrame,
    *,
    rules: Rules | None = None,
    layout: LogLayout | None = None,
    timestamps: TimestampParser | None = None,
    position: str = "position",
    partition: str = "scope",
    buckets: int | None = None,
) -> Sessionized:
    """Group a DataFrame's events into sessions on Spark, exactly as one Sessionizer fed them
    in order of (time, ``position``) would.

    Each row is a record of ``layout`` (default: the replay layout), mapped as ``sessionkit
    replay`` maps a log line; timestamp columns are read as the instants they hold. The
    ``position`` column breaks ties between equal times; when the DataFrame has none, one is
    made with ``monotonically_increasing_id`` (which follows file order only for a single file
    read in order). ``partition``: ``"scope"`` (the default) or ``"components"`` (buckets of
    user keys that ids tie together, to spread one big scope); ``"user"`` is refused with
    :class:`PartitioningError` when an id ties two user keys. See docs/scaling.md.
    """
    packed = _items_of_frame(df, layout, timestamps, position)
    grouped = group_items(df.sparkSession, packed, rules or Rules(), partition, buckets)
    return _frames(grouped, None)


def sessionize_logs(
    spark: SparkSession,
    paths: Sequence[str],
    *,
    reader: LogReader | None = None,
    rules: Rules | None = None,
    max_lateness: timedelta = timedelta(0),
    partition: str = "scope",
    buckets: int | None = None,
) -> Sessionized:
    """Replay log files on Spark with exactly the outcome of ``sessionkit replay``: each file
    is read whole by one task with the real :class:`~sessionkit.replay.LogReader` (any format,
    compression and check it knows; ``reader`` gives its settings), events too late for
    ``max_lateness`` are rejected as ``late``, and the rest are grouped as
    :func:`sessionize_dataframe` groups them. ``-`` reads standard input on the driver."""
    settings = reader if reader is not None else LogReader([])
    make_reader = partial(
        LogReader,
        format=settings.format,
        mapper=settings.mapper,
        max_line_bytes=settings.max_line_bytes,
        max_depth=settings.max_depth,
    )
    files = _read(spark, paths).map(lambda f: _read_log(f, make_reader))
    files.persist(kept(large=True))
    found = files.map(lambda f: (f[0], f[3], f[2])).collect()
    newest: dict[int, int | None] = {}
    running = None
    for index, top, _ in sorted(found):
        newest[index] = running
        running = top if running is None or (top is not None and top > running) else running
    before = spark.sparkContext.broadcast(newest)
    packed = files.flatMap(lambda f: mark_late_packed(f[1], before.value[f[0]], max_lateness))
    grouped = group_items(spark, packed, rules or Rules(), partition, buckets)
    files.unpersist()
    return _frames(grouped, sum(lines for _, _, lines in found))


def _read_log(
    file: tuple[int, str, bytes], make_reader: Callable[..., LogReader]
) -> tuple[int, list[Packed], int, int | None]:
    """A log's packed items, the lines read and its newest event's time."""
    index, name, content = file
    items, lines = items_of_log(content, name, index, make_reader)
    times = [micros(item.event.at) for item in items if item.event is not None]
    return index, [pack(item) for item in items], lines, max(times) if times else None


def _read(spark: SparkSession, paths: Sequence[str]) -> RDD[Any]:
    """``(index, name, content)`` of each log, read whole."""
    parts = []
    for index, path in enumerate(paths):
        if path == "-":
            content = sys.stdin.buffer.read()
            parts.append(spark.sparkContext.parallelize([(index, "<stdin>", content)], 1))
            continue
        frame = spark.read.format("binaryFile").load(path)
        found = [row[0] for row in frame.select("path").collect()]
        if len(found) != 1:  # a folder or a pattern: its files would share one position
            raise ValueError(f"{path}: give each log file by name ({len(found)} files match)")
        parts.append(frame.select("content").rdd.map(partial(_named, index, path)))
    return spark.sparkContext.union(parts)


def _named(index: int, path: str, row: Any) -> tuple[int, str, bytes]:
    return index, path, bytes(row[0])


@attrs.frozen
class PartitioningReport:
    """What ties user keys together in a DataFrame (see :func:`check_partitioning`)."""

    links: Links

    @property
    def user_partitioning_is_exact(self) -> bool:
        """Whether no id ties two user keys (so any grouping of whole user keys is exact)."""
        return self.links.total == 0

    def __str__(self) -> str:
        names = ("explicit session ids", "parent links", "event ids", "derived session ids")
        lines = [
            "Partitioning by scope is always exact; by components of linked user keys too.",
            "Ids that tie two or more user keys of a scope (partitioning by user would split "
            f"them): {self.links.total:,}",
        ]
        for name, (count, examples) in zip(names, self.links[:4], strict=True):
            lines.append(f"  {name} used across user keys: {count:,}")
            lines += [
                f"    e.g. {id!r} in scope {scope!r}: {', '.join(map(repr, users))}"
                for scope, id, users in examples
            ]
        return "\n".join(lines)


def check_partitioning(
    df: DataFrame,
    *,
    layout: LogLayout | None = None,
    timestamps: TimestampParser | None = None,
    position: str = "position",
) -> PartitioningReport:
    """Find what ties user keys together in ``df``, and explain which partitionings are exact
    (``str(report)``). Four Spark aggregations; nothing is grouped."""
    packed = _items_of_frame(df, layout, timestamps, position)
    return PartitioningReport(partition_ok(df.sparkSession, packed, "components"))
