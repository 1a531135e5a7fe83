"""What stores receive and return: batches of decisions, stored rows, pages of query results.

Both stores apply a :class:`Batch` through the same :func:`plan`, and build the Sessionizer's
resume state with the same :func:`resume_snapshot`, so they cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import attrs

from sessionkit._assembly import build_thread_tree
from sessionkit._model import (
    Assignment,
    ClosedSession,
    CloseReason,
    Event,
    Session,
    SessionStatus,
)
from sessionkit._rules import Rules
from sessionkit._sessionizer import snapshot_document, snapshot_latest, snapshot_session

__all__ = [
    "Batch",
    "Growth",
    "Page",
    "Plan",
    "SessionListing",
    "SessionRow",
    "StoredEvent",
    "check_page_arguments",
    "page_of",
    "plan",
    "resume_snapshot",
    "storage_problem",
    "whole_session",
]


@attrs.frozen
class Batch:
    """What one ``Tracker`` call decided, to be recorded in one transaction.

    ``assignments`` are the accepted events in feed order (duplicates are left out: they change
    nothing); ``closed`` are closings reported by ``advance``; ``now`` is the Sessionizer's time
    after the call. ``rules`` are the rules in force, which a store keeps to check on resume.
    """

    rules: Rules
    now: datetime | None
    assignments: tuple[Assignment, ...] = ()
    closed: tuple[ClosedSession, ...] = ()


@attrs.frozen
class SessionRow:
    """A stored session's summary (no events). ``first_seq`` and ``last_seq`` are the positions
    of its first and last events in the store."""

    id: str
    scope: str
    explicit: bool
    header_id: str | None
    started_at: datetime
    last_input_at: datetime
    status: SessionStatus
    closed_at: datetime | None
    close_reason: CloseReason | None
    event_count: int
    first_seq: int
    last_seq: int


class StoredEvent(NamedTuple):
    """One stored event with what was decided for it.

    ``seq`` is its position in the store (feed order across the store's life). A named tuple:
    one is made for every event recorded.
    """

    seq: int
    event: Event
    session_id: str
    thread_parent_id: str | None


@attrs.frozen
class Page:
    """One page of a query: ``items`` and the cursor to pass as ``after`` for the next page.

    ``next_after`` is ``None`` on the last page.
    """

    items: tuple[SessionListing, ...]
    next_after: str | None


@attrs.frozen
class SessionListing:
    """One row of ``sessions()``: a session's summary with one of its events.

    In the default view there is a row per matching event (``event`` is that event); with
    ``only_sessions=True`` one row per session, whose ``event`` is its first event (its header
    when it has one). ``seq`` is the event's position in the store.
    """

    session: SessionRow
    seq: int
    event: Event
    thread_parent_id: str | None


@attrs.define
class Growth:
    """What a batch adds to a session recorded before it: events, and the newest input."""

    last_input_at: datetime
    last_seq: int
    added: int = 0


@attrs.frozen
class Plan:
    """A batch turned into rows, so that a store never has to read before it writes.

    ``new_sessions`` are created by the batch (with everything the batch did to them);
    ``grown`` and ``closings`` change sessions recorded before it.
    """

    events: tuple[StoredEvent, ...]
    new_sessions: dict[tuple[str, str], SessionRow]
    grown: dict[tuple[str, str], Growth]
    closings: dict[tuple[str, str], tuple[datetime, CloseReason]]


@attrs.define
class _Opening:
    """A session a batch opens, as the batch goes on (frozen into a SessionRow at the end)."""

    first: Event
    id: str
    header: bool
    first_seq: int
    last_input_at: datetime
    last_seq: int
    event_count: int = 1
    closed: ClosedSession | None = None

    def row(self) -> SessionRow:
        closed = self.closed
        return SessionRow(
            id=self.id,
            scope=self.first.scope,
            explicit=self.first.session_id is not None,
            header_id=self.first.id if self.header else None,
            started_at=self.first.at,
            last_input_at=self.last_input_at,
            status=SessionStatus.OPEN if closed is None else SessionStatus.CLOSED,
            closed_at=None if closed is None else closed.closed_at,
            close_reason=None if closed is None else closed.close_reason,
            event_count=self.event_count,
            first_seq=self.first_seq,
            last_seq=self.last_seq,
        )


def plan(batch: Batch, first_seq: int) -> Plan:
    """Turn ``batch`` into rows, numbering its events from ``first_seq``."""
    new: dict[tuple[str, str], _Opening] = {}
    grown: dict[tuple[str, str], Growth] = {}
    closings: dict[tuple[str, str], tuple[datetime, CloseReason]] = {}

    def close(report: ClosedSession) -> None:
        key = (report.scope, report.id)
        opening = new.get(key)
        if opening is None:
            closings[key] = (report.closed_at, report.close_reason)
        else:
            opening.closed = report

    events = []
    seq = first_seq
    for assignment in batch.assignments:
        event = assignment.event
        key = (event.scope, assignment.session_id)
        for report in assignment.closed:
            if report.close_reason is CloseReason.IDLE:
                close(report)
        if assignment.started:
            new[key] = _Opening(event, assignment.session_id, assignment.header, seq, event.at, seq)
        elif key in new:
            opening = new[key]
            opening.last_input_at = event.at
            opening.event_count += 1
            opening.last_seq = seq
        else:
            growth = grown.get(key)
            if growth is None:
                growth = grown[key] = Growth(event.at, seq)
            growth.last_input_at = event.at
            growth.last_seq = seq
            growth.added += 1
        events.append(StoredEvent(seq, event, assignment.session_id, assignment.thread_parent_id))
        for report in assignment.closed:
            if report.close_reason is CloseReason.ENDED:
                close(report)
        seq += 1
    for report in batch.closed:
        close(report)
    return Plan(tuple(events), {k: o.row() for k, o in new.items()}, grown, closings)


def resume_snapshot(
    rules: Rules,
    now: datetime | None,
    remembered: Sequence[tuple[SessionRow, Sequence[str]]],
    recent: Iterable[tuple[str, str, datetime, str]],
) -> dict[str, Any]:
    """The Sessionizer snapshot a store resumes from (closed ids stay in the store).

    ``remembered``: the sessions whose horizon is after ``now``, with their event ids in feed
    order, ordered by their last event. ``recent``: ``(scope, user key, at, session id)`` of the
    events within one join window of ``now``, in feed order; the last one per user key is its
    latest event, kept when its session is open.
    """
    open_ids = {(row.scope, row.id) for row, _ in remembered if row.status is SessionStatus.OPEN}
    latest: dict[tuple[str, str], tuple[datetime, str]] = {}
    for scope, user_key, at, session_id in recent:
        latest[(scope, user_key)] = (at, session_id)
    return snapshot_document(
        rules,
        now,
        [
            snapshot_session(
                row.id,
                row.scope,
                row.explicit,
                row.header_id,
                row.started_at,
                row.last_input_at,
                row.closed_at if row.close_reason is CloseReason.ENDED else None,
                event_ids,
            )
            for row, event_ids in remembered
        ],
        [
            snapshot_latest(scope, user_key, at, session_id)
            for (scope, user_key), (at, session_id) in sorted(latest.items())
            if (scope, session_id) in open_ids
        ],
    )


def check_page_arguments(limit: int, after: str | None) -> int:
    """Validate ``limit`` and ``after``; return the position to start after."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number of at least 1, not {limit!r}")
    if after is None:
        return 0
    if not isinstance(after, str) or not after.isascii() or not after.isdigit():
        raise ValueError(f"after must be a cursor returned by a previous page, not {after!r}")
    return int(after)


