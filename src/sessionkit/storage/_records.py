"""What stores receive and return: batches of decisions, stored events, pages of query results.

The helpers here are shared by both shipped stores and know no grouping rule: what to record
comes from the Sessionizer's assignments, and what to resume from is asked by the core
(``Rules.resume_cutoffs`` and ``Sessionizer.resume``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

import attrs

from sessionkit import (
    Assignment,
    Event,
    EventFields,
    GroupingRule,
    Placement,
    Rules,
    Session,
    SessionStatus,
    SessionSummary,
    build_thread_tree,
)

__all__ = [
    "Batch",
    "Page",
    "PlacedFields",
    "SessionListing",
    "StoredEvent",
    "check_query_arguments",
    "fields_of",
    "fields_problem",
    "page_of",
    "storage_problem",
    "whole_session",
]


#: An accepted event as a replay gives it to a store: its fields and where it was placed.
PlacedFields = tuple[EventFields, Placement]


@attrs.frozen
class Batch:
    """What one ``Tracker`` call decided, to be recorded in one transaction.

    ``assignments`` are the accepted events in feed order (duplicates are left out: they change
    nothing), each with the sessions that closed at its step; ``closed`` are closings reported by
    ``advance``; ``now`` is the Sessionizer's time after the call. ``rules`` are the rules in
    force, which a store keeps to check on resume. A closing's :class:`~sessionkit.SessionSummary`
    is the session's final state, the closing event included. ``outputs`` are outputs sent after
    their event, ``(scope, event id, output)``: each replaces the output recorded for the latest
    event of that id (which the batch may itself hold).

    ``placed`` are accepted events as a replay's lean path gives them: each its
    :data:`~sessionkit.EventFields` and :data:`~sessionkit.Placement` (the fields of its
    Assignment), in feed order after ``assignments``. A Tracker fills it, instead of
    ``assignments``, only for a store whose ``records_placed`` attribute is true (the SQLite
    store): it spares building an Event and an Assignment per event. Any other store is given
    assignments, as always.

    .. versionchanged:: 0.3.0
       ``outputs`` and ``placed`` added.
    """

    rules: Rules
    now: datetime | None
    assignments: tuple[Assignment, ...] = ()
    closed: tuple[SessionSummary, ...] = ()
    outputs: tuple[tuple[str, str, str], ...] = ()
    placed: tuple[PlacedFields, ...] = ()


class StoredEvent(NamedTuple):
    """One stored event with what was decided for it.

    ``seq`` is its position in the store (feed order across the store's life); ``rule`` the
    :class:`~sessionkit.GroupingRule` that put it in its session (``None`` for events a store
    recorded before it kept rules: SQLite schema version 1). A named tuple: one is made for
    every event read back.

    .. versionchanged:: 0.3.0
       ``rule`` added.
    """

    seq: int
    event: Event
    session_id: str
    thread_parent_id: str | None
    rule: GroupingRule | None = None


@attrs.frozen
class SessionListing:
    """One row of ``sessions()``: a session's summary with one of its events.

    In the default view there is a row per matching event (``event`` is that event); with
    ``only_sessions=True`` one row per session, whose ``event`` is its first event (its header
    when it has one). ``seq`` is the event's position in the store, ``thread_parent_id`` its
    thread parent, ``first_seq`` the position of its session's first event, and ``rule`` the
    :class:`~sessionkit.GroupingRule` that put the event in its session (``None`` where the
    store did not record it).

    .. versionchanged:: 0.2.0
       ``session`` is a :class:`~sessionkit.SessionSummary` (it was a ``SessionRow``, whose
       ``first_seq`` is now here).

    .. versionchanged:: 0.3.0
       ``rule`` added.
    """

    session: SessionSummary
    seq: int
    event: Event
    thread_parent_id: str | None
    first_seq: int
    rule: GroupingRule | None = None


@attrs.frozen
class Page:
    """One page of a query: ``items`` and the cursor to pass as ``after`` for the next page.

    ``next_after`` is ``None`` on the last page.
    """

    items: tuple[SessionListing, ...]
    next_after: str | None


def check_query_arguments(
    limit: int, after: str | None, status: SessionStatus | str | None, *times: datetime | None
) -> tuple[int | None, SessionStatus | None]:
    """Validate the arguments of ``sessions()``; return the position to start after (``None``
    for the first page) and the status as the enum (its value is accepted too). Raises
    :class:`ValueError` naming the argument."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number of at least 1, not {limit!r}")
    for at in times:
        if at is not None and (not isinstance(at, datetime) or at.utcoffset() is None):
            raise ValueError(f"since and until must be timezone-aware datetimes, not {at!r}")
    try:
        status = None if status is None else SessionStatus(status)
    except ValueError:
        raise ValueError(f"status must be 'open' or 'closed', not {status!r}") from None
    if after is None:
        return None, status
    if not isinstance(after, str) or not after.isascii() or not after.isdigit():
        raise ValueError(f"after must be a cursor returned by a previous page, not {after!r}")
    return int(after), status


