"""sessionkit groups the events of conversations between people and AI systems into sessions.

This is the core: the value types, the rules and the :class:`Sessionizer`, which does no I/O and
imports nothing but the standard library and ``attrs``. Feed time-ordered :class:`Event` values
into a :class:`Sessionizer` (or call :func:`sessionize` on a list of them) and read the sessions
back. The rules are in ``docs/rules.md``; the other layers are subpackages:
``sessionkit.storage`` (the Tracker and the stores), ``sessionkit.replay`` (reading logs),
``sessionkit.cli`` (the command) and ``sessionkit.testing`` (tools for your tests).
"""

from __future__ import annotations

from sessionkit._assembly import SessionAssembly, build_thread_tree, sessionize
from sessionkit._errors import (
    ConflictingDuplicateError,
    IncompatibleStoreError,
    InvalidEventError,
    InvalidRulesError,
    LogLineError,
    OutOfOrderError,
    RefusedEventError,
    RejectedEventError,
    SessionClosedError,
    SessionIdConflictError,
    SessionkitError,
    SnapshotError,
    StoreError,
    StoreLockedError,
    TimeOutOfRangeError,
    UnknownEventError,
    UnstorableEventError,
)
from sessionkit._model import (
    EARLIEST,
    LATEST,
    Assignment,
    CloseReason,
    Event,
    EventFields,
    GroupingRule,
    Participant,
    ParticipantKind,
    Session,
    SessionStatus,
    SessionSummary,
    ThreadNode,
)
from sessionkit._rules import (
    PRECEDENCE,
    SESSION_ID_NAMESPACE,
    ResumeCutoffs,
    Rule,
    Rules,
    RuleStep,
    derive_session_id,
)
from sessionkit._sessionizer import ClosedSessionIndex, ClosedSessionSet, Placement, Sessionizer
from sessionkit._snapshot import SNAPSHOT_VERSION

__version__ = "0.2.0"

__all__ = [
    "EARLIEST",
    "LATEST",
    "PRECEDENCE",
    "SESSION_ID_NAMESPACE",
    "SNAPSHOT_VERSION",
    "Assignment",
    "CloseReason",
    "ClosedSessionIndex",
    "ClosedSessionSet",
    "ConflictingDuplicateError",
    "Event",
    "EventFields",
    "GroupingRule",
    "IncompatibleStoreError",
    "InvalidEventError",
    "InvalidRulesError",
    "LogLineError",
    "OutOfOrderError",
    "Participant",
    "ParticipantKind",
    "Placement",
    "RefusedEventError",
    "RejectedEventError",
    "ResumeCutoffs",
    "Rule",
    "RuleStep",
    "Rules",
    "Session",
    "SessionAssembly",
    "SessionClosedError",
    "SessionIdConflictError",
    "SessionStatus",
    "SessionSummary",
    "Sessionizer",
    "SessionkitError",
    "SnapshotError",
    "StoreError",
    "StoreLockedError",
    "ThreadNode",
    "TimeOutOfRangeError",
    "UnknownEventError",
    "UnstorableEventError",
    "__version__",
    "build_thread_tree",
    "derive_session_id",
    "sessionize",
]
