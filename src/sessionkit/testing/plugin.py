"""sessionkit's pytest plugin, registered through the ``pytest11`` entry point.

Installing sessionkit gives every pytest run these fixtures:

* ``sessionizer`` — a fresh :class:`~sessionkit.Sessionizer` with the default rules;
* ``conversation`` — a fresh :class:`~sessionkit.testing.Conversation`;
* ``sqlite_tracker`` — a :class:`~sessionkit.Tracker` on a :class:`~sessionkit.SQLiteStore` in
  the test's temporary directory, closed after the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionkit._sessionizer import Sessionizer
from sessionkit._tracker import Tracker
from sessionkit.storage._sqlite import SQLiteStore
from sessionkit.testing._builders import Conversation

__all__ = ["conversation", "sessionizer", "sqlite_tracker"]


@pytest.fixture
def sessionizer() -> Sessionizer:
    """A fresh Sessionizer with the default rules."""
    return Sessionizer()


@pytest.fixture
def conversation() -> Conversation:
    """A fresh Conversation, its clock at 2026-01-01T00:00:00Z."""
    return Conversation()


@pytest.fixture
def sqlite_tracker(tmp_path: Path) -> Iterator[Tracker]:
    """A Tracker on a SQLite file in the test's temporary directory, closed afterwards."""
    tracker = Tracker(SQLiteStore(tmp_path / "sessions.db"))
    yield tracker
    tracker.close()
