"""sessionkit groups the events of conversations between people and AI systems into sessions.

The rules are in ``docs/rules.md``. Feed time-ordered :class:`Event` values into a
:class:`Sessionizer` (or call :func:`sessionize` on a list of them) and read the sessions back.
"""

from __future__ import annotations

from sessionkit._assembly import SessionAssembly, build_thread_tree, sessionize
from sessionkit._errors import (
    IncompatibleStoreError,
    InvalidEventError,
    InvalidRulesError,
    LogLineError,
    OutOfOrderError,
    RejectedEventError,
    SessionClosedError,
    SessionIdConflictError,
    SessionkitError,
    SnapshotError,
    StoreError,
    StoreLockedError,
    UnstorableEventError,
)
from sessionkit._model import (
    Assignment,
    ClosedSession,
    CloseReason,
    Event,
    GroupingRule,
    Participant,
    ParticipantKind,
    Session,
    SessionStatus,
    ThreadNode,
)
from sessionkit._rules import SESSION_ID_NAMESPACE, Rules, derive_session_id
from sessionkit._sessionizer import (
    SNAPSHOT_VERSION,
    ClosedSessionIndex,
    Sessionizer,
)
from sessionkit._tracker import Tracker
from sessionkit.replay import (
    EpochUnit,
    LogEvent,
    LogLayout,
    LogReader,
    RejectedLine,
    ReorderBuffer,
    Replayed,
    ReplaySummary,
    RuleComparison,
    TimestampParser,
    compare_rules,
    format_duration,
    parse_duration,
    replay,
)
from sessionkit.storage import (
    MemoryStore,
    SessionQueries,
    SessionRecorder,
    SessionStore,
    SQLiteStore,
)

__version__ = "0.1.0"

__all__ = [
    "SESSION_ID_NAMESPACE",
    "SNAPSHOT_VERSION",
    "Assignment",
    "CloseReason",
    "ClosedSession",
    "ClosedSessionIndex",
    "EpochUnit",
    "Event",
    "GroupingRule",
    "IncompatibleStoreError",
    "InvalidEventError",
    "InvalidRulesError",
    "LogEvent",
    "LogLayout",
    "LogLineError",
    "LogReader",
    "MemoryStore",
    "OutOfOrderError",
    "Participant",
    "ParticipantKind",
    "RejectedEventError",
    "RejectedLine",
    "ReorderBuffer",
    "ReplaySummary",
    "Replayed",
    "RuleComparison",
    "Rules",
    "SQLiteStore",
    "Session",
    "SessionAssembly",
    "SessionClosedError",
    "SessionIdConflictError",
    "SessionQueries",
    "SessionRecorder",
    "SessionStatus",
    "SessionStore",
    "Sessionizer",
    "SessionkitError",
    "SnapshotError",
    "StoreError",
    "StoreLockedError",
    "ThreadNode",
    "TimestampParser",
    "Tracker",
    "UnstorableEventError",
    "__version__",
    "build_thread_tree",
    "compare_rules",
    "derive_session_id",
    "format_duration",
    "parse_duration",
    "replay",
    "sessionize",
]
