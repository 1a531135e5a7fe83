"""Replaying a log: events put back in time order, grouped, and every line accounted for."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import NamedTuple

from sessionkit._errors import RejectedEventError
from sessionkit._model import Assignment
from sessionkit._sessionizer import Sessionizer
from sessionkit._tracker import Tracker
from sessionkit.replay._durations import format_duration
from sessionkit.replay._readers import LogEvent, RejectedLine, raw_text
from sessionkit.replay._reorder import ReorderBuffer

__all__ = ["Replayed", "replay"]


class Replayed(NamedTuple):
    """A line whose event was grouped (``assignment.duplicate`` tells a duplicate apart)."""

    source: str
    line: int
    assignment: Assignment


def replay(
    records: Iterable[LogEvent | RejectedLine],
    grouper: Sessionizer | Tracker,
    *,
    max_lateness: timedelta = timedelta(0),
    batch_size: int = 1000,
) -> Iterator[Replayed | RejectedLine]:
    """Group the events a :class:`LogReader` yields; yield one outcome per line.

    Events go through a :class:`ReorderBuffer` of ``max_lateness`` (an event further behind the
    newest one seen is rejected as ``late``), then to ``grouper``: a Sessionizer, or a Tracker,
    which records them ``batch_size`` at a time, one transaction per batch. Events the grouper
    refuses become :class:`RejectedLine` values with the refusal's reason (``out_of_order``,
    ``session_closed``, ...). Outcomes come in the order they are decided, not the input's:
    rejected lines at once, events once released and grouped. Consume the iterator to the end:
    the last events are grouped when the input ends.
    """
    buffer: ReorderBuffer[LogEvent] = ReorderBuffer(max_lateness)
    if isinstance(grouper, Tracker):
        group: _Group = _batches(grouper, batch_size)
    else:
        group = _one_by_one(grouper)
    pending: list[LogEvent] = []
    for record in records:
        if type(record) is not LogEvent:
            yield record  # type: ignore[misc]
            continue
        at = record.event.at
        if not buffer.accepts(at):
            yield RejectedLine(
                record.source,
                record.line,
                "late",
                f"event {record.event.id!r} at {at.isoformat()} is "
                f"{format_duration(buffer.lateness(at))} behind the newest event seen, "
                f"more than the maximum lateness of {format_duration(max_lateness)}",
                raw_text(record.raw),
            )
            continue
        pending.extend(buffer.push(at, record))
        if len(pending) >= batch_size:
            yield from group(pending)
            pending = []
    pending.extend(buffer.flush())
    if pending:
        yield from group(pending)


_Group = Callable[[list[LogEvent]], Iterator["Replayed | RejectedLine"]]


def _rejected(record: LogEvent, error: Exception, reason: str) -> RejectedLine:
    return RejectedLine(record.source, record.line, reason, str(error), raw_text(record.raw))


def _one_by_one(sessionizer: Sessionizer) -> _Group:
    feed = sessionizer.feed

    def group(records: list[LogEvent]) -> Iterator[Replayed | RejectedLine]:
        for record in records:
            try:
                assignment = feed(record.event)
            except RejectedEventError as error:
                yield _rejected(record, error, error.reason)
                continue
            yield Replayed(record.source, record.line, assignment)

    return group


def _batches(tracker: Tracker, batch_size: int) -> _Group:
    def group(records: list[LogEvent]) -> Iterator[Replayed | RejectedLine]:
        for start in range(0, len(records), batch_size):
            chunk = records[start : start + batch_size]
            outcomes = tracker.track_each(record.event for record in chunk)
            for record, outcome in zip(chunk, outcomes, strict=True):
                if isinstance(outcome, Assignment):
                    yield Replayed(record.source, record.line, outcome)
                else:
                    yield _rejected(record, outcome, outcome.reason)

    return group
