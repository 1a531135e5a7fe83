"""Stores: where a Tracker records decisions and where people query sessions.

See docs/storage.md. The names here are also importable from ``sessionkit``.
"""

from __future__ import annotations

from sessionkit.storage._memory import MemoryStore
from sessionkit.storage._protocols import SessionQueries, SessionRecorder, SessionStore
from sessionkit.storage._records import Batch, Page, SessionListing, SessionRow, StoredEvent
from sessionkit.storage._sqlite import SCHEMA_VERSION, SQLiteStore

__all__ = [
    "SCHEMA_VERSION",
    "Batch",
    "MemoryStore",
    "Page",
    "SQLiteStore",
    "SessionListing",
    "SessionQueries",
    "SessionRecorder",
    "SessionRow",
    "SessionStore",
    "StoredEvent",
]
