"""``sessionkit replay --engine spark``: the replay on Apache Spark, written as ``replay`` writes.

Imports PySpark: ``sessionkit replay`` imports this module only for ``--engine spark``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as f

from sessionkit import Rules
from sessionkit.replay import (
    AssignmentWriter,
    LogReader,
    RejectedLine,
    RejectWriter,
    ReplaySummary,
    SessionWriter,
)
from sessionkit.spark import Sessionized, sessionize_logs

__all__ = ["replay_on_spark", "spark_session"]


def spark_session(master: str | None) -> SparkSession:
    """A Spark session on ``master`` (default ``local[*]``) whose workers run this Python."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName("sessionkit replay")
        .master(master or "local[*]")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master is None or master.startswith("local"):
        builder = builder.config("spark.ui.enabled", "false")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def replay_on_spark(options: argparse.Namespace, reader: LogReader, rules: Rules) -> ReplaySummary:
    """Replay ``options.logs`` on Spark; write ``--out``, ``--sessions-out`` and ``--rejects``
    as the in-process replay does; return the summary."""
    spark = spark_session(options.master)
    result = sessionize_logs(
        spark,
        options.logs,
        reader=reader,
        rules=rules,
        max_lateness=options.max_lateness,
        partition=options.partition,
    )
    assignments = result.assignments.persist()
    if options.out:
        _write_assignments(assignments, options.out)
    if options.rejects:
        _write_rejects(assignments, options.rejects)
    if options.sessions_out:
        with SessionWriter(options.sessions_out) as sessions:
            for summary in result.session_summaries():
                sessions.write(summary)
    return _summary(result, assignments)


def _write_assignments(assignments: DataFrame, path: str) -> None:
    """Accepted events in the order the in-process replay feeds them: by time, then input."""
    accepted = assignments.where(f.col("reason").isNull() & ~f.col("duplicate"))
    with AssignmentWriter(path) as writer:
        for row in accepted.orderBy("at", "position").toLocalIterator():
            writer.write_fields(
                row.event_id, row.scope, row.session_id, row.rule, row.started, row.header,
                row.thread_parent_id, row.source, row.line,
            )  # fmt: skip


def _write_rejects(assignments: DataFrame, path: str) -> None:
    """Rejected lines in input order."""
    with RejectWriter(path) as writer:
        rejected = assignments.where(f.col("reason").isNotNull()).orderBy("position")
        for row in rejected.toLocalIterator():
            writer.write(RejectedLine(row.source, row.line, row.reason, row.detail, row.raw))


def _summary(result: Sessionized, assignments: DataFrame) -> ReplaySummary:
    summary = ReplaySummary(lines_read=result.lines_read or 0)
    counts = (
        assignments.groupBy(
            "reason",
            "output_set",
            "duplicate",
            f.when(f.col("started"), f.col("explicit")).alias("explicit"),
            f.when(f.col("started"), f.col("header")).alias("header"),
        )
        .count()
        .collect()
    )
    summary.rejected_by_reason = Counter()
    for reason, output_set, duplicate, explicit, header, count in counts:
        if reason is not None:
            summary.rejected_by_reason[reason] += count
        elif output_set:
            summary.outputs += count
        elif duplicate:
            summary.duplicates += count
        else:
            summary.accepted += count
            if explicit is not None:
                summary.explicit_sessions += count if explicit else 0
                summary.implicit_sessions += 0 if explicit else count
                summary.headerless_sessions += 0 if header else count
    return summary
