"""SQLiteStore: a durable store in one SQLite file (standard-library ``sqlite3``)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from sessionkit._errors import IncompatibleStoreError, StoreError
from sessionkit._model import (
    CloseReason,
    Event,
    Participant,
    ParticipantKind,
    Session,
    SessionStatus,
)
from sessionkit._rules import Rules
from sessionkit._sessionizer import _rules_from_json, _rules_to_json
from sessionkit.storage._lock import WriterLock
from sessionkit.storage._records import (
    Batch,
    Page,
    SessionListing,
    SessionRow,
    StoredEvent,
    check_page_arguments,
    page_of,
    plan,
    resume_snapshot,
    whole_session,
)

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)

#: The schema version this sessionkit writes. Files from older versions are migrated on open.
SCHEMA_VERSION = 1

# MIGRATIONS[n] takes a file from version n - 1 to version n. Version 0 is an empty file.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE sessions (
            scope TEXT NOT NULL,
            id TEXT NOT NULL,
            explicit INTEGER NOT NULL,
            header_id TEXT,
            started_at TEXT NOT NULL,
            last_input_at TEXT NOT NULL,
            last_input_us INTEGER NOT NULL,
            status TEXT NOT NULL,
            closed_at TEXT,
            close_reason TEXT,
            event_count INTEGER NOT NULL,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            PRIMARY KEY (scope, id)
        ) WITHOUT ROWID""",
        """CREATE INDEX sessions_by_first_seq ON sessions (first_seq)""",
        """CREATE INDEX sessions_by_last_input ON sessions (last_input_us)""",
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            scope TEXT NOT NULL,
            id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            thread_parent_id TEXT,
            at TEXT NOT NULL,
            at_us INTEGER NOT NULL,
            user_key TEXT NOT NULL,
            initiator_kind TEXT NOT NULL,
            initiator_id TEXT NOT NULL,
            target_kind TEXT,
            target_id TEXT,
            user_id TEXT,
            explicit_session_id TEXT,
            parent_id TEXT,
            ends_session INTEGER NOT NULL,
            input TEXT,
            output TEXT,
            metadata TEXT
        )""",
        """CREATE INDEX events_by_id ON events (scope, id)""",
        """CREATE INDEX events_by_session ON events (scope, session_id, seq)""",
        """CREATE INDEX events_by_time ON events (at_us)""",
    ),
}

_SESSION_COLUMNS = (
    "id, scope, explicit, header_id, started_at, last_input_at, status, closed_at, "
    "close_reason, event_count, first_seq, last_seq"
)
_EVENT_COLUMNS = (
    "seq, scope, id, session_id, thread_parent_id, at, initiator_kind, initiator_id, "
    "target_kind, target_id, user_id, explicit_session_id, parent_id, ends_session, input, "
    "output, metadata"
)


def _us(at: datetime) -> int:
    return (at - _EPOCH) // _US


class SQLiteStore:
    """A durable store in the SQLite file ``path`` (``":memory:"`` for a private in-memory one).

    Opening for writing (the default) takes the writer lock (a side file ``path + ".lock"``),
    creates or migrates the schema, and turns on WAL so that readers in other processes can
    query while the writer works. ``readonly=True`` opens for queries only: no lock, no
    migration. Raises :class:`~sessionkit.StoreLockedError` when another writer holds the file
    and :class:`~sessionkit.IncompatibleStoreError` for a file it cannot use.

    Safe to use from several threads (calls are serialised).
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = os.fspath(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        self._writer_lock: WriterLock | None = None
        in_memory = self.path == ":memory:"
        if not readonly and not in_memory:
            self._writer_lock = WriterLock(self.path + ".lock")
        try:
            self._db = self._connect(in_memory)
            self._prepare()
        except BaseException:
            if self._writer_lock is not None:
                self._writer_lock.release()
            raise
        self._next_seq = self._scalar("SELECT coalesce(max(seq), 0) + 1 FROM events")

    def _connect(self, in_memory: bool) -> sqlite3.Connection:
        try:
            if self.readonly:
                if not os.path.exists(self.path):
                    raise StoreError("no such store file", self.path)
                uri = f"file:{quote(os.path.abspath(self.path))}?mode=ro"
                db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            else:
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                if not in_memory:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=5000")
            return db
        except sqlite3.DatabaseError as error:
            raise IncompatibleStoreError(f"not a SQLite database ({error})", self.path) from None

    def _prepare(self) -> None:
        """Check the schema version; create or migrate it when opened for writing."""
        try:
            version = self._scalar("PRAGMA user_version")
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as error:
            raise IncompatibleStoreError(f"not a SQLite database ({error})", self.path) from None
        if version > SCHEMA_VERSION:
            raise IncompatibleStoreError(
                f"schema version {version} is newer than this sessionkit's ({SCHEMA_VERSION}); "
                "upgrade sessionkit to open it",
                self.path,
            )
        if version == 0 and tables:
            raise IncompatibleStoreError(
                "this SQLite file holds another program's tables, not a sessionkit store",
                self.path,
            )
        if version == SCHEMA_VERSION:
            return
        if self.readonly:
            raise IncompatibleStoreError(
                f"schema version {version} needs migrating; open it once for writing",
                self.path,
            )
        with self._transaction():
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target]:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target}")

    # -- plumbing -------------------------------------------------------------------------------

    def _scalar(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        row = self._db.execute(sql, parameters).fetchone()
        return None if row is None else row[0]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        value: str | None = self._scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return value

    def close(self) -> None:
        """Close the connection and release the writer lock. Idempotent."""
        with self._lock:
            self._db.close()
            if self._writer_lock is not None:
                self._writer_lock.release()
                self._writer_lock = None

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- recording ------------------------------------------------------------------------------

    def record(self, batch: Batch) -> None:
        """Record a batch in one transaction: all of it, or (on any error) none of it."""
        if self.readonly:
            raise StoreError("opened read-only", self.path)
        with self._transaction():
            rows = plan(batch, self._next_seq, self._session_row)
            self._db.executemany(
                f"INSERT INTO events ({_EVENT_COLUMNS}, at_us, user_key) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_event_values(stored) for stored in rows.events],
            )
            self._db.executemany(
                f"INSERT OR REPLACE INTO sessions ({_SESSION_COLUMNS}, last_input_us) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_session_values(row) for row in rows.sessions.values()],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [
                    ("rules", json.dumps(_rules_to_json(batch.rules), sort_keys=True)),
                    ("now", "" if batch.now is None else batch.now.isoformat()),
                ],
            )
        self._next_seq += len(rows.events)

    def _session_row(self, scope: str, session_id: str) -> SessionRow | None:
        found = self._db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE scope = ? AND id = ?",
            (scope, session_id),
        ).fetchone()
        return None if found is None else _session_from(found)

    def stored_rules(self) -> Rules | None:
        """The rules the recorded data was grouped under, or ``None`` for an empty store."""
        with self._lock:
            text = self._meta("rules")
        return None if text is None else _rules_from_json(json.loads(text))

    def resume_state(self) -> dict[str, Any] | None:
        """The Sessionizer snapshot to resume from, or ``None`` when nothing was recorded."""
        with self._lock:
            rules = self.stored_rules()
            if rules is None:
                return None
            now_text = self._meta("now")
            now = datetime.fromisoformat(now_text) if now_text else None
            floor = -(2**62) if now is None else _us(now) - rules.idle_timeout // _US
            rows = [
                _session_from(r)
                for r in self._db.execute(
                    f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE last_input_us > ? "
                    "ORDER BY last_seq",
                    (floor,),
                )
            ]
            ids: dict[tuple[str, str], list[str]] = {(r.scope, r.id): [] for r in rows}
            for scope, session_id, event_id in self._db.execute(
                "SELECT e.scope, e.session_id, e.id FROM sessions s JOIN events e "
                "ON e.scope = s.scope AND e.session_id = s.id "
                "WHERE s.last_input_us > ? ORDER BY e.seq",
                (floor,),
            ):
                ids[(scope, session_id)].append(event_id)
            recent_floor = -(2**62) if now is None else _us(now) - rules.join_window // _US
            recent = [
                (scope, user_key, datetime.fromisoformat(at), session_id)
                for scope, user_key, at, session_id in self._db.execute(
                    "SELECT scope, user_key, at, session_id FROM events WHERE at_us >= ? "
                    "ORDER BY seq",
                    (recent_floor,),
                )
            ]
        return resume_snapshot(rules, now, [(r, ids[(r.scope, r.id)]) for r in rows], recent)

    def is_closed(self, session_id: str, scope: str) -> bool:
        """Whether the session is recorded and closed."""
        with self._lock:
            status = self._scalar(
                "SELECT status FROM sessions WHERE scope = ? AND id = ?", (scope, session_id)
            )
        return bool(status == SessionStatus.CLOSED.value)

    # -- queries --------------------------------------------------------------------------------

    def session(self, session_id: str, scope: str = "") -> Session | None:
        """One whole session, with its events and thread tree, or ``None``."""
        with self._lock:
            row = self._session_row(scope, session_id)
            if row is None:
                return None
            stored = [
                _stored_from(r)
                for r in self._db.execute(
                    f"SELECT {_EVENT_COLUMNS} FROM events WHERE scope = ? AND session_id = ? "
                    "ORDER BY seq",
                    (scope, session_id),
                )
            ]
        return whole_session(row, stored)

    def session_of(self, event_id: str, scope: str = "") -> str | None:
        """The id of the session the event was last assigned to, or ``None``."""
        with self._lock:
            found: str | None = self._scalar(
                "SELECT session_id FROM events WHERE scope = ? AND id = ? "
                "ORDER BY seq DESC LIMIT 1",
                (scope, event_id),
            )
        return found

    def sessions(
        self,
        *,
        scope: str | None = None,
        user: str | None = None,
        participant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        status: SessionStatus | None = None,
        explicit: bool | None = None,
        only_sessions: bool = False,
        limit: int = 100,
        after: str | None = None,
    ) -> Page:
        """A page of :class:`SessionListing` rows in time order; see docs/storage.md."""
        start = check_page_arguments(limit, after)
        session_where: list[str] = ["1"]
        session_args: list[Any] = []
        if scope is not None:
            session_where.append("s.scope = ?")
            session_args.append(scope)
        if status is not None:
            session_where.append("s.status = ?")
            session_args.append(status.value)
        if explicit is not None:
            session_where.append("s.explicit = ?")
            session_args.append(int(explicit))
        event_where: list[str] = ["1"]
        event_args: list[Any] = []
        if user is not None:
            event_where.append("e.user_key = ?")
            event_args.append(user)
        if participant is not None:
            event_where.append("(e.initiator_id = ? OR e.target_id = ?)")
            event_args += [participant, participant]
        if since is not None:
            event_where.append("e.at_us >= ?")
            event_args.append(_us(since))
        if until is not None:
            event_where.append("e.at_us < ?")
            event_args.append(_us(until))
        columns = ", ".join(f"s.{c.strip()}" for c in _SESSION_COLUMNS.split(","))
        event_columns = ", ".join(f"e.{c.strip()}" for c in _EVENT_COLUMNS.split(","))
        if only_sessions:
            sql = (
                f"SELECT {columns}, {event_columns} FROM sessions s "
                "JOIN events e ON e.seq = s.first_seq "
                f"WHERE {' AND '.join(session_where)} AND s.first_seq > ? "
                "AND EXISTS (SELECT 1 FROM events e WHERE e.scope = s.scope "
                f"AND e.session_id = s.id AND {' AND '.join(event_where)}) "
                "ORDER BY s.first_seq LIMIT ?"
            )
            args = [*session_args, start, *event_args, limit + 1]
        else:
            sql = (
                f"SELECT {columns}, {event_columns} FROM events e "
                "JOIN sessions s ON s.scope = e.scope AND s.id = e.session_id "
                f"WHERE {' AND '.join(session_where)} AND {' AND '.join(event_where)} "
                "AND e.seq > ? ORDER BY e.seq LIMIT ?"
            )
            args = [*session_args, *event_args, start, limit + 1]
        with self._lock:
            found = self._db.execute(sql, args).fetchall()
        width = len(_SESSION_COLUMNS.split(","))
        items = []
        for r in found:
            stored = _stored_from(r[width:])
            items.append(
                SessionListing(
                    _session_from(r[:width]), stored.seq, stored.event, stored.thread_parent_id
                )
            )
        return page_of(items, limit)


