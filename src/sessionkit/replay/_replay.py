"""Replaying a log: events put back in time order, grouped, and every line accounted for."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from sessionkit import Assignment, Event, RefusedEventError
from sessionkit.replay._durations import format_duration
from sessionkit.replay._readers import LogEvent, RejectedLine, raw_text
from sessionkit.replay._reorder import ReorderBuffer

__all__ = ["Grouper", "Replayed", "in_time_order", "late_line", "replay_records"]

#: What groups a batch of events: for each, its assignment or the refusal. Pass
#: ``Sessionizer.feed_each`` (groups in memory) or ``Tracker.track_each`` (also records each
#: batch in one transaction of a store).
Grouper = Callable[[Sequence[Event]], Sequence["Assignment | RefusedEventError"]]


class Replayed(NamedTuple):
    """A line whose event was grouped (``assignment.duplicate`` tells a duplicate apart)."""

    source: str
    line: int
    assignment: Assignment


def replay_records(
    records: Iterable[LogEvent | RejectedLine],
    group: Grouper,
    *,
    max_lateness: timedelta = timedelta(0),
    batch_size: int = 1000,
) -> Iterator[Replayed | RejectedLine]:
    """Group the events a :class:`LogReader` yields; yield one outcome per line.

    Events go through a :class:`ReorderBuffer` of ``max_lateness`` (an event further behind the
    newest one seen is rejected as ``late``), then to ``group`` ``batch_size`` at a time:
    ``sessionizer.feed_each``, or ``tracker.track_each``, which records each batch in one
    transaction. Events that are refused become :class:`RejectedLine` values with the refusal's
    reason (``out_of_order``, ``session_closed``, ...). Outcomes come in the order they are
    decided, not the input's: rejected lines at once, events once released and grouped. Consume
    the iterator to the end: the last events are grouped when the input ends.

    .. versionchanged:: 0.2.0
       Renamed from ``replay`` (which shadowed the package); takes the grouping function.
    """
    batch: list[LogEvent] = []
    for record in in_time_order(records, max_lateness):
        if type(record) is not LogEvent:
            yield record  # type: ignore[misc]
            continue
        batch.append(record)
        if len(batch) >= batch_size:
            yield from _grouped(batch, group)
            batch = []
    if batch:
        yield from _grouped(batch, group)


def late_line(record: LogEvent, newest: datetime, max_lateness: timedelta) -> RejectedLine:
    """The rejection of an event more than ``max_lateness`` behind ``newest``, the newest
    event seen before it (reason ``late``).

    .. versionadded:: 0.3.0
    """
    at = record.event.at
    return RejectedLine(
        record.source,
        record.line,
        "late",
        f"event {record.event.id!r} at {at.isoformat()} is "
        f"{format_duration(newest - at)} behind the newest event seen, "
        f"more than the maximum lateness of {format_duration(max_lateness)}",
        raw_text(record.raw),
    )


def in_time_order(
    records: Iterable[LogEvent | RejectedLine], max_lateness: timedelta
) -> Iterator[LogEvent | RejectedLine]:
    """The records with events in time order; events too late to reorder become rejections."""
    if not max_lateness:  # strict order, the common case: nothing is ever held
        newest = None
        for record in records:
            if type(record) is LogEvent:
                at = record.event.at
                if newest is not None and at < newest:
                    yield late_line(record, newest, max_lateness)
                    continue
                newest = at
            yield record
        return
    buffer: ReorderBuffer[LogEvent] = ReorderBuffer(max_lateness)
    for record in records:
        if type(record) is not LogEvent:
            yield record
            continue
        at = record.event.at
        if not buffer.accepts(at):
            assert buffer.newest is not None
            yield late_line(record, buffer.newest, max_lateness)
            continue
        yield from buffer.push(at, record)
    yield from buffer.flush()


def _grouped(batch: list[LogEvent], group: Grouper) -> Iterator[Replayed | RejectedLine]:
    outcomes = group([record.event for record in batch])
    for record, outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, RefusedEventError):
            yield RejectedLine(
                record.source, record.line, outcome.reason, str(outcome), raw_text(record.raw)
            )
        else:
            yield Replayed(record.source, record.line, outcome)
