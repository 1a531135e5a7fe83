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
    """The Sessionizer ``snapshot`` describes; :class:`SnapshotError` naming the field if it
    does not hold together."""
    if not isinstance(snapshot, dict) or snapshot.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError(f"not a sessionkit snapshot (format {SNAPSHOT_FORMAT!r})")
    if snapshot.get("version") != SNAPSHOT_VERSION:
        raise SnapshotError(
            f"snapshot version {snapshot.get('version')!r} is not supported "
            f"(this sessionkit reads version {SNAPSHOT_VERSION})"
        )
    try:
        rules = Rules.from_json(snapshot["rules"])
    except (KeyError, TypeError, ValueError) as error:
        raise SnapshotError(f"rules: {error}") from None
    now = _time_field(snapshot, "now", "now", optional=True)
    sessions = _sessions(snapshot.get("sessions"), now)
    latest = _latest(snapshot.get("latest"), {(s.scope, s.id) for s, _ in sessions})
    closed = _closed(snapshot.get("closed", {}))
    sessionizer = cls(rules, closed_sessions=closed_sessions)
    sessionizer._load(now, sessions)
    for scope, key, at, session_id in latest:
        sessionizer._load_latest(scope, key, at, session_id, keep_closed=True)
    if closed_sessions is None:
        for scope, ids in closed.items():
            for session_id in ids:
                sessionizer.closed_sessions.add(session_id, scope)
    return sessionizer


def _fail(where: str, problem: str) -> SnapshotError:
    return SnapshotError(f"snapshot field {where}: {problem}")


def _time_field(item: dict[str, Any], key: str, where: str, optional: bool = False) -> Any:
    value = item.get(key)
    if value is None and optional and key in item:
        return None
    if not isinstance(value, str):
        raise _fail(where, f"must be an ISO 8601 time, not {value!r}")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(where, f"must be an ISO 8601 time, not {value!r}") from None
    if at.utcoffset() is None:
        raise _fail(where, f"must carry a time zone, not {value!r}")
    return at


def _text_field(item: dict[str, Any], key: str, where: str, optional: bool = False) -> Any:
    value = item.get(key)
    if value is None and optional and key in item:
        return None
    if not isinstance(value, str):
        raise _fail(where, f"must be a string, not {value!r}")
    return value


def _sessions(items: object, now: datetime | None) -> list[tuple[SessionSummary, list[str]]]:
    """The remembered sessions, checked: each well formed, in order of last input, no event
    or session twice, none after ``now``."""
    if not isinstance(items, list):
        raise _fail("sessions", f"must be a list, not {items!r}")
    found: list[tuple[SessionSummary, list[str]]] = []
    seen_events: set[tuple[str, str]] = set()
    seen_sessions: set[tuple[str, str]] = set()
    for n, item in enumerate(items):
        where = f"sessions[{n}]"
        if not isinstance(item, dict):
            raise _fail(where, f"must be an object, not {item!r}")
        summary, event_ids = _session(item, where)
        key = (summary.scope, summary.id)
        if key in seen_sessions:
            raise _fail(f"{where}.id", f"session {summary.id!r} is listed twice")
        seen_sessions.add(key)
        for event_id in event_ids:
            if (summary.scope, event_id) in seen_events:
                raise _fail(f"{where}.event_ids", f"event {event_id!r} is in two sessions")
            seen_events.add((summary.scope, event_id))
        if found and summary.last_input_at < found[-1][0].last_input_at:
            raise _fail(f"{where}.last_input_at", "sessions must be in order of last input")
        if now is not None and summary.last_input_at > now:
            raise _fail(f"{where}.last_input_at", "is later than the snapshot's now")
        found.append((summary, event_ids))
    return found


def _session(item: dict[str, Any], where: str) -> tuple[SessionSummary, list[str]]:
    event_ids = item.get("event_ids")
    if not isinstance(event_ids, list) or not event_ids:
        raise _fail(f"{where}.event_ids", f"must be a non-empty list, not {event_ids!r}")
    if not all(isinstance(event_id, str) and event_id for event_id in event_ids):
        raise _fail(f"{where}.event_ids", "must hold non-empty strings")
    if not isinstance(item.get("explicit"), bool):
        raise _fail(f"{where}.explicit", f"must be true or false, not {item.get('explicit')!r}")
    header_id = _text_field(item, "header_id", f"{where}.header_id", optional=True)
    if header_id is not None and header_id != event_ids[0]:
        raise _fail(f"{where}.header_id", "must be the session's first event")
    started_at = _time_field(item, "started_at", f"{where}.started_at")
    last_input_at = _time_field(item, "last_input_at", f"{where}.last_input_at")
    ended_at = _time_field(item, "ended_at", f"{where}.ended_at", optional=True)
    if not started_at <= last_input_at or (ended_at is not None and ended_at != last_input_at):
        raise _fail(where, "needs started_at <= last_input_at, and ended_at at the last input")
    summary = SessionSummary(
        _text_field(item, "id", f"{where}.id"),
        _text_field(item, "scope", f"{where}.scope"),
        item["explicit"],
        header_id,
        started_at,
        last_input_at,
        len(event_ids),
        SessionStatus.OPEN if ended_at is None else SessionStatus.CLOSED,
        ended_at,
        None if ended_at is None else CloseReason.ENDED,
    )
    return summary, event_ids


def _latest(items: object, sessions: set[tuple[str, str]]) -> list[tuple[str, str, datetime, str]]:
    if not isinstance(items, list):
        raise _fail("latest", f"must be a list, not {items!r}")
    found = []
    for n, item in enumerate(items):
        where = f"latest[{n}]"
        if not isinstance(item, dict):
            raise _fail(where, f"must be an object, not {item!r}")
        scope = _text_field(item, "scope", f"{where}.scope")
        session_id = _text_field(item, "session_id", f"{where}.session_id")
        if (scope, session_id) not in sessions:
            raise _fail(f"{where}.session_id", f"names no remembered session: {session_id!r}")
        at = _time_field(item, "at", f"{where}.at")
        found.append((scope, _text_field(item, "user_key", f"{where}.user_key"), at, session_id))
    return found


def _closed(value: object) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise _fail("closed", f"must be an object of scope: [ids], not {value!r}")
    for scope, ids in value.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise _fail(f"closed[{scope!r}]", "must be a list of session ids")
    return value