def _session_values(row: SessionRow) -> tuple[Any, ...]:
    return (
        row.id,
        row.scope,
        int(row.explicit),
        row.header_id,
        row.started_at.isoformat(),
        row.last_input_at.isoformat(),
        row.status.value,
        None if row.closed_at is None else row.closed_at.isoformat(),
        None if row.close_reason is None else row.close_reason.value,
        row.event_count,
        row.first_seq,
        row.last_seq,
        _us(row.last_input_at),
    )


def _session_from(r: Sequence[Any]) -> SessionRow:
    return SessionRow(
        id=r[0],
        scope=r[1],
        explicit=bool(r[2]),
        header_id=r[3],
        started_at=datetime.fromisoformat(r[4]),
        last_input_at=datetime.fromisoformat(r[5]),
        status=SessionStatus(r[6]),
        closed_at=None if r[7] is None else datetime.fromisoformat(r[7]),
        close_reason=None if r[8] is None else CloseReason(r[8]),
        event_count=r[9],
        first_seq=r[10],
        last_seq=r[11],
    )


def metadata_text(event: Event) -> str | None:
    """The event's metadata as JSON, or ``None`` when it has none."""
    if not event.metadata:
        return None
    return json.dumps(dict(event.metadata), ensure_ascii=False, sort_keys=True)


def _event_values(stored: StoredEvent) -> tuple[Any, ...]:
    e = stored.event
    target = e.target
    return (
        stored.seq,
        e.scope,
        e.id,
        stored.session_id,
        stored.thread_parent_id,
        e.at.isoformat(),
        e.initiator.kind.value,
        e.initiator.id,
        None if target is None else target.kind.value,
        None if target is None else target.id,
        e.user_id,
        e.session_id,
        e.parent_id,
        int(e.ends_session),
        e.input,
        e.output,
        metadata_text(e),
        _us(e.at),
        e.user_key,
    )


def _stored_from(r: Sequence[Any]) -> StoredEvent:
    target = None if r[8] is None else Participant(ParticipantKind(r[8]), r[9])
    event = Event(
        id=r[2],
        at=datetime.fromisoformat(r[5]),
        initiator=Participant(ParticipantKind(r[6]), r[7]),
        target=target,
        user_id=r[10],
        session_id=r[11],
        parent_id=r[12],
        scope=r[1],
        ends_session=bool(r[13]),
        input=r[14],
        output=r[15],
        metadata={} if r[16] is None else json.loads(r[16]),
    )
    return StoredEvent(r[0], event, r[3], r[4])
