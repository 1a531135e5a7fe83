"""Replaying a log: events put back in time order, grouped, and every line accounted for."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol, TypeVar

from sessionkit import Assignment, Event, RefusedEventError, Sessionizer, UnknownEventError
from sessionkit.replay._durations import format_duration
from sessionkit.replay._readers import (
    KeptFields,
    LeanRecord,
    LogEvent,
    LogFields,
    LogOutput,
    LogRecord,
    RejectedLine,
    raw_text,
)
from sessionkit.replay._reorder import ReorderBuffer
from sessionkit.replay._repeats import Repeats
from sessionkit.storage import Tracker

__all__ = [
    "Grouper",
    "OutputSet",
    "Replayed",
    "in_batches",
    "in_time_order",
    "late_line",
    "replay_records",
]

#: What groups a batch of events: for each, its assignment or the refusal. Pass
#: ``Sessionizer.feed_each`` (groups in memory) or ``Tracker.track_each`` (also records each
#: batch in one transaction of a store).
Grouper = Callable[[Sequence[Event]], Sequence["Assignment | RefusedEventError"]]


class Replayed(NamedTuple):
    """A line whose event was grouped (``assignment.duplicate`` tells a duplicate apart)."""

    source: str
    line: int
    assignment: Assignment


class OutputSet(NamedTuple):
    """A line that set the output of an event accepted earlier (an output sent after its
    event): the event's id and scope, and its session.

    .. versionadded:: 0.3.0
    """

    source: str
    line: int
    event_id: str
    scope: str
    session_id: str


_E = TypeVar("_E", LogEvent, LogFields)
_O = TypeVar("_O")
_O_co = TypeVar("_O_co", covariant=True)


class _Held(Protocol[_O_co]):
    """What holds a batch's outcomes back, for :func:`in_batches`."""

    def passed(self, line: RejectedLine) -> Iterator[_O_co | RejectedLine]:
        """A rejected line, given once the outcomes held before it are."""
        ...

    def settled(self) -> Iterator[_O_co]:
        """The outcomes held."""
        ...


#: One outcome per line.
Outcome = Replayed | OutputSet | RejectedLine


def replay_records(
    records: Iterable[LogRecord],
    group: Sessionizer | Tracker | Grouper,
    *,
    max_lateness: timedelta = timedelta(0),
    batch_size: int = 1000,
) -> Iterator[Outcome]:
    """Group the events a :class:`LogReader` yields; yield one outcome per line.

    Events go through a :class:`ReorderBuffer` of ``max_lateness`` (an event further behind the
    newest one seen is rejected as ``late``), then to ``group`` ``batch_size`` at a time: a
    :class:`~sessionkit.Sessionizer` (groups in memory) or a
    :class:`~sessionkit.storage.Tracker`, which records each batch in one transaction. Events
    that are refused become :class:`RejectedLine` values with the refusal's reason
    (``out_of_order``, ``session_closed``, ...).

    A line that repeats a remembered event id is compared with what that event said (see
    ``docs/replay.md``): the same again is a duplicate (a :class:`Replayed` whose assignment
    says so); an output the event lacked, sent alone or in a repeat that contradicts nothing,
    is recorded (:class:`OutputSet`); anything else is rejected as ``conflicting_duplicate``.
    ``group`` may also be a grouping function (``sessionizer.feed_each``): then repeats are
    not compared and an output sent alone is rejected as ``unknown_event``.

    Outcomes come in the order they are decided, not the input's: rejected lines at once,
    events once released and grouped. Consume the iterator to the end: the last events are
    grouped when the input ends.

    .. versionchanged:: 0.3.0
       ``group`` may be the Sessionizer or Tracker itself; outputs sent after their event.
    """
    feed, repeats = _grouping(group)
    return in_batches(
        records, max_lateness, batch_size, LogEvent, lambda batch: _grouped(batch, feed, repeats),
        repeats,
    )  # fmt: skip


def in_batches(
    records: Iterable[LogRecord] | Iterable[LeanRecord],
    max_lateness: timedelta,
    batch_size: int,
    kind: type[_E],
    grouped: Callable[[list[_E]], Iterator[_O]],
    repeats: Repeats | None,
    held: _Held[_O] | None = None,
) -> Iterator[_O | OutputSet | RejectedLine]:
    """The loop of a replay that groups events in batches: records put in time order, events
    (records of ``kind``) grouped ``batch_size`` at a time by ``grouped``, an output sent alone
    once the events before it are, rejected lines at once. ``grouped`` may hold a batch's
    outcomes back (while a store records it): then ``held`` gives a rejected line after them
    (``held.passed``), and what it holds before an output sent alone and at the end
    (``held.settled``)."""
    batch: list[_E] = []
    for record in in_time_order(records, max_lateness):  # type: ignore[type-var]
        if type(record) is kind:
            batch.append(record)
            if len(batch) >= batch_size:
                yield from grouped(batch)
                batch = []
        elif type(record) is LogOutput:
            if batch:
                yield from grouped(batch)
                batch = []
            if held is not None:
                yield from held.settled()
            yield _output_set(record, repeats)
        elif type(record) is RejectedLine:
            if held is not None:
                yield from held.passed(record)
            else:
                yield record
        else:
            raise TypeError(f"a replay given {kind.__name__} records cannot use {record!r}")
    if batch:
        yield from grouped(batch)
    if held is not None:
        yield from held.settled()


