"""Replaying logs: readers for JSON Lines and CSV, timestamp parsing, reordering and accounting.

See ``docs/replay.md``. The ``sessionkit`` command (``sessionkit.cli``) is built on these; so can
your own scripts be::

    reader = LogReader(["events.jsonl.gz"])
    summary = ReplaySummary()
    grouper = Sessionizer()
    for outcome in replay_records(reader, grouper, max_lateness=timedelta(seconds=30)):
        summary.add(outcome)
    summary.lines_read = reader.lines_read

This layer imports the core and ``sessionkit.storage``.
"""

from __future__ import annotations

from sessionkit import EventFields
from sessionkit.replay._compare import (
    CHANGE_KINDS,
    RuleComparison,
    SessionChange,
    SessionRef,
    compare_rules,
)
from sessionkit.replay._durations import format_duration, parse_duration
from sessionkit.replay._layout import (
    EVENT_TYPES,
    KIND_NAMES,
    EventMapper,
    LogLayout,
    RecordMapper,
)
from sessionkit.replay._lean import Placed, replay_lean
from sessionkit.replay._outputs import AssignmentWriter, RejectWriter, SessionWriter
from sessionkit.replay._presets import PRESETS, Preset
from sessionkit.replay._readers import (
    FORMATS,
    MAX_DEPTH,
    MAX_LINE_BYTES,
    KeptFields,
    LeanRecord,
    LogEvent,
    LogFields,
    LogOutput,
    LogReader,
    RejectedLine,
    raw_text,
)
from sessionkit.replay._reorder import ReorderBuffer
from sessionkit.replay._repeats import OutputFollowUp, Repeats
from sessionkit.replay._replay import Grouper, OutputSet, Replayed, late_line, replay_records
from sessionkit.replay._summary import ReplaySummary
from sessionkit.replay._timestamps import EpochUnit, TimestampParser, load_zone
from sessionkit.replay._workers import read_apart, why_not_apart

__all__ = [
    "CHANGE_KINDS",
    "EVENT_TYPES",
    "FORMATS",
    "KIND_NAMES",
    "MAX_DEPTH",
    "MAX_LINE_BYTES",
    "PRESETS",
    "AssignmentWriter",
    "EpochUnit",
    "EventFields",
    "EventMapper",
    "Grouper",
    "KeptFields",
    "LeanRecord",
    "LogEvent",
    "LogFields",
    "LogLayout",
    "LogOutput",
    "LogReader",
    "OutputFollowUp",
    "OutputSet",
    "Placed",
    "Preset",
    "RecordMapper",
    "RejectWriter",
    "RejectedLine",
    "ReorderBuffer",
    "Repeats",
    "ReplaySummary",
    "Replayed",
    "RuleComparison",
    "SessionChange",
    "SessionRef",
    "SessionWriter",
    "TimestampParser",
    "compare_rules",
    "format_duration",
    "late_line",
    "load_zone",
    "parse_duration",
    "raw_text",
    "read_apart",
    "replay_lean",
    "replay_records",
    "why_not_apart",
]
