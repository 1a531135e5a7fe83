"""The store conformance suite, run against every store sessionkit ships."""

from __future__ import annotations

from pathlib import Path

from sessionkit.storage import MemoryStore, SessionStore, SQLiteStore
from sessionkit.testing.conformance import StoreConformance


class TestMemoryStore(StoreConformance):
    def make_store(self, tmp_path: Path) -> SessionStore:
        return MemoryStore()


class TestSQLiteFileStore(StoreConformance):
    def make_store(self, tmp_path: Path) -> SessionStore:
        return SQLiteStore(tmp_path / "sessions.db")

    def reopen(self, store: SessionStore, tmp_path: Path) -> SessionStore:
        store.close()
        return SQLiteStore(tmp_path / "sessions.db")


class TestSQLiteInMemoryStore(StoreConformance):
    def make_store(self, tmp_path: Path) -> SessionStore:
        return SQLiteStore(":memory:")
