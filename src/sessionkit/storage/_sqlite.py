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

from sessionkit._bloom import KeyFilter
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
_ONE_SECOND = timedelta(seconds=1)
_KIND_VALUES = {kind: kind.value for kind in ParticipantKind}

#: The schema version this sessionkit writes. Files from older versions are migrated on open.
SCHEMA_VERSION = 1

# MIGRATIONS[n] takes a file from version n - 1 to version n. Version 0 is an empty file.
# Times are stored as whole microseconds since 1970-01-01 UTC (``*_us``, sortable) with the UTC
# offset they were given in, in seconds (``*_offset``), so that they come back as given.
#
# A session is numbered by its first event's seq (``num``), so sessions and the events index
# grow at their ends; what changes as events join (last input, count) is read from the events
# (the ``session_rows`` view), so joining writes no session row: a batch writes its events,
# the sessions it opens and the sessions it closes.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID""",
        """CREATE TABLE sessions (
            num INTEGER PRIMARY KEY,
            scope TEXT NOT NULL,
            id TEXT NOT NULL,
            explicit INTEGER NOT NULL,
            header_id TEXT,
            started_us INTEGER NOT NULL,
            started_offset INTEGER NOT NULL,
            status TEXT NOT NULL,
            closed_us INTEGER,
            closed_offset INTEGER,
            close_reason TEXT
        )""",
        """CREATE UNIQUE INDEX sessions_by_id ON sessions (scope, id)""",
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            session_num INTEGER NOT NULL,
            scope TEXT NOT NULL,
            id TEXT NOT NULL,
            thread_parent_id TEXT,
            at_us INTEGER NOT NULL,
            at_offset INTEGER NOT NULL,
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
            metadata TEXT,
            user_key TEXT NOT NULL
        )""",
        """CREATE INDEX events_by_id ON events (scope, id)""",
        """CREATE INDEX events_by_session ON events (session_num, seq)""",
        # Which user keys took part in which session: one row per pair, for "sessions of a user".
        """CREATE TABLE session_users (
            user_key TEXT NOT NULL,
            num INTEGER NOT NULL,
            PRIMARY KEY (user_key, num)
        ) WITHOUT ROWID""",
        """CREATE VIEW session_rows AS
            SELECT s.*, last.seq AS last_seq, last.at_us AS last_input_us,
                   last.at_offset AS last_input_offset,
                   (SELECT count(*) FROM events c WHERE c.session_num = s.num) AS event_count
            FROM sessions s
            JOIN events last ON last.seq = (
                SELECT max(m.seq) FROM events m WHERE m.session_num = s.num
            )""",
    ),
}

_SESSION_COLUMNS = (
    "num, scope, id, explicit, header_id, started_us, started_offset, status, closed_us, "
    "closed_offset, close_reason, last_seq, last_input_us, last_input_offset, event_count"
)
_EVENT_COLUMNS = (
    "seq, session_num, scope, id, thread_parent_id, at_us, at_offset, initiator_kind, "
    "initiator_id, target_kind, target_id, user_id, explicit_session_id, parent_id, "
    "ends_session, input, output, metadata, user_key"
)
_SESSION_INSERT = (
    "INSERT INTO sessions (num, scope, id, explicit, header_id, started_us, started_offset, "
    "status, closed_us, closed_offset, close_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_EVENT_INSERT = f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES ({', '.join('?' * 19)})"


def _prefixed(columns: str, alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in columns.split(","))


_S_COLUMNS = _prefixed(_SESSION_COLUMNS, "s")
_E_COLUMNS = _prefixed(_EVENT_COLUMNS, "e")
_S_WIDTH = len(_SESSION_COLUMNS.split(","))


def _us(at: datetime) -> int:
    return (at - _EPOCH) // _US


def _offset(at: datetime) -> int:
    offset = at.utcoffset()
    assert offset is not None  # events are timezone-aware
    return offset // _ONE_SECOND


def _time(us: int, offset: int) -> datetime:
    """The datetime stored as ``us`` and ``offset``, in the zone offset it was given in."""
    zone = timezone.utc if offset == 0 else timezone(timedelta(seconds=offset))
    return (_EPOCH + timedelta(microseconds=us)).astimezone(zone)


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
        # The sessions that may still take events (the open ones): (scope, id) -> their num
        # followed by the user keys already recorded in session_users.
        self._open: dict[tuple[str, str], list[Any]] = {
            (scope, id): [num]
            for num, scope, id in self._db.execute(
                "SELECT num, scope, id FROM sessions WHERE status = 'open'"
            )
        }
        # Every recorded session id, in a filter: most look-ups of is_closed are for brand-new
        # ids, which it answers without SQL. Only the writer keeps one: it alone adds sessions.
        self._recorded: KeyFilter | None = None
        if not readonly:
            self._recorded = KeyFilter()
            for scope, id in self._db.execute("SELECT scope, id FROM sessions"):
                self._recorded.add(scope, id)
        nums = {entry[0]: entry for entry in self._open.values()}
        for num, user_key in self._db.execute(
            "SELECT u.num, u.user_key FROM sessions s JOIN session_users u ON u.num = s.num "
            "WHERE s.status = 'open'"
        ):
            nums[num].append(user_key)

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
                    # Checkpoint every 40 MB of WAL rather than every 4 MB: fewer, larger copies
                    # back into the database (a third of the commit time at 1,000-event batches).
                    db.execute("PRAGMA wal_autocheckpoint=10000")
                    db.execute("PRAGMA cache_size=-65536")
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
        with self._lock:
            self._record(batch)

    def _record(self, batch: Batch) -> None:
        rows = plan(batch, self._next_seq)
        opened: dict[tuple[str, str], list[Any]] = {
            key: [row.first_seq] for key, row in rows.new_sessions.items()
        }
        known = self._open
        events: list[tuple[Any, ...]] = []
        users: list[tuple[str, int]] = []
        joined: dict[tuple[tuple[str, str], str], None] = {}  # (session key, user key), in order
        for stored in rows.events:
            key = (stored.event.scope, stored.session_id)
            entry = opened.get(key) or known[key]
            user_key = stored.event.user_key
            if user_key not in entry and (key, user_key) not in joined:  # entry[0] is an int
                users.append((user_key, entry[0]))
                joined[(key, user_key)] = None
            events.append(_event_values(stored, entry[0]))
        with self._transaction():
            self._db.executemany(
                _SESSION_INSERT, [_session_values(row) for row in rows.new_sessions.values()]
            )
            self._db.executemany(_EVENT_INSERT, events)
            self._db.executemany("INSERT INTO session_users (user_key, num) VALUES (?, ?)", users)
            self._db.executemany(
                "UPDATE sessions SET status = ?, closed_us = ?, closed_offset = ?, "
                "close_reason = ? WHERE scope = ? AND id = ?",
                [
                    (SessionStatus.CLOSED.value, _us(at), _offset(at), reason.value, *key)
                    for key, (at, reason) in rows.closings.items()
                ],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [
                    ("rules", json.dumps(_rules_to_json(batch.rules), sort_keys=True)),
                    ("now", "" if batch.now is None else batch.now.isoformat()),
                ],
            )
        # Committed: now the cached view of open sessions may follow.
        self._next_seq += len(rows.events)
        known.update(opened)
        for key, user_key in joined:
            known[key].append(user_key)
        for key, row in rows.new_sessions.items():
            if self._recorded is not None:
                self._recorded.add(*key)
            if row.status is SessionStatus.CLOSED:
                del known[key]
        for key in rows.closings:
            known.pop(key, None)

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
            # Events are stored in time order, so "since a time" is "after a seq": scan back
            # from the newest event to the last one at or before each floor.
            now_us = _us(now) if now is not None else 0
            idle_floor = now_us - rules.idle_timeout // _US  # remembered: last input after it
            window_floor = now_us - rules.join_window // _US  # recent: at or after it
            remembered_after = recent_after = None
            for seq, at_us in self._db.execute("SELECT seq, at_us FROM events ORDER BY seq DESC"):
                if recent_after is None and at_us < window_floor:
                    recent_after = seq
                if remembered_after is None and at_us <= idle_floor:
                    remembered_after = seq
                if recent_after is not None and remembered_after is not None:
                    break
            # Remembered sessions: those with an event after the idle floor.
            remembered = "SELECT DISTINCT session_num FROM events WHERE seq > ?"
            after = (remembered_after or 0,)
            rows = [
                _session_from(r)
                for r in self._db.execute(
                    f"SELECT {_SESSION_COLUMNS} FROM session_rows WHERE num IN ({remembered}) "
                    "ORDER BY last_seq",
                    after,
                )
            ]
            by_num: dict[int, list[str]] = {row.first_seq: [] for row in rows}
            for num, event_id in self._db.execute(
                f"SELECT session_num, id FROM events WHERE session_num IN ({remembered}) "
                "ORDER BY seq",
                after,
            ):
                by_num[num].append(event_id)
            ids = {(row.scope, row.id): by_num[row.first_seq] for row in rows}
            recent = [
                (scope, user_key, _time(at_us, offset), session_id)
                for scope, user_key, at_us, offset, session_id in self._db.execute(
                    "SELECT e.scope, e.user_key, e.at_us, e.at_offset, s.id FROM events e "
                    "JOIN sessions s ON s.num = e.session_num WHERE e.seq > ? ORDER BY e.seq",
                    (recent_after or 0,),
                )
            ]
        return resume_snapshot(rules, now, [(r, ids[(r.scope, r.id)]) for r in rows], recent)

    def is_closed(self, session_id: str, scope: str) -> bool:
        """Whether the session is recorded and closed."""
        if self._recorded is not None and (scope, session_id) not in self._recorded:
            return False  # never recorded
        with self._lock:
            status = self._scalar(
                "SELECT status FROM sessions WHERE scope = ? AND id = ?", (scope, session_id)
            )
        return bool(status == SessionStatus.CLOSED.value)

    # -- queries --------------------------------------------------------------------------------

    def _first_seq_at_or_after(self, us: int) -> int:
        """The seq of the first event at or after ``us`` (one past the last if none): a binary
        search over the primary key, as events are stored in time order."""
        low, high = 1, self._scalar("SELECT coalesce(max(seq), 0) + 1 FROM events")
        while low < high:
            middle = (low + high) // 2
            if self._scalar("SELECT at_us FROM events WHERE seq = ?", (middle,)) < us:
                low = middle + 1
            else:
                high = middle
        return int(low)

    def _row_by_num(self, num: int) -> SessionRow:
        found = self._db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM session_rows WHERE num = ?", (num,)
        ).fetchone()
        return _session_from(found)

    def session(self, session_id: str, scope: str = "") -> Session | None:
        """One whole session, with its events and thread tree, or ``None``."""
        with self._lock:
            num = self._scalar(
                "SELECT num FROM sessions WHERE scope = ? AND id = ?", (scope, session_id)
            )
            if num is None:
                return None
            row = self._row_by_num(num)
            stored = [
                _stored_from(r, session_id)
                for r in self._db.execute(
                    f"SELECT {_EVENT_COLUMNS} FROM events WHERE session_num = ? ORDER BY seq",
                    (num,),
                )
            ]
        return whole_session(row, stored)

    def session_of(self, event_id: str, scope: str = "") -> str | None:
        """The id of the session the event was last assigned to, or ``None``."""
        with self._lock:
            found: str | None = self._scalar(
                "SELECT s.id FROM events e JOIN sessions s ON s.num = e.session_num "
                "WHERE e.scope = ? AND e.id = ? ORDER BY e.seq DESC LIMIT 1",
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
            # session_users (indexed) narrows to the user's sessions, then to their events.
            session_where.append("s.num IN (SELECT num FROM session_users WHERE user_key = ?)")
            session_args.append(user)
            event_where.append("e.user_key = ?")
            event_args.append(user)
        if participant is not None:
            event_where.append("(e.initiator_id = ? OR e.target_id = ?)")
            event_args += [participant, participant]
        with self._lock:
            # Events are stored in time order, so a time range is a range of seqs.
            if since is not None:
                event_where.append("e.seq >= ?")
                event_args.append(self._first_seq_at_or_after(_us(since)))
            if until is not None:
                bound = self._first_seq_at_or_after(_us(until))
                event_where.append("e.seq < ?")
                event_args.append(bound)
                session_where.append("s.num < ?")
                session_args.append(bound)
        sessions_ok = " AND ".join(session_where)
        events_ok = " AND ".join(event_where)
        if only_sessions:
            sql = (
                f"SELECT {_S_COLUMNS}, {_E_COLUMNS} FROM session_rows s "
                f"JOIN events e ON e.seq = s.num WHERE {sessions_ok} AND s.num > ? "
                "AND EXISTS (SELECT 1 FROM events e WHERE e.session_num = s.num "
                f"AND {events_ok}) ORDER BY s.num LIMIT ?"
            )
            args = [*session_args, start, *event_args, limit + 1]
        else:
            sql = (
                f"SELECT {_S_COLUMNS}, {_E_COLUMNS} FROM events e "
                f"JOIN session_rows s ON s.num = e.session_num "
                f"WHERE {sessions_ok} AND {events_ok} AND e.seq > ? ORDER BY e.seq LIMIT ?"
            )
            args = [*session_args, *event_args, start, limit + 1]
        with self._lock:
            found = self._db.execute(sql, args).fetchall()
        items = []
        for r in found:
            row = _session_from(r[:_S_WIDTH])
            stored = _stored_from(r[_S_WIDTH:], row.id)
            items.append(SessionListing(row, stored.seq, stored.event, stored.thread_parent_id))
        return page_of(items, limit)


def _session_values(row: SessionRow) -> tuple[Any, ...]:
    closed = row.closed_at
    return (
        row.first_seq,
        row.scope,
        row.id,
        int(row.explicit),
        row.header_id,
        _us(row.started_at),
        _offset(row.started_at),
        row.status.value,
        None if closed is None else _us(closed),
        None if closed is None else _offset(closed),
        None if row.close_reason is None else row.close_reason.value,
    )


def _session_from(r: Sequence[Any]) -> SessionRow:
    """A :class:`SessionRow` from a ``session_rows`` row (``_SESSION_COLUMNS``)."""
    return SessionRow(
        id=r[2],
        scope=r[1],
        explicit=bool(r[3]),
        header_id=r[4],
        started_at=_time(r[5], r[6]),
        last_input_at=_time(r[12], r[13]),
        status=SessionStatus(r[7]),
        closed_at=None if r[8] is None else _time(r[8], r[9]),
        close_reason=None if r[10] is None else CloseReason(r[10]),
        event_count=r[14],
        first_seq=r[0],
        last_seq=r[11],
    )


def _event_values(stored: StoredEvent, session_num: int) -> tuple[Any, ...]:
    e = stored.event
    at = e.at
    offset = at.utcoffset()
    target = e.target
    metadata = e.metadata
    return (
        stored.seq,
        session_num,
        e.scope,
        e.id,
        stored.thread_parent_id,
        (at - _EPOCH) // _US,
        0 if not offset else offset // _ONE_SECOND,
        _KIND_VALUES[e.initiator.kind],
        e.initiator.id,
        None if target is None else _KIND_VALUES[target.kind],
        None if target is None else target.id,
        e.user_id,
        e.session_id,
        e.parent_id,
        int(e.ends_session),
        e.input,
        e.output,
        json.dumps(dict(metadata), ensure_ascii=False, sort_keys=True) if metadata else None,
        e.user_key,
    )


def _stored_from(r: Sequence[Any], session_id: str) -> StoredEvent:
    """A :class:`StoredEvent` from an events row (``_EVENT_COLUMNS``) of session ``session_id``."""
    target = None if r[9] is None else Participant(ParticipantKind(r[9]), r[10])
    event = Event(
        id=r[3],
        at=_time(r[5], r[6]),
        initiator=Participant(ParticipantKind(r[7]), r[8]),
        target=target,
        user_id=r[11],
        session_id=r[12],
        parent_id=r[13],
        scope=r[2],
        ends_session=bool(r[14]),
        input=r[15],
        output=r[16],
        metadata={} if r[17] is None else json.loads(r[17]),
    )
    return StoredEvent(r[0], event, session_id, r[4])