def page_of(items: Sequence[SessionListing], limit: int) -> Page:
    """The first ``limit`` items (of up to ``limit + 1`` fetched), and a cursor if there are more.

    The cursor is the last row's position: its event's (or, listing sessions, its first event's)
    ``seq``, so pages never drift when rows are added.
    """
    if len(items) <= limit:
        return Page(tuple(items), None)
    return Page(tuple(items[:limit]), str(items[limit - 1].seq))


def whole_session(summary: SessionSummary, stored: Sequence[StoredEvent]) -> Session:
    """A :class:`~sessionkit.Session` from a stored summary and its stored events (feed order)."""
    events = tuple(s.event for s in stored)
    return Session(
        summary=summary,
        header=events[0] if summary.header_id is not None else None,
        events=events,
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


#: What is wrong with a string a store cannot keep.
LONE_SURROGATE = "a string holds a lone surrogate, which UTF-8 cannot encode"


def storage_problem(event: Event) -> str | None:
    """Why a store could not keep ``event`` exactly, or ``None`` if it can.

    Strings must be encodable as UTF-8 (no lone surrogates) and ``metadata`` must survive a
    JSON round trip unchanged (strings as keys; no tuples, sets, bytes or NaN).
    """
    return fields_problem(fields_of(event))


def fields_of(event: Event) -> EventFields:
    """An Event's :data:`~sessionkit.EventFields`."""
    return (
        event.id, event.at, event.initiator, event.target, event.user_id, event.session_id,
        event.parent_id, event.scope, event.ends_session, event.input, event.output,
        event.metadata,
    )  # fmt: skip


def fields_problem(fields: EventFields) -> str | None:
    """:func:`storage_problem` of the event with these fields (metadata frozen or not)."""
    (event_id, _, initiator, target, user_id, session_id, parent_id, scope, _, text_in,
     text_out, metadata) = fields  # fmt: skip
    if (  # the common case: all text ASCII, metadata flat and plain
        event_id.isascii()
        and scope.isascii()
        and initiator.id.isascii()
        and (target is None or target.id.isascii())
        and (user_id is None or user_id.isascii())
        and (session_id is None or session_id.isascii())
        and (parent_id is None or parent_id.isascii())
        and (text_in is None or text_in.isascii())
        and (text_out is None or text_out.isascii())
        and (not metadata or _flat_and_plain(metadata))
    ):
        return None
    texts = (event_id, scope, initiator.id, None if target is None else target.id)
    for text in (*texts, user_id, session_id, parent_id, text_in, text_out):
        if text is not None and not _encodable(text):
            return LONE_SURROGATE
    if metadata:
        plain = dict(metadata)
        try:
            encoded = json.dumps(plain, ensure_ascii=False, allow_nan=False, sort_keys=True)
            encoded.encode("utf-8")
        except (TypeError, ValueError) as error:
            return f"metadata is not plain JSON ({error})"
        except RecursionError:
            return "metadata is nested too deeply to store"
        if json.loads(encoded) != plain:
            return "metadata would not come back unchanged from JSON (tuples or non-string keys?)"
    return None
