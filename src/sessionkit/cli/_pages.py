"""The viewer's pages as HTML: the Monitoring list, one session's thread view, errors.

Every value from a store is log content, and log content is hostile: it goes through
:func:`text` (HTML-escaped, control and bidi characters shown as visible escapes) or
:func:`attribute`, and nothing else reaches the page. The pages run no script at all.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from importlib import resources
from urllib.parse import quote

from sessionkit import Event, GroupingRule, SessionSummary, ThreadNode, build_thread_tree
from sessionkit.cli._text import INVISIBLE, short_time, visible
from sessionkit.storage import SessionListing

__all__ = ["STYLESHEET", "error_page", "list_page", "session_page", "session_url", "text"]

#: The one stylesheet, served at /static/viewer.css.
STYLESHEET = resources.files("sessionkit.cli").joinpath("viewer.css").read_bytes()

#: Thread levels shown nested; deeper replies continue at this level, each with its depth
#: (browsers stop nesting elements a few hundred levels down).
MAX_NESTING = 64

#: Inputs and outputs longer than this (or of several lines) are shown collapsed.
LONG_TEXT = 280

RULE_NAMES: Mapping[GroupingRule | None, tuple[str, str]] = {
    GroupingRule.EXPLICIT_ID: ("session id", "it carried this session's id (rule 3)"),
    GroupingRule.PARENT_LINK: ("reply", "its parent event is in this session (rule 4)"),
    GroupingRule.JOIN_WINDOW: (
        "join window",
        "its user sent an event into this session within the join window (rule 5)",
    ),
    GroupingRule.NEW_SESSION: ("new session", "no rule joined it to a session, so it began one"),
    GroupingRule.DUPLICATE: ("duplicate", "its id was already seen"),
    None: ("not recorded", "the store that recorded it did not keep rules (schema version 1)"),
}


def text(value: str, *, lines: bool = False) -> str:
    """``value`` safe as HTML text: escaped, with every control, line-breaking and bidi
    character shown as a marked escape (``\\n``, ``\\u202e``); ``lines`` keeps line breaks and
    tabs as they are (inside ``<pre>``)."""
    escaped = html.escape(value, quote=True)
    if lines:
        return INVISIBLE.sub(_mark_unless_layout, escaped)
    return INVISIBLE.sub(_mark, escaped)


def _mark(found: re.Match[str]) -> str:
    return f'<span class="ctl">{html.escape(visible(found.group()))}</span>'


def _mark_unless_layout(found: re.Match[str]) -> str:
    return found.group() if found.group() in "\n\t" else _mark(found)


def attribute(value: str) -> str:
    """``value`` safe inside a double-quoted attribute (control characters as escapes)."""
    return html.escape(visible(value), quote=True)


def session_url(summary: SessionSummary, back: str = "") -> str:
    """The thread view's address of a session; ``back`` is the list's query to return to."""
    url = f"/sessions/{quote(summary.id, safe='')}?scope={quote(summary.scope, safe='')}"
    return url + (f"&back={quote(back, safe='')}" if back else "")


def page(title: str, body: str, store_name: str) -> str:
    """A whole page around ``body``."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(title)} · sessionkit</title>"
        '<link rel="stylesheet" href="/static/viewer.css"></head><body>'
        '<a class="skip" href="#main">Skip to content</a>'
        '<header class="bar"><a class="home" href="/">sessionkit</a>'
        f'<span class="store">{text(store_name)}</span><span class="ro">read-only</span></header>'
        f'<main id="main">{body}</main></body></html>\n'
    )


def error_page(status: str, message: str, store_name: str) -> str:
    """A page saying what went wrong (the message names the input)."""
    body = f'<h1>{text(status)}</h1><p class="error">{text(message)}</p>'
    return page(status, body + '<p><a href="/">Back to the list</a></p>', store_name)


# -- the Monitoring list ----------------------------------------------------------------------


