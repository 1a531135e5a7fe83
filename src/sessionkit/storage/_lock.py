"""An exclusive, process-level lock on a file, released by the OS when the process dies."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import IO

from sessionkit import StoreError, StoreLockedError

__all__ = ["WriterLock"]


class WriterLock:
    """Holds ``path`` locked for one writer; raises :class:`StoreLockedError` if taken.

    The lock is an OS advisory lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on a
    side file, so a writer killed with SIGKILL releases it with its process and never leaves a
    stale lock behind.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._created = not os.path.exists(path)
        try:
            self._file: IO[bytes] | None = open(path, "a+b")  # noqa: SIM115
        except OSError as error:
            raise StoreError(
                f"cannot write the writer lock here ({error.strerror}); the folder may be "
                "read-only (readers can use SQLiteStore(path, readonly=True))",
                path,
            ) from None
        try:
            _lock(self._file)
        except OSError:
            self._file.close()
            self._file = None
            raise StoreLockedError(
                "another writer has this store open; close its Tracker first "
                "(readers can use SQLiteStore(path, readonly=True))",
                path,
            ) from None

    def release(self, *, refused: bool = False) -> None:
        """Let the next writer in. Idempotent. ``refused``: the store was not opened, so a lock
        file this lock created is removed too (opening a file that is not ours leaves nothing)."""
        if self._file is not None:
            if refused and self._created:
                with contextlib.suppress(OSError):
                    os.remove(self.path)
            self._file.close()  # closing the file drops the lock
            self._file = None


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(file: IO[bytes]) -> None:
        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(file: IO[bytes]) -> None:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
