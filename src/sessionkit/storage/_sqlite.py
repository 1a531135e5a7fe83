"""SQLiteStore: a durable store in one SQLite file (standard-library ``sqlite3``)."""

from __future__ import annotations

import contextlib
import functools
import json
import marshal
import multiprocessing
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from multiprocessing.connection import Connection
from typing import Any, TypeVar
from urllib.parse import quote

from sessionkit import (
    CloseReason,
    Event,
    EventFields,
    GroupingRule,
    IncompatibleStoreError,
    InvalidEventError,
    Participant,
    ParticipantKind,
    Placement,
    Rules,
    Session,
    SessionStatus,
    SessionSummary,
    StoreError,
)
from sessionkit.storage._bloom import KeyFilter
from sessionkit.storage._lock import WriterLock
from sessionkit.storage._records import (
    Batch,
    Page,
    PlacedFields,
    SessionListing,
    StoredEvent,
    check_query_arguments,
    fields_of,
    page_of,
    whole_session,
)

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_US = timedelta(microseconds=1)
_ONE_SECOND = timedelta(seconds=1)
_KIND_VALUES = {kind: kind.value for kind in ParticipantKind}
_RULES = {rule.value: rule for rule in GroupingRule}

#: The schema version this sessionkit writes. Files from older versions are migrated on open.
SCHEMA_VERSION = 2

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
    # The GroupingRule value that put each event in its session (NULL for events recorded by
    # version 1, which did not keep it).
    2: ("ALTER TABLE events ADD COLUMN rule TEXT",),
}

#: The tables a sessionkit store has (a file with a schema version but not these is not ours).
_TABLES = {"meta", "sessions", "events", "session_users"}

