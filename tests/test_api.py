"""The public API: every documented name is importable from sessionkit, and typed."""

from __future__ import annotations

import importlib.resources

import sessionkit

DOCUMENTED = {
    "Assignment",
    "CloseReason",
    "ClosedSession",
    "Event",
    "GroupingRule",
    "InvalidEventError",
    "InvalidRulesError",
    "OutOfOrderError",
    "Participant",
    "ParticipantKind",
    "RejectedEventError",
    "Rules",
    "Session",
    "SessionAssembly",
    "SessionClosedError",
    "SessionIdConflictError",
    "SessionStatus",
    "Sessionizer",
    "SessionkitError",
    "ThreadNode",
    "derive_session_id",
    "sessionize",
    "SESSION_ID_NAMESPACE",
    "__version__",
    "build_thread_tree",
    "IncompatibleStoreError",
    "MemoryStore",
    "SQLiteStore",
    "SessionQueries",
    "SessionRecorder",
    "SessionStore",
    "StoreError",
    "StoreLockedError",
    "Tracker",
    "UnstorableEventError",
    "ClosedSessionIndex",
    "SNAPSHOT_VERSION",
    "SnapshotError",
    # Replaying logs (docs/replay.md).
    "LogLineError",
    "LogReader",
    "LogLayout",
    "LogEvent",
    "RejectedLine",
    "TimestampParser",
    "EpochUnit",
    "ReorderBuffer",
    "replay",
    "Replayed",
    "ReplaySummary",
    "compare_rules",
    "RuleComparison",
    "parse_duration",
    "format_duration",
}


def test_all_lists_exactly_the_documented_names() -> None:
    """__all__ is the public API, and each name in it exists."""
    assert set(sessionkit.__all__) == DOCUMENTED
    for name in sessionkit.__all__:
        assert hasattr(sessionkit, name), name


def test_public_names_have_docstrings() -> None:
    """Every public class and function says what it is."""
    for name in sessionkit.__all__:
        obj = getattr(sessionkit, name)
        if callable(obj):
            assert obj.__doc__, name


def test_errors_form_one_hierarchy() -> None:
    """Every error is a SessionkitError; input errors are also ValueErrors."""
    for store_error in (
        sessionkit.StoreLockedError,
        sessionkit.IncompatibleStoreError,
        sessionkit.UnstorableEventError,
    ):
        assert issubclass(store_error, sessionkit.StoreError)
    assert issubclass(sessionkit.StoreError, sessionkit.SessionkitError)
    for error in (
        sessionkit.InvalidEventError,
        sessionkit.InvalidRulesError,
        sessionkit.LogLineError,
        sessionkit.OutOfOrderError,
        sessionkit.SessionClosedError,
        sessionkit.SessionIdConflictError,
    ):
        assert issubclass(error, sessionkit.SessionkitError)
        assert issubclass(error, ValueError)
    assert issubclass(sessionkit.OutOfOrderError, sessionkit.RejectedEventError)
    assert issubclass(sessionkit.SessionClosedError, sessionkit.RejectedEventError)


def test_package_is_typed() -> None:
    """py.typed ships, so type checkers read sessionkit's annotations."""
    assert importlib.resources.files("sessionkit").joinpath("py.typed").is_file()
