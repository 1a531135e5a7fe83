"""Closed session ids kept in a temporary file, for a replay that records no store."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from types import TracebackType

from sessionkit.storage._bloom import KeyFilter

__all__ = ["ClosedIdFile"]


class ClosedIdFile:
    """A :class:`~sessionkit.ClosedSessionIndex` in a temporary SQLite file, deleted on close.

    A Sessionizer must refuse the id of a closed session for good (rule 3), so without a store
    it holds one id per closed session: memory that grows with the log. Give it this index
    instead (``Sessionizer(closed_sessions=index)``); memory then holds only the last ``FLUSH``
    closings, and a Bloom filter of fixed size that answers most look-ups (nearly all are for
    new ids, never closed) without the file.

    .. versionchanged:: 0.2.0
       Moved from ``sessionkit.replay`` to ``sessionkit.storage``; ``add`` takes one id, and the
       Sessionizer calls it.
    """

    #: Closings held in memory before they are written to the file.
    FLUSH = 10_000

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="sessionkit-")
        self._db = sqlite3.connect(os.path.join(self._folder.name, "closed.db"))
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE closed (scope TEXT, id TEXT, PRIMARY KEY (scope, id)) WITHOUT ROWID"
        )
        self._pending: set[tuple[str, str]] = set()
        self._filter = KeyFilter()

    def add(self, session_id: str, scope: str) -> None:
        """Remember that a session closed."""
        self._pending.add((scope, session_id))
        self._filter.add(scope, session_id)
        if len(self._pending) >= self.FLUSH:
            with self._db:
                self._db.executemany("INSERT OR IGNORE INTO closed VALUES (?, ?)", self._pending)
            self._pending.clear()

    def is_closed(self, session_id: str, scope: str) -> bool:
        """Whether the session ``session_id`` of ``scope`` was reported closed."""
        key = (scope, session_id)
        if key not in self._filter:
            return False  # certainly never added
        if key in self._pending:
            return True
        found = self._db.execute(
            "SELECT 1 FROM closed WHERE scope = ? AND id = ?", (scope, session_id)
        ).fetchone()
        return found is not None

    def close(self) -> None:
        """Delete the file."""
        self._db.close()
        self._folder.cleanup()

    def __enter__(self) -> ClosedIdFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