_SESSION_COLUMNS = (
    "num, scope, id, explicit, header_id, started_us, started_offset, status, closed_us, "
    "closed_offset, close_reason, last_seq, last_input_us, last_input_offset, event_count"
)
_EVENT_COLUMNS = (
    "seq, session_num, scope, id, thread_parent_id, at_us, at_offset, initiator_kind, "
    "initiator_id, target_kind, target_id, user_id, explicit_session_id, parent_id, "
    "ends_session, input, output, metadata, user_key, rule"
)
_SESSION_INSERT = (
    "INSERT INTO sessions (num, scope, id, explicit, header_id, started_us, started_offset, "
    "status, closed_us, closed_offset, close_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_EVENT_INSERT = f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES ({', '.join('?' * 20)})"


def _prefixed(columns: str, alias: str) -> str:
    names = (column.strip() for column in columns.split(","))
    return ", ".join(name if name == "NULL" else f"{alias}.{name}" for name in names)


_S_COLUMNS = _prefixed(_SESSION_COLUMNS, "s")
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


_F = TypeVar("_F", bound=Callable[..., Any])


def _guarded(method: _F) -> _F:
    """Make a store method's faults one :class:`StoreError` naming the file and the cause, and
    (read-only) run it in one read transaction: one consistent snapshot while a writer commits."""

    @functools.wraps(method)
    def guarded(self: SQLiteStore, *args: Any, **kwargs: Any) -> Any:
        with self._lock, _faults(self.path):
            outermost = self._depth == 0
            self._depth += 1
            try:
                if outermost and self.readonly:
                    self._db.execute("BEGIN")
                try:
                    return method(self, *args, **kwargs)
                finally:
                    if outermost and self.readonly and self._db.in_transaction:
                        self._db.execute("COMMIT")
            finally:
                self._depth -= 1

    return guarded  # type: ignore[return-value]


@contextmanager
def _faults(path: str) -> Iterator[None]:
    """SQLite's faults, and times an older version could write, as one StoreError."""
    try:
        yield
    except sqlite3.Error as error:
        raise _store_error(error, path) from error
    except OverflowError as error:
        raise IncompatibleStoreError(
            f"holds a time outside what Python's datetime can hold ({error})", path
        ) from error
    except InvalidEventError as error:  # written by an older version, without today's checks
        raise IncompatibleStoreError(
            f"holds an event sessionkit now refuses: {error}", path
        ) from error


def _store_error(error: sqlite3.Error, path: str) -> StoreError:
    """The one-line StoreError for a fault SQLite reported."""
    text = str(error)
    if "malformed" in text or "not a database" in text:
        return IncompatibleStoreError(f"not a SQLite database, or a corrupt one ({text})", path)
    if "readonly" in text or "read-only" in text:
        return StoreError(f"cannot write: the file or its folder is read-only ({text})", path)
    if "full" in text:
        return StoreError(f"cannot write: the disk is full ({text})", path)
    return StoreError(f"SQLite: {text}", path)


class SQLiteStore:
    """A durable store in the SQLite file ``path`` (``":memory:"`` for a private in-memory one).

    Opening for writing (the default) takes the writer lock (a side file beside the real file,
    its path with ``.lock`` added, symbolic links resolved), creates or migrates the schema, and
    turns on WAL so that readers in other processes can query while the writer works.
    ``replace=True`` deletes what the file holds first, while holding the lock. A file that is
    not a sessionkit store is refused before anything in it changes. ``readonly=True`` opens for
    queries only: no lock, no migration, each query one consistent read; a store on read-only
    media is read as it is.

    Raises :class:`~sessionkit.StoreLockedError` when another writer holds the file,
    :class:`~sessionkit.IncompatibleStoreError` for a file it cannot use, and
    :class:`~sessionkit.StoreError` (naming the file and the cause) for any other fault: a full
    disk, a read-only file. Safe to use from several threads (calls are serialised).
    """

    #: A Tracker may give this store accepted events as fields (``Batch.placed``).
    records_placed = True

    def __init__(
        self, path: str | os.PathLike[str], *, readonly: bool = False, replace: bool = False
    ) -> None:
        self.path = os.fspath(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        self._depth = 0
        self._writer_lock: WriterLock | None = None
        self._recorded: KeyFilter | None = None
        self._open: dict[tuple[str, str], tuple[int, set[str]]] = {}
        self._writer: _RowWriter | None = None  # the process of record_later
        self._pending = False  # a batch it is recording
        self._columns = _EVENT_COLUMNS  # what reading an events row selects
        in_memory = self.path == ":memory:"
        if not readonly and not in_memory:
            self._writer_lock = WriterLock(os.path.realpath(self.path) + ".lock")
        try:
            with _faults(self.path):
                self._open_file(in_memory, replace)
        except BaseException:
            if self._writer_lock is not None:
                self._writer_lock.release(refused=True)
            raise

    def _open_file(self, in_memory: bool, replace: bool) -> None:
        if replace and not in_memory and not self.readonly:  # under the writer lock
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(os.path.realpath(self.path) + suffix)
        self._db = self._connect(in_memory)
        self._prepare()  # refuses a file not ours before anything in it changes
        if not self.readonly:
            if not in_memory:
                self._tune()
            self._load_writer_state()

    def _load_writer_state(self) -> None:
        """What only the writer keeps: the next seq, the open sessions, the recorded ids."""
        self._next_seq = self._scalar("SELECT coalesce(max(seq), 0) + 1 FROM events")
        # The sessions that may still take events (the open ones): (scope, id) -> their num and
        # the user keys already recorded in session_users for it.
        self._open = {
            (scope, id): (num, set())
            for num, scope, id in self._db.execute(
                "SELECT num, scope, id FROM sessions WHERE status = 'open'"
            )
        }
        # Every recorded session id, in a filter: most look-ups of is_closed are for brand-new
        # ids, which it answers without SQL. Only the writer keeps one: it alone adds sessions.
        self._recorded = KeyFilter()
        for scope, id in self._db.execute("SELECT scope, id FROM sessions"):
            self._recorded.add(scope, id)
        users = dict(self._open.values())
        for num, user_key in self._db.execute(
            "SELECT u.num, u.user_key FROM sessions s JOIN session_users u ON u.num = s.num "
            "WHERE s.status = 'open'"
        ):
            users[num].add(user_key)

    def _connect(self, in_memory: bool) -> sqlite3.Connection:
        if not self.readonly:
            return sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        if not os.path.exists(self.path):
            raise StoreError("no such store file", self.path)
        uri = f"file:{quote(os.path.abspath(self.path))}?mode=ro"
        db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as error:
            # WAL readers need to write the -shm file; on read-only media, where nothing can
            # change the file, it is read as it is. Any other fault is reported.
            folder = os.path.dirname(os.path.abspath(self.path))
            if "unable to open" not in str(error) or os.access(folder, os.W_OK):
                raise
            db.close()
            uri = f"file:{quote(os.path.abspath(self.path))}?immutable=1"
            db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout=5000")
        return db

    def _tune(self) -> None:
        """The writer's settings, once the file is known to be ours."""
        _tune_writer(self._db)

    def _prepare(self) -> None:
        """Check the schema version; create or migrate it when opened for writing."""
        version = self._scalar("PRAGMA user_version")
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        if version > SCHEMA_VERSION:
            raise IncompatibleStoreError(
                f"schema version {version} is newer than this sessionkit's ({SCHEMA_VERSION}); "
                "upgrade sessionkit to open it",
                self.path,
            )
        if (version == 0 and tables) or (version and not tables >= _TABLES):
            raise IncompatibleStoreError(
                "this SQLite file holds another program's tables, not a sessionkit store",
                self.path,
            )
        if version == SCHEMA_VERSION:
            return
        if self.readonly:
            # Read as it is: every version reads the same but for the rule (kept from 2 on).
            if version < 2:
                self._columns = _EVENT_COLUMNS.removesuffix("rule") + "NULL"
            return
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
                if self._db.in_transaction:  # SQLite may have rolled back already (disk full)
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        value: str | None = self._scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return value

    def close(self) -> None:
        """Close the connection and release the writer lock (once a batch being recorded is
        committed: its failure is raised). Idempotent."""
        with self._lock:
            try:
                self._settle()
            finally:
                self._drop_writer()
                self._db.close()
                if self._writer_lock is not None:
                    self._writer_lock.release()
                    self._writer_lock = None

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- recording ------------------------------------------------------------------------------

    @_guarded
    def record(self, batch: Batch) -> None:
        """Record a batch in one transaction: all of it, or (on any error) none of it."""
        if self.readonly:
            raise StoreError("opened read-only", self.path)
        with self._lock:
            self._settle()
            self._record(batch)

    def _record(self, batch: Batch) -> None:
        rows, follow = self._rows(batch)
        with self._transaction():
            _write(self._db, rows)
        follow()

    @_guarded
    def record_later(self, batch: Batch) -> Callable[[], None]:
        """:meth:`record`, by a second process that writes while this one goes on: returns
        the function that waits until the batch is committed (raising what :meth:`record`
        would, once the store's view here is back to what the file holds). One batch at a
        time: the next call, and :meth:`record` and :meth:`close`, wait for the one before.
        Queries meanwhile see what was committed. A store in memory records at once, and so
        does any store where ``fork`` is no start method (the writer is forked).

        .. versionadded:: 0.3.0
        """
        if self.readonly:
            raise StoreError("opened read-only", self.path)
        with self._lock:
            self._settle()
            if self.path == ":memory:" or "fork" not in multiprocessing.get_all_start_methods():
                self._record(batch)
                return _nothing
            rows, follow = self._rows(batch)
            if self._writer is None:
                self._writer = _RowWriter(self.path)
            try:
                self._writer.send(rows)
            except OSError:
                self._drop_writer()
                message = "recording a batch failed: the writing process ended"
                raise StoreError(message, self.path) from None
            follow()  # the view here follows at once; read again if the write fails
            self._pending = True
            return self._settle

    def _settle(self) -> None:
        """Wait for the batch a writer process is recording (if any)."""
        with self._lock:
            if not self._pending:
                return
            self._pending = False
            assert self._writer is not None
            failure = self._writer.wait()
            if failure is not None:
                self._drop_writer()  # the next batch has a writer of its own
                self._load_writer_state()
                raise StoreError(f"recording a batch failed: {failure}", self.path)

    def _drop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.stop()

    def _rows(self, batch: Batch) -> tuple[_Rows, Callable[[], None]]:
        """A batch's rows, and what makes the view of open sessions here follow once they
        are written."""
        known = self._open
        opened: dict[tuple[str, str], tuple[int, set[str]]] = {}
        joined: dict[tuple[str, str], set[str]] = {}  # user keys new to a known session
        sessions: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        users: list[tuple[str, int]] = []
        closings = list(batch.closed)
        seq = self._next_seq
        for fields, placed in _placed_in(batch):
            key = (fields[7], placed[0])
            recorded: set[str] | tuple[()] = ()  # user keys already in session_users
            if placed[3]:  # it started its session
                num, new_users = opened[key] = (seq, set())
                sessions.append(_session_values(seq, fields, placed))
            elif key in opened:
                num, new_users = opened[key]
            else:
                num, recorded = known[key]
                new_users = joined.setdefault(key, set())
            user_key = fields[4] if fields[4] is not None else fields[2].id
            if user_key not in recorded and user_key not in new_users:
                new_users.add(user_key)
                users.append((user_key, num))
            events.append(_event_values(seq, num, fields, placed, user_key))
            closings += placed[7]
            seq += 1

        def follow() -> None:
            self._next_seq = seq
            for key, keys in joined.items():
                known[key][1].update(keys)
            known.update(opened)
            for key in opened:
                if self._recorded is not None:
                    self._recorded.add(*key)
            for closed in closings:
                known.pop((closed.scope, closed.id), None)

        outputs = [(output, scope, event_id) for scope, event_id, output in batch.outputs]
        meta = [
            ("rules", json.dumps(batch.rules.to_json(), sort_keys=True)),
            ("now", "" if batch.now is None else batch.now.isoformat()),
        ]
        ends = [_closing_values(closed) for closed in closings]
        return (sessions, events, users, outputs, ends, meta), follow

    @_guarded
    def stored_rules(self) -> Rules | None:
        """The rules the recorded data was grouped under, or ``None`` for an empty store."""
        text = self._meta("rules")
        if text is None:
            return None
        try:
            return Rules.from_json(json.loads(text))
        except (TypeError, ValueError, KeyError) as error:
            raise IncompatibleStoreError(
                f"its meta row 'rules' is not rules sessionkit wrote ({error!r})", self.path
            ) from None

    @_guarded
    def resume_point(self) -> tuple[Rules, datetime | None] | None:
        """The rules and time of the last batch, or ``None`` when nothing was recorded."""
        with self._lock:
            rules = self.stored_rules()
            if rules is None:
                return None
            now_text = self._meta("now")
        return rules, datetime.fromisoformat(now_text) if now_text else None

    @_guarded
    def remembered_sessions(
        self, with_input_after: datetime | None
    ) -> list[tuple[SessionSummary, Sequence[str]]]:
        """The sessions with input after the time, in order of their last input."""
        with self._lock:
            first = (
                1
                if with_input_after is None
                else self._first_seq_at_or_after(_us(with_input_after) + 1)
            )
            # Events are stored in time order: the sessions with an event from ``first`` on.
            remembered = "SELECT DISTINCT session_num FROM events WHERE seq >= ?"
            rows = self._db.execute(
                f"SELECT {_SESSION_COLUMNS} FROM session_rows WHERE num IN ({remembered}) "
                "ORDER BY last_seq",
                (first,),
            ).fetchall()
            ids: dict[int, list[str]] = {row[0]: [] for row in rows}
            for num, event_id in self._db.execute(
                f"SELECT session_num, id FROM events WHERE session_num IN ({remembered}) "
                "ORDER BY seq",
                (first,),
            ):
                ids[num].append(event_id)
        return [(_session_from(row), ids[row[0]]) for row in rows]

    @_guarded
    def recent_events(self, at_or_after: datetime | None) -> list[tuple[str, str, datetime, str]]:
        """``(scope, user key, at, session id)`` of the events at or after the time."""
        with self._lock:
            first = 1 if at_or_after is None else self._first_seq_at_or_after(_us(at_or_after))
            return [
                (scope, user_key, _time(at_us, offset), session_id)
                for scope, user_key, at_us, offset, session_id in self._db.execute(
                    "SELECT e.scope, e.user_key, e.at_us, e.at_offset, s.id FROM events e "
                    "JOIN sessions s ON s.num = e.session_num WHERE e.seq >= ? ORDER BY e.seq",
                    (first,),
                )
            ]

    @_guarded
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

    def _row_by_num(self, num: int) -> SessionSummary:
        found = self._db.execute(
            f"SELECT {_SESSION_COLUMNS} FROM session_rows WHERE num = ?", (num,)
        ).fetchone()
        return _session_from(found)

    @_guarded
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
                    f"SELECT {self._columns} FROM events WHERE session_num = ? ORDER BY seq",
                    (num,),
                )
            ]
        return whole_session(row, stored)

    @_guarded
    def event(self, event_id: str, scope: str = "") -> StoredEvent | None:
        """The latest event recorded with this id, or ``None``."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {self._columns}, (SELECT s.id FROM sessions s "
                "WHERE s.num = events.session_num) FROM events WHERE scope = ? AND id = ? "
                "ORDER BY seq DESC LIMIT 1",
                (scope, event_id),
            ).fetchone()
        return None if row is None else _stored_from(row, row[-1])

    @_guarded
    def session_of(self, event_id: str, scope: str = "") -> str | None:
        """The id of the session the event was last assigned to, or ``None``."""
        with self._lock:
            found: str | None = self._scalar(
                "SELECT s.id FROM events e JOIN sessions s ON s.num = e.session_num "
                "WHERE e.scope = ? AND e.id = ? ORDER BY e.seq DESC LIMIT 1",
                (scope, event_id),
            )
        return found

    @_guarded
    def sessions(
        self,
        *,
        scope: str | None = None,
        user: str | None = None,
        participant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        status: SessionStatus | str | None = None,
        explicit: bool | None = None,
        session_id: str | None = None,
        only_sessions: bool = False,
        newest_first: bool = False,
        limit: int = 100,
        after: str | None = None,
    ) -> Page:
        """A page of :class:`SessionListing` rows in time order; see docs/storage.md."""
        start, status = check_query_arguments(limit, after, status, since, until)
        sessions_ok, session_args = _conditions(
            ("s.scope = ?", scope),
            ("s.id = ?", session_id),
            ("s.status = ?", None if status is None else status.value),
            ("s.explicit = ?", None if explicit is None else int(explicit)),
            # session_users (indexed) narrows to the user's sessions, then to their events.
            ("s.num IN (SELECT num FROM session_users WHERE user_key = ?)", user),
        )
        with self._lock:
            # Events are stored in time order, so a time range is a range of seqs.
            first = None if since is None else self._first_seq_at_or_after(_us(since))
            bound = None if until is None else self._first_seq_at_or_after(_us(until))
        events_ok, event_args = _conditions(
            ("e.user_key = ?", user),
            ("(e.initiator_id = ? OR e.target_id = ?)", participant),
            ("e.seq >= ?", first),
            ("e.seq < ?", bound),
        )
        if bound is not None:
            sessions_ok += " AND s.num < ?"
            session_args.append(bound)
        if start is None:
            start = 1 << 62 if newest_first else 0
        columns = f"{_S_COLUMNS}, {_prefixed(self._columns, 'e')}"
        sql = _listing_sql(columns, sessions_ok, events_ok, only_sessions, newest_first)
        if only_sessions:
            args = [*session_args, start, *event_args, limit + 1]
        else:
            args = [*session_args, *event_args, start, limit + 1]
        with self._lock:
            found = self._db.execute(sql, args).fetchall()
        items = []
        for r in found:
            summary = _session_from(r[:_S_WIDTH])
            stored = _stored_from(r[_S_WIDTH:], summary.id)
            items.append(
                SessionListing(
                    summary, stored.seq, stored.event, stored.thread_parent_id, r[0], stored.rule
                )
            )
        return page_of(items, limit)


def _listing_sql(
    columns: str, sessions_ok: str, events_ok: str, only_sessions: bool, newest_first: bool
) -> str:
    """The query of ``sessions()``. Pages go by seq: ascending after the cursor, or descending
    before it. Its arguments: the sessions' conditions', then (only sessions) the cursor and
    the events' conditions', or the events' and the cursor; then the limit."""
    unseen, order = ("<", "DESC") if newest_first else (">", "ASC")
    if only_sessions:
        return (
            f"SELECT {columns} FROM session_rows s "
            f"JOIN events e ON e.seq = s.num WHERE {sessions_ok} AND s.num {unseen} ? "
            "AND EXISTS (SELECT 1 FROM events e WHERE e.session_num = s.num "
            f"AND {events_ok}) ORDER BY s.num {order} LIMIT ?"
        )
    return (
        f"SELECT {columns} FROM events e JOIN session_rows s ON s.num = e.session_num "
        f"WHERE {sessions_ok} AND {events_ok} AND e.seq {unseen} ? ORDER BY e.seq {order} LIMIT ?"
    )


