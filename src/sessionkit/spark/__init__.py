"""Sessions on Apache Spark, exactly as one process groups them (docs/scaling.md).

Needs the extra: ``pip install 'sessionkit[spark]'`` (PySpark; Java 17). Each Spark task feeds
whole scopes, or whole components of linked user keys, sorted by time, to the real
:class:`~sessionkit.Sessionizer`: the rules are never written again in SQL.

This layer imports the core, ``sessionkit.storage`` and ``sessionkit.replay``; PySpark only
inside its functions.
"""

from __future__ import annotations

from sessionkit.spark._engine import PARTITIONINGS, PartitioningError
from sessionkit.spark._frames import (
    ASSIGNMENT_COLUMNS,
    SESSION_COLUMNS,
    PartitioningReport,
    Sessionized,
    check_partitioning,
    sessionize_dataframe,
    sessionize_logs,
)

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "PARTITIONINGS",
    "SESSION_COLUMNS",
    "PartitioningError",
    "PartitioningReport",
    "Sessionized",
    "check_partitioning",
    "sessionize_dataframe",
    "sessionize_logs",
]