def _grouping(group: Sessionizer | Tracker | Grouper) -> tuple[Grouper, Repeats | None]:
    """The function that groups batches, and what compares repeats (for the objects): a
    Tracker's store is asked for the events repeated, when it answers queries."""
    if isinstance(group, Sessionizer):
        return group.feed_each, Repeats(group)
    if isinstance(group, Tracker):
        event_of = getattr(group.store, "event", None)  # a SessionQueries store's
        lookup = None
        if callable(event_of):

            def lookup(scope: str, event_id: str) -> Event | None:
                stored = event_of(event_id, scope)
                return None if stored is None else stored.event

        return group.track_each, Repeats(group, lookup)
    return group, None


def _output_set(record: LogOutput, repeats: Repeats | None) -> OutputSet | RejectedLine:
    follow_up = record.output
    try:
        if repeats is None:
            raise UnknownEventError(follow_up.id, follow_up.scope)
        session_id = repeats.follow_up(follow_up)
    except RefusedEventError as error:
        return RejectedLine(
            record.source, record.line, error.reason, str(error), raw_text(record.raw)
        )
    return OutputSet(record.source, record.line, follow_up.id, follow_up.scope, session_id)


def late_line(
    record: LogEvent | LogOutput | LogFields | KeptFields, newest: datetime, max_lateness: timedelta
) -> RejectedLine:
    """The rejection of an event (or an output sent alone) more than ``max_lateness`` behind
    ``newest``, the newest time seen before it (reason ``late``).

    .. versionadded:: 0.3.0
    """
    event_id, at = _timed(record)
    return RejectedLine(
        record.source,
        record.line,
        "late",
        f"event {event_id!r} at {at.isoformat()} is "
        f"{format_duration(newest - at)} behind the newest event seen, "
        f"more than the maximum lateness of {format_duration(max_lateness)}",
        raw_text(record.raw),
    )


def _timed(record: LogEvent | LogOutput | LogFields | KeptFields) -> tuple[str, datetime]:
    """The id and time of what a record puts in time order: its event (read or as fields),
    or the output sent alone."""
    if type(record) is LogEvent:
        return record.event.id, record.event.at
    if type(record) is LogFields or type(record) is KeptFields:
        return record.fields[0], record.fields[1]
    output = record.output  # type: ignore[union-attr]
    return output.id, output.at


_R = TypeVar("_R", LogRecord, LeanRecord)


def in_time_order(records: Iterable[_R], max_lateness: timedelta) -> Iterator[_R]:
    """The records with events in time order; events too late to reorder become rejections."""
    if not max_lateness:  # strict order, the common case: nothing is ever held
        newest = None
        for record in records:
            kind = type(record)
            if kind is not RejectedLine:
                at = record.event.at if kind is LogEvent else _timed(record)[1]  # type: ignore[union-attr, arg-type]
                if newest is not None and at < newest:
                    yield late_line(record, newest, max_lateness)  # type: ignore[arg-type]
                    continue
                newest = at
            yield record
        return
    buffer: ReorderBuffer[_R] = ReorderBuffer(max_lateness)
    for record in records:
        if type(record) is RejectedLine:
            yield record
            continue
        at = _timed(record)[1]  # type: ignore[arg-type]
        if not buffer.accepts(at):
            assert buffer.newest is not None
            yield late_line(record, buffer.newest, max_lateness)  # type: ignore[arg-type]
            continue
        yield from buffer.push(at, record)
    yield from buffer.flush()


def _grouped(batch: list[LogEvent], group: Grouper, repeats: Repeats | None) -> Iterator[Outcome]:
    outcomes = group([record.event for record in batch])
    remember = repeats.remember if repeats is not None and repeats.keeps else None
    for record, outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, RefusedEventError):
            yield RejectedLine(
                record.source, record.line, outcome.reason, str(outcome), raw_text(record.raw)
            )
        elif not outcome.duplicate:
            if remember is not None:
                remember(record.event)
            yield Replayed(record.source, record.line, outcome)
        elif repeats is None:
            yield Replayed(record.source, record.line, outcome)
        else:
            yield _repeated(record, outcome, repeats)


def _repeated(record: LogEvent, outcome: Assignment, repeats: Repeats) -> Outcome:
    """A duplicate's outcome: a duplicate, an output set, or a conflicting duplicate."""
    event = record.event
    try:
        if repeats.repeated(event, outcome.session_id) is None:
            return Replayed(record.source, record.line, outcome)
    except RefusedEventError as error:  # a conflicting duplicate, or an unstorable output
        return RejectedLine(
            record.source, record.line, error.reason, str(error), raw_text(record.raw)
        )
    return OutputSet(record.source, record.line, event.id, event.scope, outcome.session_id)
