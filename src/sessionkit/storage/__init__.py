"""Storage: the Tracker, which records every decision of a Sessionizer, and the stores it
records into and people query (docs/storage.md).

This layer imports the core (``sessionkit``) and the standard library's ``sqlite3``.
"""

from __future__ import annotations

from sessionkit.storage._closed_ids import ClosedIdFile
from sessionkit.storage._memory import MemoryStore
from sessionkit.storage._protocols import SessionQueries, SessionRecorder, SessionStore
from sessionkit.storage._records import (
    Batch,
    Page,
    PlacedFields,
    SessionListing,
    StoredEvent,
    storage_problem,
)
from sessionkit.storage._sqlite import SCHEMA_VERSION, SQLiteStore
from sessionkit.storage._tracker import Tracker

__all__ = [
    "SCHEMA_VERSION",
    "Batch",
    "ClosedIdFile",
    "MemoryStore",
    "Page",
    "PlacedFields",
    "SQLiteStore",
    "SessionListing",
    "SessionQueries",
    "SessionRecorder",
    "SessionStore",
    "StoredEvent",
    "Tracker",
    "storage_problem",
]
