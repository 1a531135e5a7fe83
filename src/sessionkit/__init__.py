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
    "Event",
    "GroupingRule",
    "IncompatibleStoreError",
    "InvalidEventError",
    "InvalidRulesError",
    "MemoryStore",
    "OutOfOrderError",
    "Participant",
    "ParticipantKind",
    "RejectedEventError",
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
    "Tracker",
    "UnstorableEventError",
    "__version__",
    "build_thread_tree",
    "derive_session_id",
    "sessionize",
]
