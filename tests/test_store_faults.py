"""The SQLite store against a second process, a full disk, read-only media and files not ours.

Races are run with real processes; the full disk and read-only media are real small file
systems (a tmpfs, a read-only bind mount), mounted by the test where the machine allows it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sessionkit import Event, IncompatibleStoreError, StoreError, StoreLockedError
from sessionkit.storage import SQLiteStore, Tracker
from tests.helpers import ALICE, T0


def events(n: int, start: int = 0, text: str = "") -> list[Event]:
    return [
        Event(id=f"e{i}", at=T0 + timedelta(seconds=i), initiator=ALICE, input=text or None)
        for i in range(start, start + n)
    ]


def sql(path: Path, *statements: str) -> None:
    """Change a SQLite file as another program would: run ``statements`` and commit."""
    db = sqlite3.connect(path)
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


@contextlib.contextmanager
def mounted(where: Path, *options: str) -> Iterator[Path]:
    """``mount OPTIONS where``, undone afterwards; the test is skipped where mounting is not
    allowed (it needs root)."""
    where.mkdir(exist_ok=True)
    command = ["mount", *options, str(where)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a file system here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


class TestWriters:
    def test_replace_deletes_nothing_while_a_writer_holds_the_store(self, tmp_path: Path) -> None:
        """A second writer asking to replace is refused, and the first writer's file stays."""
        path = tmp_path / "s.db"
        with Tracker(SQLiteStore(path)) as writer:
            writer.track_many(events(50))
            with pytest.raises(StoreLockedError):
                SQLiteStore(path, replace=True)
            writer.track_many(events(10, start=50))
            assert len(writer.store.sessions(limit=1000).items) == 60  # type: ignore[attr-defined]

    def test_replace_starts_anew_under_the_lock(self, tmp_path: Path) -> None:
        """With no other writer, replace=True empties the store."""
        path = tmp_path / "s.db"
        with Tracker(SQLiteStore(path)) as writer:
            writer.track_many(events(5))
        with SQLiteStore(path, replace=True) as store:
            assert store.resume_point() is None

    @pytest.mark.parametrize("how", ["symlink", "relative", "dotted"])
    def test_every_name_of_a_file_takes_the_same_lock(
        self, tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A symbolic link, a relative path or a path with ``..`` reach the one lock."""
        real = tmp_path / "data" / "s.db"
        real.parent.mkdir()
        monkeypatch.chdir(tmp_path)
        other = {
            "symlink": tmp_path / "link.db",
            "relative": Path("data/s.db"),
            "dotted": tmp_path / "data" / ".." / "data" / "s.db",
        }[how]
        if how == "symlink":
            other.symlink_to(real)
        with SQLiteStore(real), pytest.raises(StoreLockedError):
            SQLiteStore(other)

    def test_a_writer_in_another_process_through_a_link_is_refused(self, tmp_path: Path) -> None:
        """The lock holds across processes, whatever name each uses."""
        real, link = tmp_path / "s.db", tmp_path / "link.db"
        link.symlink_to(real)
        code = "import sys; from sessionkit.storage import SQLiteStore; SQLiteStore(sys.argv[1])"
        with SQLiteStore(real):
            done = subprocess.run(
                [sys.executable, "-c", code, str(link)], check=False, capture_output=True, text=True
            )
        assert done.returncode != 0 and "StoreLockedError" in done.stderr


class TestReaders:
    def test_readers_never_fail_while_a_writer_commits(self, tmp_path: Path) -> None:
        """Read-only opens and queries during a real writer's commits all succeed, and each
        sees a whole number of batches."""
        path = tmp_path / "s.db"
        with Tracker(SQLiteStore(path)) as tracker:
            tracker.track_many(events(10))
        writer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(
                    """
                    import sys
                    from datetime import timedelta
                    from sessionkit.storage import SQLiteStore, Tracker
                    from tests.test_store_faults import events
                    with Tracker(SQLiteStore(sys.argv[1])) as tracker:
                        for batch in range(1, 150):
                            tracker.track_many(events(10, start=batch * 10))
                    """
                ),
                str(path),
            ],
            cwd=Path(__file__).resolve().parent.parent,
        )
        counts = []
        try:
            while writer.poll() is None:
                with SQLiteStore(path, readonly=True) as reader:
                    page = reader.sessions(limit=10_000)
                    counts.append(len(page.items))
                    assert reader.resume_point() is not None
        finally:
            assert writer.wait(timeout=120) == 0
        assert counts and all(count % 10 == 0 for count in counts)
        with SQLiteStore(path, readonly=True) as reader:
            assert len(reader.sessions(limit=10_000).items) == 1500

    def test_a_store_on_read_only_media_can_be_read(self, tmp_path: Path) -> None:
        """A WAL store on a read-only file system opens read-only (no -shm can be made)."""
        source = tmp_path / "src"
        source.mkdir()
        with Tracker(SQLiteStore(source / "s.db")) as tracker:
            tracker.track_many(events(20))
        with mounted(tmp_path / "ro", "--bind", "-o", "ro", str(source)) as media:
            with SQLiteStore(media / "s.db", readonly=True) as reader:
                assert len(reader.sessions(limit=100).items) == 20
            with pytest.raises(StoreError, match="read-only"):
                Tracker(SQLiteStore(media / "s.db")).track_many(events(1, start=99))


def fill_until_refused(tracker: Tracker) -> StoreError:
    """Record batches of 500 events until the store refuses one; that refusal."""
    for start in range(100, 1_000_000, 500):
        try:
            tracker.track_many(events(500, start=start, text="x" * 200))
        except StoreError as error:
            return error
    raise AssertionError("the disk never filled")


class TestFaults:
    def test_a_full_disk_loses_nothing_and_the_tracker_goes_on(self, tmp_path: Path) -> None:
        """On a full file system a batch fails with one StoreError naming the file; what was
        committed stays, and once there is room the same Tracker records again."""
        with mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=2m", "tmpfs") as disk:
            path = disk / "s.db"
            tracker = Tracker(SQLiteStore(path))
            tracker.track_many(events(100))
            filler = disk / "filler"
            with contextlib.suppress(OSError), filler.open("wb") as fill:
                while True:
                    fill.write(b"\0" * 65536)
                    fill.flush()
            full = fill_until_refused(tracker)
            assert "disk is full" in str(full) and str(path) in str(full)
            recorded = len(tracker.store.sessions(limit=100_000).items)  # type: ignore[attr-defined]
            assert recorded >= 100 and recorded % 500 == 100  # whole batches only
            filler.unlink()
            next_start = 100 + (recorded - 100)
            tracker.track_many(events(10, start=next_start))
            tracker.close()
            with SQLiteStore(path, readonly=True) as reader:
                assert len(reader.sessions(limit=100_000).items) == recorded + 10

    def test_a_file_not_ours_is_left_exactly_as_it_was(self, tmp_path: Path) -> None:
        """Another program's SQLite file, even with user_version 1, is refused unchanged: same
        bytes, still not WAL, no side files."""
        path = tmp_path / "theirs.db"
        sql(path, "CREATE TABLE customers (id INTEGER)", "PRAGMA user_version = 1")
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        with pytest.raises(IncompatibleStoreError, match="another program"):
            SQLiteStore(path)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.db"]

    @pytest.mark.parametrize(
        ("value", "problem"), [("{", "rules"), ('{"join_window_us": -1}', "rules")]
    )
    def test_a_bad_meta_row_is_named(self, tmp_path: Path, value: str, problem: str) -> None:
        """A meta row sessionkit did not write is one IncompatibleStoreError naming it."""
        path = tmp_path / "s.db"
        with Tracker(SQLiteStore(path)) as tracker:
            tracker.track_many(events(3))
        sql(path, f"UPDATE meta SET value = '{value}' WHERE key = 'rules'")
        with pytest.raises(IncompatibleStoreError, match=f"meta row '{problem}'"):
            Tracker(SQLiteStore(path))

    def test_corrupt_pages_are_one_error(self, tmp_path: Path) -> None:
        """Overwritten pages give IncompatibleStoreError naming the file, not a traceback."""
        path = tmp_path / "s.db"
        with Tracker(SQLiteStore(path)) as tracker:
            tracker.track_many(events(2000, text="payload " * 10))
        data = bytearray(path.read_bytes())
        data[4096 * 3 : 4096 * 6] = os.urandom(4096 * 3)
        path.write_bytes(bytes(data))

        def read_everything() -> None:  # the open or the query finds the bad pages
            with SQLiteStore(path, readonly=True) as reader:
                reader.sessions(limit=5000)

        with pytest.raises(StoreError, match="corrupt") as caught:
            read_everything()
        assert str(path) in str(caught.value)

    def test_the_command_reports_a_store_fault_in_one_line(self, tmp_path: Path) -> None:
        """`sessionkit show` on a foreign file: one line on stderr, status 2."""
        path = tmp_path / "theirs.db"
        sql(path, "CREATE TABLE t (x)")
        done = subprocess.run(
            [sys.executable, "-m", "sessionkit", "show", str(path)],
            check=False,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "another program" in done.stderr


def test_a_time_an_older_version_stored_is_reported_not_a_crash(tmp_path: Path) -> None:
    """A stored time before year 1 (sessionkit 0.1 could write one) makes opening the store an
    IncompatibleStoreError that says so."""
    path = tmp_path / "s.db"
    with Tracker(SQLiteStore(path)) as tracker:
        tracker.track_many(events(3))
    sql(path, "UPDATE events SET at_us = -62135596800000000, at_offset = 50400")

    def read_everything() -> None:
        with SQLiteStore(path, readonly=True) as reader:
            reader.sessions()

    with pytest.raises(IncompatibleStoreError, match="now refuses: event 'e0': at 0001-01-01"):
        read_everything()