def list_page(
    rows: Sequence[SessionListing],
    filters: Mapping[str, str],
    query: str,
    first_url: str,
    next_url: str | None,
    store_name: str,
) -> str:
    """The Monitoring list: the filter form, a table of rows, links to the first and next page.

    ``filters`` are the form's current values; ``query`` the list's own query (kept by the
    session links so the thread view can lead back)."""
    only_sessions = filters.get("only_sessions") == "1"
    what = "sessions" if only_sessions else "events"
    table = (
        f'<table class="list"><caption>{len(rows)} {what} on this page</caption><thead><tr>'
        '<th scope="col">Time</th><th scope="col">Initiator</th><th scope="col">Input</th>'
        '<th scope="col">Session</th><th scope="col">Status</th><th scope="col">Scope</th>'
        f"</tr></thead><tbody>{''.join(_row(row, query, only_sessions) for row in rows)}"
        "</tbody></table>"
        if rows
        else f'<p class="empty">No {what} match these filters.</p>'
    )
    pages = f'<a href="{attribute(first_url)}">First page</a>'
    if next_url is not None:
        pages += f' <a rel="next" href="{attribute(next_url)}">Next page</a>'
    body = f"<h1>Monitoring</h1>{_filter_form(filters)}{table}"
    return page("Monitoring", f'{body}<nav class="pages">{pages}</nav>', store_name)


def _filter_form(filters: Mapping[str, str]) -> str:
    def field(name: str, label: str, hint: str = "") -> str:
        value = attribute(filters.get(name, ""))
        placeholder = f' placeholder="{attribute(hint)}"' if hint else ""
        return (
            f'<label>{label}<input name="{name}" value="{value}"{placeholder} '
            'autocomplete="off"></label>'
        )

    def choice(name: str, label: str, options: Sequence[tuple[str, str]]) -> str:
        chosen = filters.get(name, "")
        items = "".join(
            f'<option value="{v}"{" selected" if v == chosen else ""}>{shown}</option>'
            for v, shown in options
        )
        return f'<label>{label}<select name="{name}">{items}</select></label>'

    checked = " checked" if filters.get("only_sessions") == "1" else ""
    time_hint = "2026-03-02 09:00 (UTC unless zoned)"
    return (
        '<form class="filters" method="get" action="/">'
        f"{field('scope', 'Scope')}{field('user', 'User')}{field('participant', 'Participant')}"
        f"{field('since', 'From', time_hint)}{field('until', 'Before', time_hint)}"
        f"{choice('status', 'Status', [('', 'any'), ('open', 'open'), ('closed', 'closed')])}"
        f"{choice('order', 'Order', [('', 'newest first'), ('oldest', 'oldest first')])}"
        '<label class="check"><input type="checkbox" name="only_sessions" value="1"'
        f"{checked}> Show only sessions</label>"
        '<div class="actions"><button type="submit">Apply</button> <a href="/">Clear</a></div>'
        "</form>"
    )


def _row(row: SessionListing, query: str, only_sessions: bool) -> str:
    event, summary = row.event, row.session
    count = f'<span class="tag">{summary.event_count} events</span>' if only_sessions else ""
    return (
        f'<tr data-seq="{row.seq}" data-event="{attribute(event.id)}">'
        f"<td>{_time(event.at)}</td><td>{_who(event)}</td>"
        f'<td class="input">{_excerpt(event.input, 80)}</td>'
        f'<td class="session">{_session_link(summary, query)}{count}</td>'
        f"<td>{_status(summary)}</td><td>{text(event.scope)}</td></tr>"
    )


def _excerpt(value: str | None, width: int) -> str:
    """The start of a text on one line (its line breaks as spaces), cut to ``width``."""
    line = " ".join((value or "").split())
    return text(line if len(line) <= width else line[: width - 1] + "…")


def _session_link(summary: SessionSummary, query: str) -> str:
    shown = text(summary.id) if summary.explicit else text(summary.id[:8]) + "…"
    tags = "" if summary.header_id is not None else ' <span class="tag">headerless</span>'
    return (
        f'<a href="{attribute(session_url(summary, query))}" title="{attribute(summary.id)}">'
        f"{shown}</a>{tags}"
    )


def _time(at: datetime) -> str:
    return f'<time datetime="{at.isoformat()}">{text(short_time(at))}</time>'


def _who(event: Event) -> str:
    kind = event.initiator.kind.value
    who = f'<span class="kind k-{kind}">{kind}</span> {text(event.initiator.id)}'
    if event.target is not None:
        who += f' → <span class="kind k-{event.target.kind.value}">{event.target.kind.value}'
        who += f"</span> {text(event.target.id)}"
    return who


