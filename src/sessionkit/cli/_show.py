"""``sessionkit show``: the sessions of a SQLite file as a table, or one session's thread tree."""

from __future__ import annotations

import argparse
import json
from typing import Any

from sessionkit import Event, Session
from sessionkit.cli._args import open_readonly, positive_int, query_time
from sessionkit.cli._text import excerpt, short_time, table, visible
from sessionkit.storage import SessionListing

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Show the sessions recorded in a SQLite file, one row per session with an event that matches the
filters, oldest first; or, with --session, one session's thread tree.
"""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "show", help="show sessions or one session", description=DESCRIPTION
    )
    parser.add_argument("db", metavar="DB", help="a SQLite file written by `sessionkit replay`")
    parser.add_argument("--session", metavar="ID", help="show this session's thread tree")
    view = parser.add_mutually_exclusive_group()
    view.add_argument(
        "--only-sessions",
        action="store_true",
        help="one row per session (the default view, named for scripts)",
    )
    view.add_argument("--events", action="store_true", help="one row per matching event instead")
    parser.add_argument("--user", metavar="U", help="sessions in which U sent an event")
    parser.add_argument("--scope", metavar="S", help="sessions of scope S")
    parser.add_argument(
        "--since", type=query_time, metavar="T", help="events at or after T (UTC if no zone)"
    )
    parser.add_argument(
        "--until", type=query_time, metavar="T", help="events before T (UTC if no zone)"
    )
    parser.add_argument(
        "--limit", type=positive_int, default=50, metavar="N", help="show at most N rows (50)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(options: argparse.Namespace) -> int:
    with open_readonly(options.db) as store:
        if options.session is not None:
            session = store.session(options.session, options.scope or "")
            if session is None:
                raise LookupError(f"{options.db} has no session {options.session!r}")
            print(_tree_json(session) if options.format == "json" else _tree(session))
            return 0
        page = store.sessions(
            scope=options.scope,
            user=options.user,
            since=options.since,
            until=options.until,
            only_sessions=not options.events,
            limit=options.limit,
        )
    if options.format == "json":
        print(json.dumps([_listing_json(item) for item in page.items], indent=2))
    elif options.events:
        print(_events_table(page.items))
    else:
        print(_sessions_table(page.items))
    if page.next_after is not None and options.format == "text":
        print(f"(more: raise --limit above {options.limit} to see them)")
    return 0


def _who(event: Event) -> str:
    return f"{event.initiator.kind.value} {event.initiator.id}"


def _status(item: SessionListing) -> str:
    row = item.session
    reason = f" ({row.close_reason.value})" if row.close_reason is not None else ""
    return row.status.value + reason


def _sessions_table(items: tuple[SessionListing, ...]) -> str:
    rows = []
    for item in items:
        row = item.session
        first = item.event
        shown = excerpt(first.input or first.output, 36)
        if row.header_id is None:
            shown = "(no header) " + shown
        rows.append(
            [
                short_time(row.started_at),
                row.id,
                shown,
                _who(first),
                str(row.event_count),
                _status(item),
            ]
        )
    header = ["STARTED", "SESSION", "HEADER OR FIRST EVENT", "INITIATOR", "EVENTS", "STATUS"]
    return table(header, rows, right=(4,))


def _events_table(items: tuple[SessionListing, ...]) -> str:
    rows = [
        [
            short_time(item.event.at),
            item.session.id,
            item.event.id,
            _who(item.event),
            excerpt(item.event.input or item.event.output, 36),
        ]
        for item in items
    ]
    return table(["TIME", "SESSION", "EVENT", "INITIATOR", "INPUT"], rows)


def _listing_json(item: SessionListing) -> dict[str, Any]:
    return {
        **item.session.to_json(),
        "event_id": item.event.id,
        "event_at": item.event.at.isoformat(),
        "initiator": {"kind": item.event.initiator.kind.value, "id": item.event.initiator.id},
        "input": item.event.input,
    }


def _tree(session: Session) -> str:
    kind = "explicit" if session.explicit else "implicit"
    header = f"header {session.header.id}" if session.header is not None else "no header"
    status = session.status.value
    if session.closed_at is not None and session.close_reason is not None:
        status += f" ({session.close_reason.value}) at {short_time(session.closed_at)}"
    scope = f", scope {session.scope!r}" if session.scope else ""
    lines = [
        f"session {session.id}{scope}",
        f"{kind}, {header}, {len(session.events)} events, "
        f"started {short_time(session.started_at)}, {status}",
    ]
    for root in session.roots:
        for depth, node in root.walk():
            event = node.event
            text = excerpt(event.input or event.output, 60)
            lines.append(
                f"{short_time(event.at)}  {'  ' * depth}{_who(event)}  {event.id}: {text}".rstrip()
            )
    return "\n".join(visible(line) for line in lines)  # ids and texts come from logs


def _tree_json(session: Session) -> str:
    events = []
    for root in session.roots:
        parent_of: dict[int, str | None] = {}
        for depth, node in root.walk():
            event = node.event
            parent_of[depth + 1] = event.id
            events.append(
                {
                    "event_id": event.id,
                    "depth": depth,
                    "thread_parent_id": parent_of.get(depth) if depth else None,
                    "at": event.at.isoformat(),
                    "initiator": {"kind": event.initiator.kind.value, "id": event.initiator.id},
                    "input": event.input,
                    "output": event.output,
                }
            )
    return json.dumps({**session.summary.to_json(), "events": events}, indent=2)
