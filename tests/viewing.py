"""What the viewer's tests share: stores to serve, a server on a free port, a page reader, and
what the pages should show worked out without the viewer (a plain Sessionizer)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple

from sessionkit import Assignment, Event, RefusedEventError, SessionAssembly, Sessionizer
from sessionkit.cli._serve import start
from sessionkit.replay import LogEvent, LogReader
from sessionkit.storage import SessionQueries, SQLiteStore, Tracker

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_LOG = ROOT / "examples" / "agent-log.jsonl"


def example_events() -> list[Event]:
    """The events of the bundled example log, in line order (its bad lines left out)."""
    return [item.event for item in LogReader([EXAMPLE_LOG]) if isinstance(item, LogEvent)]


def record(path: Path, events: Iterable[Event]) -> None:
    """Track ``events`` into a SQLite file, skipping the ones the rules refuse."""
    with SQLiteStore(path) as store:
        tracker = Tracker(store)
        for event in events:
            with suppress(RefusedEventError):
                tracker.track(event)


class Expected:
    """What a plain Sessionizer decides for the events: accepted assignments in feed order
    (their position is the store's ``seq``) and the sessions they make."""

    def __init__(self, events: Iterable[Event]) -> None:
        sessionizer, assembly = Sessionizer(), SessionAssembly()
        self.accepted: list[Assignment] = []
        for event in events:
            try:
                assignment = sessionizer.feed(event)
            except RefusedEventError:
                continue
            assembly.record(assignment)
            if not assignment.duplicate:
                self.accepted.append(assignment)
        self.sessions = assembly.sessions()


@contextmanager
def serving(store: SessionQueries, host: str = "127.0.0.1") -> Iterator[str]:
    """The viewer over ``store`` on a free port of ``host``, in a thread; yields its address."""
    server = start(store, "test.db", host, 0, log_requests=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def served(path: Path, events: Iterable[Event]) -> Iterator[str]:
    """``events`` recorded into a new SQLite file at ``path``, served read-only."""
    record(path, events)
    with SQLiteStore(path, readonly=True) as store, serving(store) as address:
        yield address


class Response(NamedTuple):
    status: int
    headers: dict[str, str]
    body: str


def get(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Response:
    """One request; error statuses are returned, not raised."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return Response(answer.status, dict(answer.headers), answer.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        return Response(error.code, dict(error.headers), error.read().decode("utf-8"))


class Row(NamedTuple):
    seq: int
    event: str
    session_href: str


class Node(NamedTuple):
    event: str
    depth: int
    rule: str
    nesting: int  # how many thread lists enclose it in the page


class PageReader(HTMLParser):
    """The parts of a viewer page the tests check."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[Row] = []
        self.nodes: list[Node] = []
        self.links: dict[str, str] = {}  # by rel or class: "next", "back"
        self.tags: dict[str, int] = {}
        self.text: list[str] = []
        self._row: dict[str, Any] | None = None
        self._lists = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "tr" and "data-seq" in a:
            self._row = {"seq": int(a["data-seq"]), "event": a["data-event"], "href": ""}
        elif tag == "a" and self._row is not None and "/sessions/" in a.get("href", ""):
            self._row["href"] = a["href"]
        elif tag == "a" and (a.get("rel") == "next" or a.get("class") == "back"):
            self.links[a.get("rel") or a["class"]] = a["href"]
        elif tag == "ol":
            self._lists += 1
        elif tag == "li" and a.get("class") == "node":
            depth, rule = int(a["data-depth"]), a["data-rule"]
            self.nodes.append(Node(a["data-event"], depth, rule, self._lists))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._row is not None:
            self.rows.append(Row(self._row["seq"], self._row["event"], self._row["href"]))
            self._row = None
        elif tag == "ol":
            self._lists -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def row_events(rows: Sequence[Row]) -> list[str]:
    return [row.event for row in rows]