def _status(summary: SessionSummary) -> str:
    if summary.close_reason is None:
        return f'<span class="status s-{summary.status.value}">{summary.status.value}</span>'
    reason = summary.close_reason.value
    return f'<span class="status s-closed">closed</span> <span class="reason">({reason})</span>'


# -- one session ------------------------------------------------------------------------------


def session_page(
    summary: SessionSummary,
    rows: Sequence[SessionListing],
    back_url: str,
    store_name: str,
) -> str:
    """One session: its summary and its whole thread tree (``rows`` in feed order; fewer than
    the session's events when it was cut at the viewer's limit)."""
    roots = build_thread_tree([r.event for r in rows], [r.thread_parent_id for r in rows])
    by_event = {id(r.event): r for r in rows}
    cut = ""
    if len(rows) < summary.event_count:
        cut = f'<p class="cut">Showing the first {len(rows)} of {summary.event_count} events.</p>'
    body = (
        f'<p><a class="back" href="{attribute(back_url)}">← Back to the list</a></p>'
        f'<h1>Session <code class="sid">{text(summary.id)}</code></h1>'
        f"{_summary(summary)}{cut}<h2>Thread</h2>{_tree(roots, by_event)}"
    )
    return page(f"Session {summary.id}", body, store_name)


def _summary(summary: SessionSummary) -> str:
    header = (
        f"<code>{text(summary.header_id)}</code>"
        if summary.header_id is not None
        else "none: its first event was not sent by a header kind (headerless)"
    )
    closed = (
        f"<dt>Closed</dt><dd>{_time(summary.closed_at)}</dd>"
        if summary.closed_at is not None
        else ""
    )
    origin = "given by the caller" if summary.explicit else "derived from its first event"
    return (
        '<dl class="summary">'
        f"<dt>Status</dt><dd>{_status(summary)}</dd>"
        f"<dt>Scope</dt><dd>{text(summary.scope) or '<em>default</em>'}</dd>"
        f"<dt>Id</dt><dd>{origin}</dd>"
        f"<dt>Header</dt><dd>{header}</dd>"
        f"<dt>Events</dt><dd>{summary.event_count}</dd>"
        f"<dt>Started</dt><dd>{_time(summary.started_at)}</dd>"
        f"<dt>Last input</dt><dd>{_time(summary.last_input_at)}</dd>{closed}</dl>"
    )


def _tree(roots: Sequence[ThreadNode], rows: Mapping[int, SessionListing]) -> str:
    """The thread tree as nested lists, iteratively (threads may be any depth)."""
    out = ['<ol class="tree">']
    stack = [(iter(roots), True)]
    while stack:
        node = next(stack[-1][0], None)
        if node is None:
            _, nested = stack.pop()
            if nested:
                out.append("</ol></li>" if stack else "</ol>")
            continue
        depth = len(stack) - 1
        out.append(_node(node.event, rows[id(node.event)], depth))
        if node.children and depth + 1 < MAX_NESTING:
            out.append('<ol class="replies">')
            stack.append((iter(node.children), True))
        else:
            out.append("</li>")
            if node.children:  # deeper than the page nests: its replies follow at this level
                stack.append((iter(node.children), False))
    return "".join(out)


def _node(event: Event, row: SessionListing, depth: int) -> str:
    name, meaning = RULE_NAMES[row.rule]
    rule = row.rule.value if row.rule is not None else "unknown"
    return (
        f'<li class="node" id="e{row.seq}" data-depth="{depth}" data-rule="{rule}" '
        f'data-event="{attribute(event.id)}">'
        f'<div class="head">{_time(event.at)} {_who(event)} '
        f'<span class="rule" title="{attribute(meaning)}">{name}</span>'
        f'<span class="eid">{text(event.id)}</span>'
        f"{' <span class=tag>ends session</span>' if event.ends_session else ''}</div>"
        f"{_content('Input', event.input)}{_content('Output', event.output)}"
    )


def _content(label: str, value: str | None) -> str:
    if value is None:
        return ""
    if len(value) <= LONG_TEXT and "\n" not in value:
        return f'<p class="io"><span class="label">{label}</span> {text(value)}</p>'
    return (
        f'<details class="io"><summary><span class="label">{label}</span> '
        f"{_excerpt(value, 120)} <em>({len(value):,} characters)</em></summary>"
        f'<pre class="full">{text(value, lines=True)}</pre></details>'
    )
