"""The files a replay writes: assignments (CSV or JSON Lines), sessions and rejected lines."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from types import TracebackType
from typing import IO, TypeVar

from sessionkit import SessionSummary
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

    def _json(self, record: dict[str, object]) -> None:
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
        self._pair: Callable[[str, str], None] | None = None
        if name.endswith(".csv"):
            writerow = csv.writer(self._file, lineterminator="\n").writerow
            writerow(("event_id", "session_id"))
            self._pair = _csv_pairs(self._file.write, writerow)

    def write(self, outcome: Replayed) -> None:
        """Write one outcome (duplicates are skipped)."""
        a = outcome.assignment
        if a.duplicate:
            return
        event = a.event
        self.write_fields(
            event.id, event.scope, a.session_id, a.rule.value, a.started, a.header,
            a.thread_parent_id, outcome.source, outcome.line,
        )  # fmt: skip

    def pair_writer(self) -> Callable[[str, str], object] | None:
        """For a ``.csv`` file, the function that writes one ``event_id,session_id`` row (what
        :meth:`write_fields` writes there, with less to pass); ``None`` for ``.jsonl``. Ids
        that need no quoting are written as they are, the others by the ``csv`` module.

        .. versionadded:: 0.3.0
        """
        return self._pair

    def write_fields(
        self,
        event_id: str,
        scope: str,
        session_id: str,
        rule: str,
        started: bool,
        header: bool,
        thread_parent_id: str | None,
        source: str,
        line: int,
    ) -> None:
        """Write one accepted event's line from its fields (as :meth:`write` does).

        .. versionadded:: 0.3.0
        """
        if self._pair is not None:
            self._pair(event_id, session_id)
            return
        self._json(
            {
                "event_id": event_id,
                "scope": scope,
                "session_id": session_id,
                "rule": rule,
                "started": started,
                "header": header,
                "thread_parent_id": thread_parent_id,
                "source": source,
                "line": line,
            }
        )


def _csv_pairs(
    write: Callable[[str], object], writerow: Callable[[tuple[str, str]], object]
) -> Callable[[str, str], None]:
    """The function that writes one ``event_id,session_id`` row: ids that need no quoting
    written as they are (what the ``csv`` module writes for them, without its call), the
    others by ``writerow``."""

    def pair(event_id: str, session_id: str) -> None:
        both = event_id + session_id
        if "," in both or '"' in both or "\n" in both or "\r" in both:  # may be quoted
            writerow((event_id, session_id))
        else:
            write(f"{event_id},{session_id}\n")

    return pair


class SessionWriter(_Output):
    """Writes one JSON line per session (``SessionSummary.to_json``): each as it closes, then
    those still open at the end."""

    def write(self, summary: SessionSummary) -> None:
        """Write one session."""
        self._json(summary.to_json())


class RejectWriter(_Output):
    """Writes one JSON line per rejected line: source, line, reason, detail and the raw line."""

    def write(self, rejected: RejectedLine) -> None:
        """Write one rejected line."""
        self._json(rejected.to_json())
