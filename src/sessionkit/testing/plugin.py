"""sessionkit's pytest plugin: fixtures for tests of code built on sessionkit. Opt-in.

Turn it on in a ``conftest.py`` with ``pytest_plugins = ["sessionkit.testing.plugin"]`` (or run
``pytest -p sessionkit.testing.plugin``). Its fixtures:

* ``sessionkit_rules`` — the :class:`~sessionkit.Rules` the other fixtures use; the defaults
  unless you override the fixture (in a ``conftest.py`` or a test module) or mark a test with
  ``@pytest.mark.sessionkit_rules(join_window=timedelta(minutes=2))``;
* ``sessionkit_sessionizer`` — a fresh :class:`~sessionkit.Sessionizer` with those rules;
* ``sessionkit_conversation`` — a fresh :class:`~sessionkit.testing.Conversation`;
* ``sessionkit_tracker`` — a :class:`~sessionkit.storage.Tracker` with those rules on a
  :class:`~sessionkit.storage.SQLiteStore` in the test's temporary directory, closed after the
  test.

.. versionchanged:: 0.2.0
   Opt-in (no longer loaded into every pytest run); fixtures renamed with a ``sessionkit_``
   prefix; ``sessionkit_rules`` added.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionkit import Rules, Sessionizer
from sessionkit.storage import SQLiteStore, Tracker
from sessionkit.testing._builders import Conversation

__all__ = [
    "sessionkit_conversation",
    "sessionkit_rules",
    "sessionkit_sessionizer",
    "sessionkit_tracker",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sessionkit_rules(**fields): the Rules of sessionkit's fixtures for this test"
    )


@pytest.fixture
def sessionkit_rules(request: pytest.FixtureRequest) -> Rules:
    """The Rules of this test: a ``sessionkit_rules`` marker's fields, else the defaults."""
    marker = request.node.get_closest_marker("sessionkit_rules")
    return Rules(**marker.kwargs) if marker is not None else Rules()


@pytest.fixture
def sessionkit_sessionizer(sessionkit_rules: Rules) -> Sessionizer:
    """A fresh Sessionizer with the test's rules."""
    return Sessionizer(sessionkit_rules)


@pytest.fixture
def sessionkit_conversation() -> Conversation:
    """A fresh Conversation, its clock at 2026-01-01T00:00:00Z."""
    return Conversation()


@pytest.fixture
def sessionkit_tracker(tmp_path: Path, sessionkit_rules: Rules) -> Iterator[Tracker]:
    """A Tracker with the test's rules on a SQLite file in the test's temporary directory."""
    tracker = Tracker(SQLiteStore(tmp_path / "sessions.db"), sessionkit_rules)
    yield tracker
    tracker.close()
