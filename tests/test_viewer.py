"""`sessionkit serve` over HTTP: every route and filter, read-only, and hostile log content.

The rows each page should show are worked out without the viewer or the store: a plain
Sessionizer over the same events (tests/viewing.py).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

import pytest

from sessionkit import Assignment, Event, Participant, ParticipantKind, Session
from sessionkit.storage import SQLiteStore, Tracker
from sessionkit.testing.conformance import conformance_stream
from tests.viewing import (
    Expected,
    PageReader,
    Row,
    example_events,
    get,
    record,
    row_events,
    served,
    serving,
)

PAGE = 50


@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("viewer") / "example.db"
    record(path, example_events())
    return path


@pytest.fixture(scope="module")
def expected() -> Expected:
    return Expected(example_events())


@pytest.fixture(scope="module")
def url(example_db: Path) -> Iterator[str]:
    with SQLiteStore(example_db, readonly=True) as store, serving(store) as address:
        yield address


def all_rows(base: str, query: str = "") -> list[Row]:
    """Every row of the list, following its Next links."""
    rows: list[Row] = []
    link: str | None = "/?" + query
    while link is not None:
        page = PageReader(get(base + link).body)
        assert len(page.rows) <= PAGE
        rows += page.rows
        link = page.links.get("next")
    return rows


def session_of_link(href: str) -> tuple[str, str]:
    """(scope, session id) from a session link."""
    parts = urlsplit(href)
    scope = dict(p.split("=", 1) for p in parts.query.split("&"))["scope"]
    return unquote(scope), unquote(parts.path.removeprefix("/sessions/"))


class TestTheList:
    def test_newest_first_by_default_paging_to_the_end(self, url: str, expected: Expected) -> None:
        ids = [a.event.id for a in expected.accepted]
        first = PageReader(get(url + "/").body)
        assert row_events(first.rows) == ids[::-1][:PAGE]
        rows = all_rows(url)
        assert row_events(rows) == ids[::-1]
        assert [r.seq for r in rows] == list(range(len(ids), 0, -1))

    def test_oldest_first(self, url: str, expected: Expected) -> None:
        rows = all_rows(url, "order=oldest")
        assert row_events(rows) == [a.event.id for a in expected.accepted]

    def test_each_row_links_to_its_session(self, url: str, expected: Expected) -> None:
        session_of = {a.event.id: (a.event.scope, a.session_id) for a in expected.accepted}
        for row in PageReader(get(url + "/").body).rows:
            assert session_of_link(row.session_href) == session_of[row.event]

    def test_only_sessions_keeps_each_sessions_first_event(
        self, url: str, expected: Expected
    ) -> None:
        """One row per session (a single prompt too), its first event, newest session first."""
        rows = all_rows(url, "only_sessions=1")
        starts = [a for a in expected.accepted if a.started]
        assert row_events(rows) == [a.event.id for a in reversed(starts)]
        assert [session_of_link(r.session_href)[1] for r in rows] == [
            a.session_id for a in reversed(starts)
        ]
        assert len(rows) == len(expected.sessions)
        assert any(len(s.events) == 1 for s in expected.sessions)  # sessions of one show too

    def test_headerless_and_explicit_sessions_are_marked(self, url: str) -> None:
        """Explicit ids show as given; derived ones shortened; headerless ones say so."""
        body = get(url + "/?only_sessions=1&order=oldest&user=ivan").body
        assert ">ticket-4417</a>" in body
        headerless = get(url + "/?only_sessions=1&participant=payments-webhook").body
        assert "headerless" in headerless

    @pytest.mark.parametrize(
        "filters",
        [
            {"user": "alice"},
            {"participant": "support-agent"},
            {"status": "closed"},
            {"status": "open", "user": "bob"},
            {"since": "2026-03-02T10:30:00Z", "until": "2026-03-02 14:00+00:00"},
        ],
    )
    def test_filters_on_the_example(
        self, url: str, expected: Expected, filters: dict[str, str]
    ) -> None:
        rows = all_rows(url, urlencode({**filters, "order": "oldest"}))
        assert row_events(rows) == wanted(expected, filters)
        assert rows  # each filter keeps some rows

    @pytest.mark.parametrize(
        "filters",
        [{"scope": "tenant-b"}, {"scope": "tenant-b", "user": "ann"}, {"status": "closed"}],
    )
    def test_filters_on_several_scopes(self, tmp_path: Path, filters: dict[str, str]) -> None:
        events = conformance_stream(300)
        record(tmp_path / "s.db", events)
        with SQLiteStore(tmp_path / "s.db", readonly=True) as store, serving(store) as base:
            rows = all_rows(base, urlencode({**filters, "order": "oldest"}))
            sessions = all_rows(base, urlencode({**filters, "only_sessions": "1"}))
        expected = Expected(events)
        assert row_events(rows) == wanted(expected, filters)
        by_session = {session_of_link(r.session_href) for r in rows}
        assert {session_of_link(r.session_href) for r in sessions} == by_session

    @pytest.mark.parametrize(
        ("query", "named"),
        [
            ("status=ended", "status"),
            ("since=last+tuesday", "since"),
            ("until=2026-13-45", "until"),
            ("order=sideways", "order"),
            ("after=%27%3B--", "cursor"),
        ],
    )
    def test_bad_filters_are_refused_naming_the_parameter(
        self, url: str, query: str, named: str
    ) -> None:
        answer = get(f"{url}/?{query}")
        assert answer.status == 400
        assert named in answer.body


def wanted(expected: Expected, filters: dict[str, str]) -> list[str]:
    """The event ids the list should show for ``filters``, oldest first (docs/storage.md)."""
    sessions: dict[tuple[str, str], Session] = {(s.scope, s.id): s for s in expected.sessions}
    since, until = (
        datetime.fromisoformat(filters[k].replace("Z", "+00:00")) if k in filters else None
        for k in ("since", "until")
    )

    def keeps(a: Assignment) -> bool:
        e, session = a.event, sessions[(a.event.scope, a.session_id)]
        checks = [
            ("scope", e.scope),
            ("user", e.user_key),
            ("status", session.status.value),
        ]
        if any(k in filters and filters[k] != v for k, v in checks):
            return False
        if "participant" in filters and filters["participant"] not in (
            e.initiator.id,
            e.target.id if e.target else None,
        ):
            return False
        return (since is None or e.at >= since) and (until is None or e.at < until)

    return [a.event.id for a in expected.accepted if keeps(a)]


class TestTheThreadView:
    def test_ticket_4417_as_a_tree(self, url: str, expected: Expected) -> None:
        """Every event of the session once, depth first in feed order, each at its depth,
        nested as deep, with the rule that grouped it."""
        session = next(s for s in expected.sessions if s.id == "ticket-4417")
        answer = get(url + "/sessions/ticket-4417")
        assert answer.status == 200
        page = PageReader(answer.body)
        walked = [(d, n.event.id) for root in session.roots for d, n in root.walk()]
        assert [(n.depth, n.event) for n in page.nodes] == walked
        assert all(n.nesting == n.depth + 1 for n in page.nodes)
        rules = {a.event.id: a.rule.value for a in expected.accepted}
        assert [n.rule for n in page.nodes] == [rules[n.event] for n in page.nodes]
        assert max(n.depth for n in page.nodes) >= 2
        text = " ".join(page.text)
        assert f"{len(session.events)}" in text and "closed" in text and "ended" in text
        assert session.header is not None and session.header.id in text

    def test_the_way_back_keeps_the_filters(self, url: str) -> None:
        listed = PageReader(get(url + "/?user=ivan&only_sessions=1").body)
        link = next(r.session_href for r in listed.rows if "ticket-4417" in r.session_href)
        back = PageReader(get(url + link).body).links["back"]
        assert back == "/?user=ivan&only_sessions=1"

    def test_unknown_session_and_path(self, url: str) -> None:
        missing = get(url + "/sessions/" + quote("no-such<session>", safe=""))
        assert missing.status == 404
        assert "no-such&lt;session&gt;" in missing.body
        assert get(url + "/etc/passwd").status == 404
        assert get(url + "/static/../../pyproject.toml").status == 404


class TestReadOnlyAndSafe:
    def test_nothing_but_get_and_head(self, url: str) -> None:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            answer = get(url + "/", method=method)
            assert answer.status == 405
            assert answer.headers["Allow"] == "GET, HEAD"
        head = get(url + "/", method="HEAD")
        assert head.status == 200 and head.body == ""

    def test_every_page_forbids_scripts(self, url: str) -> None:
        for path in ("/", "/sessions/ticket-4417", "/nope", "/?status=x", "/static/viewer.css"):
            answer = get(url + path)
            policy = answer.headers["Content-Security-Policy"]
            assert "default-src 'none'" in policy and "script-src" not in policy
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert answer.headers["Cache-Control"] == (
                "max-age=3600" if path.endswith(".css") else "no-store"
            )
        css = get(url + "/static/viewer.css")
        assert css.status == 200 and css.headers["Content-Type"] == "text/css"

    def test_a_page_of_another_host_name_is_refused(self, url: str) -> None:
        """A site that points its own name at 127.0.0.1 (DNS rebinding) gets nothing."""
        assert get(url + "/", headers={"Host": "attacker.example:80"}).status == 403
        port = urlsplit(url).port
        assert get(url + "/", headers={"Host": f"localhost:{port}"}).status == 200

    def test_it_reads_while_a_writer_records(self, tmp_path: Path) -> None:
        path = tmp_path / "live.db"
        events = example_events()
        record(path, events[:100])
        with SQLiteStore(path, readonly=True) as reader, serving(reader) as base:
            before = PageReader(get(base + "/").body).rows
            with SQLiteStore(path) as writer:
                late = Event(
                    id="live-1",
                    at=events[99].at + timedelta(hours=1),
                    initiator=Participant(ParticipantKind.USER, "zoe"),
                )
                Tracker(writer).track(late)
                after = PageReader(get(base + "/").body).rows
        assert after[0].event == "live-1"
        assert after[1:] == before[: PAGE - 1]


HOSTILE = [
    "<script>window.pwned = 1; alert(1)</script>",
    '"><img src=x onerror="alert(2)">',
    "javascript:alert(3)",
    "right-to-left \u202eevil\u202c override",
    "nul\x00and\x1b[31mansi",
    "new\nline\r\nid",
    "<b>bold</b> &amp; entities",
]


def hostile_events() -> list[Event]:
    """Events whose every field is one of HOSTILE: ids, session ids, names, scopes, text."""
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    return [
        Event(
            id=text,
            at=t0 + timedelta(minutes=i),
            initiator=Participant(ParticipantKind.USER, text),
            target=Participant(ParticipantKind.AGENT, text),
            session_id=text if i % 2 else None,
            scope=text if i == 3 else "",
            input=text * (60 if i == 0 else 1),
            output=text,
        )
        for i, text in enumerate(HOSTILE)
    ]


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served(tmp_path_factory.mktemp("hostile") / "hostile.db", hostile_events()) as address:
        yield address


class TestHostileContent:
    def test_nothing_in_a_log_becomes_markup(self, hostile_url: str) -> None:
        """Every value is text: no element, attribute or link comes from the log."""
        pages = [get(hostile_url + "/").body, get(hostile_url + "/?only_sessions=1").body]
        for row in PageReader(pages[0]).rows:
            answer = get(hostile_url + row.session_href)
            assert answer.status == 200, row
            pages.append(answer.body)
        for body in pages:
            page = PageReader(body)
            assert not {"script", "img", "b", "iframe"} & set(page.tags)
            assert "javascript:" not in _hrefs(body)
        assert all("&lt;script&gt;window.pwned" in body for body in pages[:2])  # shown as text

    def test_controls_and_bidi_overrides_are_shown_as_escapes(self, hostile_url: str) -> None:
        body = get(hostile_url + "/").body
        for shown in (r"\u202e", r"\n", r"\x00", r"\x1b"):
            assert f'<span class="ctl">{shown}</span>' in body
        for character in ("\u202e", "\x00", "\x1b"):
            assert character not in body

    def test_ids_with_newlines_and_markup_reach_their_session(self, hostile_url: str) -> None:
        for text in (HOSTILE[1], HOSTILE[5]):  # explicit ids: a quote, a line break
            answer = get(f"{hostile_url}/sessions/{quote(text, safe='')}?scope=")
            assert answer.status == 200
            assert [n.event for n in PageReader(answer.body).nodes] == [_visible(text)]


def _hrefs(body: str) -> str:
    return " ".join(part.split('"', 1)[0] for part in body.split('href="')[1:])


def _visible(text: str) -> str:
    from sessionkit.cli._text import visible

    return visible(text)


class TestTheCommand:
    def test_serve_prints_where_and_stops_on_ctrl_c(self, example_db: Path) -> None:
        script = Path(sys.executable).with_name("sessionkit")
        process = subprocess.Popen(
            [str(script), "serve", str(example_db), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # A background job of a shell without job control ignores Ctrl-C, and so would the
            # child (Python keeps an ignored SIGINT ignored): give it the default, as a terminal.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert "read-only" in line and "only this machine can connect" in line
            address = line.split(" at ", 1)[1].split("/ ", 1)[0]
            assert address.startswith("http://127.0.0.1:")
            assert get(address + "/sessions/ticket-4417").status == 200
        finally:
            process.send_signal(signal.SIGINT)
            status = process.wait(timeout=30)
        assert status == 0

    @pytest.mark.parametrize("args", [["missing.db"], ["x.db", "--port", "http"]])
    def test_usage_errors(self, tmp_path: Path, args: list[Any]) -> None:
        script = Path(sys.executable).with_name("sessionkit")
        done = subprocess.run(
            [str(script), "serve", *args], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert done.returncode == 2
        assert "error" in done.stderr and "Traceback" not in done.stderr