def page_of(items: Sequence[SessionListing], limit: int) -> Page:
    """The first ``limit`` items (of up to ``limit + 1`` fetched), and a cursor if there are more.

    The cursor is the last row's position: its event's (or, listing sessions, its first event's)
    ``seq``, so pages never drift when rows are added.
    """
    if len(items) <= limit:
        return Page(tuple(items), None)
    return Page(tuple(items[:limit]), str(items[limit - 1].seq))


def whole_session(row: SessionRow, stored: Sequence[StoredEvent]) -> Session:
    """A :class:`~sessionkit.Session` from a stored row and its stored events (feed order)."""
    events = tuple(s.event for s in stored)
    return Session(
        id=row.id,
        scope=row.scope,
        explicit=row.explicit,
        header=events[0] if row.header_id is not None else None,
        events=events,
        started_at=row.started_at,
        last_input_at=row.last_input_at,
        status=row.status,
        closed_at=row.closed_at,
        close_reason=row.close_reason,
        roots=build_thread_tree(events, [s.thread_parent_id for s in stored]),
    )


def _flat_and_plain(metadata: Mapping[str, object]) -> bool:
    """Whether metadata certainly survives JSON: text keys and text, whole-number, boolean or
    null values, all UTF-8 encodable. (The common case; anything else takes the full check.)"""
    for key, value in metadata.items():
        if type(key) is not str or not (key.isascii() or _encodable(key)):
            return False
        if isinstance(value, str):
            if not (value.isascii() or _encodable(value)):
                return False
        elif type(value) is not int and type(value) is not bool and value is not None:
            return False
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storage_problem(event: Event) -> str | None:
    """Why a store could not keep ``event`` exactly, or ``None`` if it can.

    Strings must be encodable as UTF-8 (no lone surrogates) and ``metadata`` must survive a
    JSON round trip unchanged (strings as keys; no tuples, sets, bytes or NaN).
    """
    target = event.target
    user_id, session_id, parent_id = event.user_id, event.session_id, event.parent_id
    text_in, text_out = event.input, event.output
    if not (  # the common, all-ASCII case needs no encoding
        event.id.isascii()
        and event.scope.isascii()
        and event.initiator.id.isascii()
        and (target is None or target.id.isascii())
        and (user_id is None or user_id.isascii())
        and (session_id is None or session_id.isascii())
        and (parent_id is None or parent_id.isascii())
        and (text_in is None or text_in.isascii())
        and (text_out is None or text_out.isascii())
    ):
        texts = (event.id, event.scope, event.initiator.id, target.id if target else None)
        for text in (*texts, user_id, session_id, parent_id, text_in, text_out):
            if text is not None and not _encodable(text):
                return "a string holds a lone surrogate, which UTF-8 cannot encode"
    if event.metadata and not _flat_and_plain(event.metadata):
        plain = dict(event.metadata)
        try:
            encoded = json.dumps(plain, ensure_ascii=False, allow_nan=False, sort_keys=True)
            encoded.encode("utf-8")
        except (TypeError, ValueError) as error:
            return f"metadata is not plain JSON ({error})"
        if json.loads(encoded) != plain:
            return "metadata would not come back unchanged from JSON (tuples or non-string keys?)"
    return None
