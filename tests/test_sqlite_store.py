"""What only the SQLite store has: its file, schema versions, the writer lock, readers."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import (
    Event,
    GroupingRule,
    IncompatibleStoreError,
    Participant,
    ParticipantKind,
    StoreError,
    StoreLockedError,
)
from sessionkit.storage import SCHEMA_VERSION, Batch, MemoryStore, SQLiteStore, Tracker
from sessionkit.storage._sqlite import _metadata_json
from sessionkit.testing.conformance import conformance_stream
from tests.helpers import ALICE, BOB, at, ev

ROOT = Path(__file__).resolve().parent.parent


class TestSchema:
    def test_new_file_gets_the_current_version_and_wal(self, tmp_path: Path) -> None:
        """A new store is created at SCHEMA_VERSION, in WAL mode."""
        path = tmp_path / "s.db"
        SQLiteStore(path).close()
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"events", "sessions", "meta"} <= tables

    def test_empty_version_0_file_is_migrated(self, tmp_path: Path) -> None:
        """An empty SQLite file (version 0) is migrated through every step on open."""
        path = tmp_path / "s.db"
        sqlite3.connect(path).close()
        with SQLiteStore(path) as store:
            Tracker(store).track(ev("q1", 0))
            assert store.session_of("q1") is not None

    @staticmethod
    def version_1_file(path: Path) -> None:
        """A store as sessionkit 0.2 wrote it: schema version 1, with no rule column."""
        with SQLiteStore(path) as store:
            Tracker(store).track_many([ev("q1", 0), ev("q2", 10)])
        db = sqlite3.connect(path)
        db.execute("ALTER TABLE events DROP COLUMN rule")
        db.execute("PRAGMA user_version = 1")
        db.commit()
        db.close()

    def test_version_1_is_read_as_it_is_and_migrated_by_a_writer(self, tmp_path: Path) -> None:
        """A reader shows a version-1 file's events with no rule and changes nothing; a writer
        adds the rule column: old events keep no rule, new ones have theirs."""
        path = tmp_path / "s.db"
        self.version_1_file(path)
        with SQLiteStore(path, readonly=True) as reader:
            rows = reader.sessions().items
            assert [(r.event.id, r.rule) for r in rows] == [("q1", None), ("q2", None)]
            session = reader.session(rows[0].session.id)
            assert session is not None and len(session.events) == 2
        assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1
        with SQLiteStore(path) as store:
            Tracker(store).track(ev("q3", 20))
            rows = store.sessions().items
        assert [r.rule for r in rows] == [None, None, GroupingRule.JOIN_WINDOW]
        assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2

    def test_newer_schema_is_refused(self, tmp_path: Path) -> None:
        """A file from a newer sessionkit is refused, not migrated down."""
        path = tmp_path / "s.db"
        SQLiteStore(path).close()
        db = sqlite3.connect(path)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        db.close()
        with pytest.raises(IncompatibleStoreError, match="newer"):
            SQLiteStore(path)
        # Refusing released the writer lock:
        with pytest.raises(IncompatibleStoreError):
            SQLiteStore(path)

    def test_foreign_database_is_refused(self, tmp_path: Path) -> None:
        """Another program's SQLite file is not taken over."""
        path = tmp_path / "other.db"
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE customers (id INTEGER)")
        db.commit()
        db.close()
        with pytest.raises(IncompatibleStoreError, match="another program"):
            SQLiteStore(path)

    def test_corrupt_file_is_refused(self, tmp_path: Path) -> None:
        """A file that is not a database gives a clear error naming it."""
        path = tmp_path / "corrupt.db"
        path.write_bytes(b"this is not a database at all" * 100)
        with pytest.raises(IncompatibleStoreError, match="not a SQLite database") as caught:
            SQLiteStore(path)
        assert str(path) in str(caught.value)


