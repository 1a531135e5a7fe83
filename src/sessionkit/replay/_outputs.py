"""The files a replay writes: assignments (CSV or JSON Lines), sessions and rejected lines."""

from __future__ import annotations

import csv
import json
import os
from types import TracebackType
from typing import IO, Any, TypeVar

from sessionkit._model import ClosedSession
from sessionkit._sessionizer import Sessionizer
from sessionkit.replay._readers import RejectedLine
from sessionkit.replay._replay import Replayed

__all__ = ["AssignmentWriter", "RejectWriter", "SessionWriter"]


_O = TypeVar("_O", bound="_Output")


class _Output:
    """A file written line by line; a context manager."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        # surrogatepass: an id holding a lone surrogate is written, not lost (JSON escapes them).
        self._file: IO[str] = open(  # noqa: SIM115
            path, "w", encoding="utf-8", errors="surrogatepass", newline=""
        )

    def close(self) -> None:
        self._file.close()

    def __enter__(self: _O) -> _O:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _json(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record) + "\n")


class AssignmentWriter(_Output):
    """Writes each accepted event's session: ``.csv`` gives ``event_id,session_id`` (to join back
    into a warehouse); ``.jsonl`` adds scope, rule, whether it started the session or is its
    header, its thread parent, and the source line. Duplicates are not written again."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        name = os.fspath(path).lower()
        if not name.endswith((".csv", ".jsonl")):
            raise ValueError(f"{os.fspath(path)}: an assignments file must end in .csv or .jsonl")
        super().__init__(path)
        self._csv = name.endswith(".csv")
        if self._csv:
            self._writer = csv.writer(self._file, lineterminator="\n")
            self._writer.writerow(("event_id", "session_id"))

    def write(self, outcome: Replayed) -> None:
        """Write one outcome (duplicates are skipped)."""
        assignment = outcome.assignment
        if assignment.duplicate:
            return
        if self._csv:
            self._writer.writerow((assignment.event.id, assignment.session_id))
            return
        self._json(
            {
                "event_id": assignment.event.id,
                "scope": assignment.event.scope,
                "session_id": assignment.session_id,
                "rule": assignment.rule.value,
                "started": assignment.started,
                "header": assignment.header,
                "thread_parent_id": assignment.thread_parent_id,
                "source": outcome.source,
                "line": outcome.line,
            }
        )


class SessionWriter(_Output):
    """Writes one JSON line per session: each as it closes, then those still open at the end."""

    def closed(self, report: ClosedSession) -> None:
        """Write a session that closed."""
        self._json(
            {
                "session_id": report.id,
                "scope": report.scope,
                "explicit": report.explicit,
                "header_id": report.header_id,
                "started_at": report.started_at.isoformat(),
                "last_input_at": report.last_input_at.isoformat(),
                "event_count": report.event_count,
                "status": "closed",
                "closed_at": report.closed_at.isoformat(),
                "close_reason": report.close_reason.value,
            }
        )

    def still_open(self, sessionizer: Sessionizer) -> None:
        """Write the sessions that are open at the end of the replay."""
        for item in sessionizer.snapshot()["sessions"]:
            if item["ended_at"] is not None:
                continue  # ended: written when it closed
            self._json(
                {
                    "session_id": item["id"],
                    "scope": item["scope"],
                    "explicit": item["explicit"],
                    "header_id": item["header_id"],
                    "started_at": item["started_at"],
                    "last_input_at": item["last_input_at"],
                    "event_count": len(item["event_ids"]),
                    "status": "open",
                    "closed_at": None,
                    "close_reason": None,
                }
            )


class RejectWriter(_Output):
    """Writes one JSON line per rejected line: source, line, reason, detail and the raw line."""

    def write(self, rejected: RejectedLine) -> None:
        """Write one rejected line."""
        self._json(rejected.to_json())
