"""The viewer's web application (WSGI, standard library): routes, filters, responses.

It only reads: every route answers GET (and HEAD) from the store's query API, and nothing is
served from the file system but the one stylesheet the package carries.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlencode

import attrs

from sessionkit import LogLineError, SessionStatus, StoreError
from sessionkit.cli import _pages
from sessionkit.replay import TimestampParser
from sessionkit.storage import SessionListing, SessionQueries

__all__ = ["PAGE_SIZE", "SESSION_LIMIT", "ListQuery", "Viewer"]

#: Rows on one page of the list.
PAGE_SIZE = 50
#: The most events a thread view shows (the first ones; the page says when it cut).
SESSION_LIMIT = 5000

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

#: Pages may load the stylesheet from here and nothing else: no script runs at all.
SECURITY_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
]


class BadRequestError(ValueError):
    """A query parameter the viewer cannot use; the message names it."""


_TIMES = TimestampParser(timezone.utc)
_FILTERS = ("scope", "user", "participant", "since", "until", "status", "order", "only_sessions")


@attrs.frozen
class ListQuery:
    """The list's filters, as the query string gives them (and as the form shows them)."""

    values: Mapping[str, str]
    after: str | None = None

    @classmethod
    def parse(cls, query: str) -> ListQuery:
        """The filters of a query string; unknown parameters are ignored, bad values refused."""
        found = parse_qs(query, keep_blank_values=True)
        values = {k: found[k][-1] for k in _FILTERS if k in found and found[k][-1] != ""}
        if values.get("only_sessions", "1") != "1":
            values.pop("only_sessions")
        after = found.get("after", [""])[-1] or None
        return cls(values, after)

    def query_string(self, after: str | None = None) -> str:
        """These filters (and a cursor) as a query string."""
        return urlencode(list(self.values.items()) + ([("after", after)] if after else []))

    def link(self, after: str | None = None) -> str:
        """The list's address with these filters (and a cursor)."""
        query = self.query_string(after)
        return f"/?{query}" if query else "/"

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``sessions()``; raises :class:`BadRequestError`."""
        values = self.values
        status = values.get("status")
        if status is not None and status not in {s.value for s in SessionStatus}:
            raise BadRequestError(f"status must be 'open' or 'closed', not {status!r}")
        if values.get("order", "oldest") != "oldest":
            raise BadRequestError(f"order must be 'oldest' or left out, not {values['order']!r}")
        return {
            "scope": values.get("scope"),
            "user": values.get("user"),
            "participant": values.get("participant"),
            "since": _time("since", values.get("since")),
            "until": _time("until", values.get("until")),
            "status": status,
            "only_sessions": "only_sessions" in values,
            "newest_first": "order" not in values,
            "limit": PAGE_SIZE,
            "after": self.after,
        }


def _host_name(header: str) -> str:
    """The name in a Host header, without its port: ``[::1]:8000`` -> ``[::1]``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1]
    return header.split(":", 1)[0]


def _time(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return _TIMES(value)
    except LogLineError as error:
        raise BadRequestError(f"{name}: {error}") from None


#: The names a loopback server answers to: a page of another site that makes its own name
#: resolve to 127.0.0.1 (DNS rebinding) is refused, as it sends its own name as Host.
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})


class Viewer:
    """The WSGI application over a store's query API; ``name`` is shown in the page's bar.

    ``hosts``: the host names requests may be addressed to (``None``: any).
    """

    def __init__(
        self, store: SessionQueries, name: str, hosts: frozenset[str] | None = LOOPBACK_NAMES
    ) -> None:
        self.store = store
        self.name = name
        self.hosts = hosts

    def __call__(
        self, environ: Mapping[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if self.hosts is not None and _host_name(environ.get("HTTP_HOST", "")) not in self.hosts:
            status, body, extra = "403 Forbidden", self._error("403", "Unknown host."), []
        elif method not in ("GET", "HEAD"):
            status, body, extra = (
                "405 Method Not Allowed",
                self._error("405", "Read only."),
                [("Allow", "GET, HEAD")],
            )
        else:
            status, body, extra = self._route(environ)
        content_type = "text/css" if body is _pages.STYLESHEET else "text/html; charset=utf-8"
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        if not any(name == "Cache-Control" for name, _ in extra):
            extra = [*extra, ("Cache-Control", "no-store")]  # pages change as a writer records
        start_response(status, headers + SECURITY_HEADERS + extra)
        return [b""] if method == "HEAD" else [body]

    def _route(self, environ: Mapping[str, Any]) -> tuple[str, bytes, list[tuple[str, str]]]:
        # PEP 3333: the path arrives as bytes decoded as Latin-1.
        path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")
        query = environ.get("QUERY_STRING", "")
        try:
            if path == "/":
                return "200 OK", self._list(query), []
            if path.startswith("/sessions/") and len(path) > len("/sessions/"):
                return self._session(path.removeprefix("/sessions/"), query)
            if path == "/static/viewer.css":
                return "200 OK", _pages.STYLESHEET, [("Cache-Control", "max-age=3600")]
            return "404 Not Found", self._error("404", f"No page at {path!r}."), []
        except ValueError as error:  # ours (BadRequestError) and the store's own checks
            return "400 Bad Request", self._error("400", str(error)), []
        except StoreError as error:
            print(f"sessionkit serve: {error}", file=sys.stderr)
            return "503 Service Unavailable", self._error("503", str(error)), []

    def _list(self, query_string: str) -> bytes:
        query = ListQuery.parse(query_string)
        page = self.store.sessions(**query.arguments())
        html = _pages.list_page(
            page.items,
            query.values,
            query.query_string(query.after),
            query.link(),
            None if page.next_after is None else query.link(page.next_after),
            self.name,
        )
        return html.encode("utf-8")

    def _session(self, session_id: str, query: str) -> tuple[str, bytes, list[tuple[str, str]]]:
        found = parse_qs(query, keep_blank_values=True)
        scope = found.get("scope", [""])[-1]
        back = ListQuery.parse(found.get("back", [""])[-1])  # only the list's own filters
        rows = self._events_of(session_id, scope)
        if not rows:
            where = f" in scope {scope!r}" if scope else ""
            return "404 Not Found", self._error("404", f"No session {session_id!r}{where}."), []
        html = _pages.session_page(rows[-1].session, rows, back.link(back.after), self.name)
        return "200 OK", html.encode("utf-8"), []

    def _events_of(self, session_id: str, scope: str) -> list[SessionListing]:
        rows: list[SessionListing] = []
        after = None
        while len(rows) < SESSION_LIMIT:
            page = self.store.sessions(
                scope=scope, session_id=session_id, limit=SESSION_LIMIT - len(rows), after=after
            )
            rows += page.items
            if page.next_after is None:
                break
            after = page.next_after
        return rows

    def _error(self, status: str, message: str) -> bytes:
        return _pages.error_page(status, message, self.name).encode("utf-8")