def _conditions(*pairs: tuple[str, object]) -> tuple[str, list[object]]:
    """The SQL condition that ANDs each ``(clause, value)`` whose value is not ``None``, and
    its arguments (the value once for each ``?`` of its clause)."""
    clauses, args = ["1"], []
    for clause, value in pairs:
        if value is not None:
            clauses.append(clause)
            args += [value] * clause.count("?")
    return " AND ".join(clauses), args


def _tune_writer(db: sqlite3.Connection) -> None:
    """A writing connection's settings (the store's own, and its writing process's)."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    # Checkpoint every 40 MB of WAL rather than every 4 MB: fewer, larger copies back into
    # the database (a third of the commit time at 1,000-event batches).
    db.execute("PRAGMA wal_autocheckpoint=10000")
    db.execute("PRAGMA cache_size=-65536")
    db.execute("PRAGMA busy_timeout=5000")


#: A batch's rows: sessions, events, session users, outputs, closings, meta (plain values).
_Rows = tuple[list[tuple[Any, ...]], ...]


def _write(db: sqlite3.Connection, rows: _Rows) -> None:
    """Write a batch's rows (in the caller's transaction)."""
    sessions, events, users, outputs, closings, meta = rows
    db.executemany(_SESSION_INSERT, sessions)
    db.executemany(_EVENT_INSERT, events)
    db.executemany("INSERT INTO session_users (user_key, num) VALUES (?, ?)", users)
    db.executemany(
        "UPDATE events SET output = ? WHERE seq = "
        "(SELECT max(seq) FROM events WHERE scope = ? AND id = ?)",
        outputs,
    )
    db.executemany(
        "UPDATE sessions SET status = ?, closed_us = ?, closed_offset = ?, "
        "close_reason = ? WHERE scope = ? AND id = ?",
        closings,
    )
    db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta)


def _nothing() -> None:
    """Nothing to wait for."""


class _RowWriter:
    """A process that writes batches of rows into a store's file, each in one transaction,
    while the writer's process goes on (:meth:`SQLiteStore.record_later`). Forked: it opens a
    connection of its own (never the parent's) and ends with the parent's pipe."""

    def __init__(self, path: str) -> None:
        context = multiprocessing.get_context("fork")
        for stream in (sys.stdout, sys.stderr):  # the child flushes what it inherits, at its end
            if stream is not None:
                stream.flush()
        self._connection, child_end = context.Pipe()
        self._process = context.Process(
            target=_write_rows, args=(path, child_end, self._connection), daemon=True
        )
        self._process.start()
        child_end.close()

    def send(self, rows: _Rows) -> None:
        self._connection.send_bytes(marshal.dumps(rows))

    def wait(self) -> str | None:
        """Wait for the batch sent; ``None`` once committed, else what failed."""
        try:
            answer = self._connection.recv_bytes()
        except (EOFError, OSError):
            return "the writing process ended"
        return None if answer == b"" else answer.decode()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._connection.send_bytes(b"")
        self._connection.close()
        self._process.join()


def _write_rows(path: str, connection: Connection, parents: Connection) -> None:
    """The writing process: each batch of rows received, in one transaction; an empty
    message, or the store's process ending, ends it. Answers each batch: empty once
    committed, else what failed. It holds the store's writer lock with its parent (the lock
    file is inherited), so no other writer opens the file until it is done."""
    parents.close()  # the parent's end, inherited: else the parent's end never closes here
    db = sqlite3.connect(path, isolation_level=None)
    _tune_writer(db)  # as the store's own connection
    while True:
        try:
            message = connection.recv_bytes()
        except (EOFError, OSError):  # the store's process ended without a word
            break
        if message == b"":
            break
        try:
            db.execute("BEGIN IMMEDIATE")
            _write(db, marshal.loads(message))
            db.execute("COMMIT")
        except Exception as error:  # told to the writer, which raises it
            if db.in_transaction:
                db.execute("ROLLBACK")
            connection.send_bytes(f"{type(error).__name__}: {error}".encode())
            continue
        connection.send_bytes(b"")
    db.close()


def _placed_in(batch: Batch) -> Sequence[PlacedFields]:
    """A batch's accepted events as fields and placements: its assignments', then ``placed``."""
    if not batch.assignments:
        return batch.placed
    assignments = [(fields_of(a.event), a[1:]) for a in batch.assignments]
    return [*assignments, *batch.placed]


def _session_values(num: int, fields: EventFields, placed: Placement) -> tuple[Any, ...]:
    """The ``sessions`` row of a session an event starts (open; closings update it)."""
    at = fields[1]
    return (
        num,
        fields[7],
        placed[0],
        int(placed[2]),
        fields[0] if placed[4] else None,
        _us(at),
        _offset(at),
        SessionStatus.OPEN.value,
        None,
        None,
        None,
    )


def _closing_values(closed: SessionSummary) -> tuple[Any, ...]:
    at = closed.closed_at
    assert at is not None and closed.close_reason is not None  # a closing
    return (
        closed.status.value,
        _us(at),
        _offset(at),
        closed.close_reason.value,
        closed.scope,
        closed.id,
    )


def _session_from(r: Sequence[Any]) -> SessionSummary:
    """A :class:`SessionSummary` from a ``session_rows`` row (``_SESSION_COLUMNS``)."""
    return SessionSummary(
        r[2],
        r[1],
        bool(r[3]),
        r[4],
        _time(r[5], r[6]),
        _time(r[12], r[13]),
        r[14],
        SessionStatus(r[7]),
        None if r[8] is None else _time(r[8], r[9]),
        None if r[10] is None else CloseReason(r[10]),
    )


def _json_encoder() -> Callable[[object], str]:
    """``json.dumps(value, ensure_ascii=False, sort_keys=True)``, with one encoder for every
    event (``json.dumps`` builds one a call when given options, and ``JSONEncoder.encode``
    builds its C encoder a call). Without the circular-reference check: metadata reaches a
    row only once ``storage_problem`` has encoded it, or found it flat."""
    encoder = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (another Python): the encoder's own method
        return encoder.encode
    chunks = make(
        None, encoder.default, json.encoder.encode_basestring, None, ": ", ", ", True, False, True
    )
    return lambda value: "".join(chunks(value, 0))


_metadata_json = _json_encoder()


def _event_values(
    seq: int, session_num: int, fields: EventFields, placed: Placement, user_key: str
) -> tuple[Any, ...]:
    """The ``events`` row of an accepted event, from its fields and placement."""
    (event_id, at, initiator, target, user_id, session_id, parent_id, scope, ends, text_in,
     text_out, metadata) = fields  # fmt: skip
    offset = None if at.tzinfo is _UTC else at.utcoffset()
    return (
        seq,
        session_num,
        scope,
        event_id,
        placed[6],
        (at - _EPOCH) // _US,  # in UTC (the same tzinfo as _EPOCH's) no offset is asked for
        0 if not offset else offset // _ONE_SECOND,
        _KIND_VALUES[initiator.kind],
        initiator.id,
        None if target is None else _KIND_VALUES[target.kind],
        None if target is None else target.id,
        user_id,
        session_id,
        parent_id,
        int(ends),
        text_in,
        text_out,
        (
            _metadata_json(metadata if type(metadata) is dict else dict(metadata))
            if metadata
            else None
        ),
        user_key,
        placed[1].value,
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
    return StoredEvent(r[0], event, session_id, r[4], None if r[19] is None else _RULES[r[19]])