class TestWriterLock:
    def test_second_writer_in_the_same_process_is_refused(self, tmp_path: Path) -> None:
        """While a writer is open, a second gets StoreLockedError; after close it may open."""
        path = tmp_path / "s.db"
        first = SQLiteStore(path)
        with pytest.raises(StoreLockedError):
            SQLiteStore(path)
        first.close()
        SQLiteStore(path).close()

    def test_second_writer_in_another_process_is_refused(self, tmp_path: Path) -> None:
        """A writer in another process is refused while this one is alive."""
        path = tmp_path / "s.db"
        with SQLiteStore(path):
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sys, sessionkit.storage\n"
                    "try:\n    sessionkit.storage.SQLiteStore(sys.argv[1])\n"
                    "except sessionkit.StoreLockedError:\n    sys.exit(3)\n",
                    str(path),
                ],
                check=False,
            )
        assert done.returncode == 3

    def test_reader_queries_while_a_writer_works(self, tmp_path: Path) -> None:
        """A read-only store sees committed data while the writer holds the lock."""
        path = tmp_path / "s.db"
        with SQLiteStore(path) as writer:
            tracker = Tracker(writer)
            tracker.track(ev("q1", 0))
            reader = SQLiteStore(path, readonly=True)
            session_id = reader.session_of("q1")
            assert session_id is not None
            tracker.track(ev("q2", 1))
            session = reader.session(session_id)
            assert session is not None
            assert [e.id for e in session.events] == ["q1", "q2"]
            with pytest.raises(StoreError, match="read-only"):
                Tracker(reader).track(ev("q3", 2))
            reader.close()

    def test_reader_in_another_process_sees_committed_batches(self, tmp_path: Path) -> None:
        """Another process opened read-only queries the file while this writer keeps it."""
        path = tmp_path / "s.db"
        reader = (
            "import sys, sessionkit.storage\n"
            "store = sessionkit.storage.SQLiteStore(sys.argv[1], readonly=True)\n"
            "page = store.sessions(only_sessions=True)\n"
            "print(len(store.sessions(limit=1000).items), len(page.items))\n"
        )
        with SQLiteStore(path) as writer:
            tracker = Tracker(writer)
            tracker.track_many([ev("q1", 0), ev("q2", 1), ev("b1", 2, BOB)])
            first = subprocess.run(
                [sys.executable, "-c", reader, str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            tracker.track(ev("q3", 100))
            second = subprocess.run(
                [sys.executable, "-c", reader, str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
        assert first.stdout.split() == ["3", "2"]
        assert second.stdout.split() == ["4", "3"]

    def test_readonly_needs_an_existing_file(self, tmp_path: Path) -> None:
        """Opening a missing file read-only does not create it."""
        with pytest.raises(StoreError, match="no such store"):
            SQLiteStore(tmp_path / "missing.db", readonly=True)
        assert not (tmp_path / "missing.db").exists()


class TestTrackerThreads:
    def test_many_threads_tracking_at_once(self, tmp_path: Path) -> None:
        """Eight threads tracking 200 events each: every event recorded once, no errors."""
        errors: list[BaseException] = []
        with SQLiteStore(tmp_path / "s.db") as store:
            tracker = Tracker(store)

            def work(n: int) -> None:
                user = Participant(ParticipantKind.USER, f"user-{n}")
                try:
                    for i in range(200):
                        tracker.track(Event(id=f"{n}-{i}", at=at(0), initiator=user))
                except BaseException as error:  # pragma: no cover - reported below
                    errors.append(error)

            threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
            rows = store.sessions(limit=10_000).items
            assert len(rows) == 1600
            assert len({(r.event.id) for r in rows}) == 1600
            assert len(store.sessions(only_sessions=True, limit=100).items) == 8


class TestTrackerRecovery:
    def test_store_failure_rolls_back_and_resyncs(self, tmp_path: Path) -> None:
        """If the store fails mid-record, nothing of the batch stays and the Tracker resyncs."""
        store = MemoryStore()
        tracker = Tracker(store)
        tracker.track(ev("q1", 0))
        original = store.record

        def failing(batch: object) -> None:
            raise OSError("disk full")

        store.record = failing  # type: ignore[method-assign]
        with pytest.raises(OSError, match="disk full"):
            tracker.track(ev("q2", 10))
        store.record = original  # type: ignore[method-assign]
        assert tracker.sessionizer.now == at(0)  # back to what the store holds
        assert not tracker.track(ev("q2", 10)).duplicate
        assert store.session_of("q2") == store.session_of("q1")


def test_store_failure_while_feeding_resyncs() -> None:
    """If the store fails to answer mid-batch, nothing of the batch stays, in memory or store."""
    store = MemoryStore()
    tracker = Tracker(store)
    tracker.track(ev("q1", 0))
    original = store.is_closed

    def failing(session_id: str, scope: str) -> bool:
        raise OSError("connection lost")

    store.is_closed = failing  # type: ignore[method-assign]
    with pytest.raises(OSError, match="connection lost"):
        # q2 joins alice's session; bob's q3 opens one, which asks the store: it fails.
        tracker.track_many([ev("q2", 10), ev("q3", 20, BOB)])
    store.is_closed = original  # type: ignore[method-assign]
    assert tracker.sessionizer.now == at(0)
    assert store.session_of("q2") is None
    assert not tracker.track(ev("q2", 10)).duplicate


def test_tracker_memory_stays_bounded_with_a_store(tmp_path: Path) -> None:
    """With a store, the Sessionizer holds no closed ids, only what is open or remembered."""
    with SQLiteStore(tmp_path / "s.db") as store:
        tracker = Tracker(store)
        events = conformance_stream(600, seed=3)
        tracker.track_many(events)
        tracker.advance(events[-1].at + timedelta(days=2))
        assert tracker.sessionizer.closed_session_count == 0
        assert tracker.sessionizer.remembered_event_count == 0
        assert tracker.sessionizer.open_session_count == 0


def test_store_file_works_from_the_command_line_sqlite(tmp_path: Path) -> None:
    """The file is plain SQLite: other tools can read the tables."""
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        Tracker(store).track_many([ev("q1", 0, ALICE), ev("q2", 1, ALICE)])
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 2
    assert db.execute("SELECT event_count FROM session_rows").fetchone()[0] == 2


class TestRecordedIdFilter:
    def test_the_writer_answers_ids_never_recorded_without_sql(self, tmp_path: Path) -> None:
        """is_closed of a new id is answered by the filter; recorded ids (also those recorded
        before the store was opened) still go to SQL and get the right answer."""
        path = tmp_path / "s.db"
        with Tracker(SQLiteStore(path)) as tracker:
            tracker.track(ev("q1", 0, session_id="s1", ends_session=True))
        store = SQLiteStore(path)
        queries: list[str] = []
        store._db.set_trace_callback(queries.append)
        assert not store.is_closed("never-seen", "")
        assert not queries
        assert store.is_closed("s1", "")
        assert len(queries) == 1
        with Tracker(store) as tracker:
            tracker.track(ev("q2", 10, session_id="s2", ends_session=True))
            assert store.is_closed("s2", "")  # recorded after opening: in the filter too
        store.close()

    def test_a_reader_has_no_filter_and_sees_the_writers_new_sessions(self, tmp_path: Path) -> None:
        """A read-only store cannot know what the writer adds: it always asks SQLite."""
        path = tmp_path / "s.db"
        tracker = Tracker(SQLiteStore(path))
        reader = SQLiteStore(path, readonly=True)
        tracker.track(ev("q1", 0, session_id="s1", ends_session=True))
        assert reader.is_closed("s1", "")
        reader.close()
        tracker.close()


def test_the_key_filter() -> None:
    """Never a false "not added"; sizes must be powers of two."""
    from sessionkit.storage._bloom import KeyFilter

    keys = [(f"scope{i % 3}", f"id-{i}") for i in range(5000)]
    small = KeyFilter(bits=1 << 12)  # crowded: many false "perhaps", never a false "no"
    for scope, id in keys:
        small.add(scope, id)
    assert all(key in small for key in keys)
    roomy = KeyFilter()
    roomy.add("a", "b")
    assert ("a", "b") in roomy
    assert sum(("a", f"other-{i}") in roomy for i in range(10_000)) < 5
    with pytest.raises(ValueError, match="power of two"):
        KeyFilter(bits=1000)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=15,
)


@given(st.dictionaries(st.text(), json_values, max_size=5))
def test_metadata_is_encoded_as_json_dumps_encodes_it(metadata: dict[str, object]) -> None:
    """Rows hold metadata as ``json.dumps(..., ensure_ascii=False, sort_keys=True)`` writes it
    (one encoder made once: the same text)."""
    assert _metadata_json(metadata) == json.dumps(metadata, ensure_ascii=False, sort_keys=True)


class TestRecordLater:
    """``record_later``: a batch written by a process of the store's own."""

    @staticmethod
    def batch(*events: Any) -> Batch:
        """The batch a Tracker in memory records for these events."""
        recorder = MemoryStore()
        captured: list[Batch] = []
        recorder.record = captured.append  # type: ignore[method-assign, assignment]
        Tracker(recorder).track_many(list(events))
        return captured[0]

    def test_a_batch_is_committed_once_waited_for(self, tmp_path: Path) -> None:
        path = tmp_path / "s.db"
        with SQLiteStore(path) as store:
            wait = store.record_later(self.batch(ev("q1", 0), ev("q2", 10)))
            wait()
            with SQLiteStore(path, readonly=True) as reader:  # another connection sees it
                assert reader.session_of("q2") == reader.session_of("q1") is not None
            # record and the next record_later wait for the one before: seq follows on
            store.record_later(self.batch(ev("q3", 20, BOB)))
            store.record(self.batch(ev("q4", 30, BOB)))
            stored = [store.event(f"q{n}") for n in (1, 2, 3, 4)]
            assert [s.seq for s in stored if s is not None] == [1, 2, 3, 4]
        with SQLiteStore(path) as again:  # close waited too; the view here is the file's
            assert Tracker(again).sessionizer.now == at(30)

    def test_a_failed_write_is_raised_and_the_view_read_again(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import sessionkit.storage._sqlite as module

        real = module._write
        parent = os.getpid()

        def failing(db: Any, rows: Any) -> None:
            if os.getpid() != parent:
                raise sqlite3.OperationalError("database or disk is full")
            real(db, rows)

        with SQLiteStore(tmp_path / "s.db") as store:
            store.record(self.batch(ev("q1", 0)))
            monkeypatch.setattr(module, "_write", failing)  # in the writing process only
            wait = store.record_later(self.batch(ev("q2", 10, BOB)))
            with pytest.raises(StoreError, match="recording a batch failed: OperationalError"):
                wait()
            assert store.event("q2") is None
            monkeypatch.setattr(module, "_write", real)
            store.record_later(self.batch(ev("q2", 10, BOB)))()  # a new writing process
            stored = store.event("q2")
            assert stored is not None and stored.seq == 2  # the view here was read again

    def test_a_store_in_memory_records_at_once(self) -> None:
        with SQLiteStore(":memory:") as store:
            wait = store.record_later(self.batch(ev("q1", 0)))
            assert store.event("q1") is not None
            wait()

    def test_a_writing_process_that_died_is_reported_and_replaced(self, tmp_path: Path) -> None:
        with SQLiteStore(tmp_path / "s.db") as store:
            store.record_later(self.batch(ev("q1", 0)))()
            writer = store._writer
            assert writer is not None
            writer._process.kill()
            writer._process.join()
            with pytest.raises(StoreError, match="the writing process ended"):
                store.record_later(self.batch(ev("q2", 10, BOB)))()
            assert store.event("q2") is None
            store.record_later(self.batch(ev("q2", 10, BOB)))()
            assert store.event("q2") is not None
