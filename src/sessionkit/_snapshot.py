"""The snapshot format, written and read here and only here (``docs/storage.md``).

Version 1::

    {"format": "sessionkit.sessionizer", "version": 1,
     "rules": Rules.to_json(),
     "now": ISO time or null,
     "sessions": [{"id", "scope", "explicit", "header_id", "started_at", "last_input_at",
                   "ended_at", "event_ids": [...]}, ...],   # remembered, oldest input first
     "latest": [{"scope", "user_key", "at", "session_id"}, ...],
     "closed": {"scope": ["id", ...]}}                        # when kept in memory
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sessionkit._errors import SnapshotError
from sessionkit._model import CloseReason, SessionStatus, SessionSummary
from sessionkit._rules import Rules
from sessionkit._sessionizer import ClosedSessionSet

if TYPE_CHECKING:
    from sessionkit._sessionizer import ClosedSessionIndex, Sessionizer

__all__ = ["SNAPSHOT_FORMAT", "SNAPSHOT_VERSION", "read_snapshot", "write_snapshot"]

#: What :meth:`Sessionizer.snapshot` writes in its ``"format"`` field.
SNAPSHOT_FORMAT = "sessionkit.sessionizer"
#: The version of the snapshot layout; :meth:`Sessionizer.restore` refuses any other.
SNAPSHOT_VERSION = 1


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def write_snapshot(sessionizer: Sessionizer) -> dict[str, Any]:
    """The snapshot of ``sessionizer``'s whole working state."""
    document: dict[str, Any] = {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "rules": sessionizer.rules.to_json(),
        "now": _time(sessionizer.now),
        "sessions": [
            {
                "id": summary.id,
                "scope": summary.scope,
                "explicit": summary.explicit,
                "header_id": summary.header_id,
                "started_at": summary.started_at.isoformat(),
                "last_input_at": summary.last_input_at.isoformat(),
                "ended_at": _time(summary.closed_at),
                "event_ids": list(event_ids),
            }
            for summary, event_ids in sessionizer._remembered()
        ],
        "latest": [
            {"scope": scope, "user_key": key, "at": at.isoformat(), "session_id": session_id}
            for scope, key, at, session_id in sessionizer._latest_entries()
        ],
    }
    closed = sessionizer.closed_sessions
    if isinstance(closed, ClosedSessionSet):
        document["closed"] = closed.by_scope()
    return document


def read_snapshot(
    cls: type[Sessionizer], snapshot: dict[str, Any], closed_sessions: ClosedSessionIndex | None
) -> Sessionizer:
    """The Sessionizer ``snapshot`` describes; :class:`SnapshotError` if it cannot be."""
    if not isinstance(snapshot, dict) or snapshot.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError(f"not a sessionkit snapshot (format {SNAPSHOT_FORMAT!r})")
    if snapshot.get("version") != SNAPSHOT_VERSION:
        raise SnapshotError(
            f"snapshot version {snapshot.get('version')!r} is not supported "
            f"(this sessionkit reads version {SNAPSHOT_VERSION})"
        )
    try:
        sessionizer = cls(Rules.from_json(snapshot["rules"]), closed_sessions=closed_sessions)
        now = snapshot["now"]
        sessionizer._load(
            None if now is None else datetime.fromisoformat(now),
            [_session(item) for item in snapshot["sessions"]],
        )
        for item in snapshot["latest"]:
            at = datetime.fromisoformat(item["at"])
            sessionizer._load_latest(
                item["scope"], item["user_key"], at, item["session_id"], keep_closed=True
            )
        if closed_sessions is None:
            for scope, ids in snapshot.get("closed", {}).items():
                for session_id in ids:
                    sessionizer.closed_sessions.add(session_id, scope)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise SnapshotError(f"snapshot does not hold together: {error!r}") from error
    return sessionizer


def _session(item: dict[str, Any]) -> tuple[SessionSummary, list[str]]:
    ended_at = item["ended_at"]
    event_ids = item["event_ids"]
    if not isinstance(event_ids, list):
        raise TypeError(f"event_ids of session {item['id']!r} must be a list")
    summary = SessionSummary(
        item["id"],
        item["scope"],
        bool(item["explicit"]),
        item["header_id"],
        datetime.fromisoformat(item["started_at"]),
        datetime.fromisoformat(item["last_input_at"]),
        len(event_ids),
        SessionStatus.OPEN if ended_at is None else SessionStatus.CLOSED,
        None if ended_at is None else datetime.fromisoformat(ended_at),
        None if ended_at is None else CloseReason.ENDED,
    )
    return summary, event_ids
