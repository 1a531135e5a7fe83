"""The lean replay: what :func:`replay_records` does with a Sessionizer, from each line's fields.

``sessionkit replay`` without a store runs this. An event's fields go from the reader
(:meth:`LogReader.lean_records`) through the Sessionizer's field-level door to the outcome:
no :class:`~sessionkit.Event` or :class:`~sessionkit.Assignment` is built for the line, and
those were most of a replay's cost. Anything unusual — a refusal, a repeated id — builds the
Event and takes :func:`replay_records`'s own steps, so every outcome, reason and detail is the
same (``tests/test_lean.py`` compares the two on every kind of line).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from datetime import timedelta
from typing import Any

from sessionkit import Assignment, Placement, RefusedEventError, Sessionizer
from sessionkit.replay._readers import (
    KeptFields,
    LeanRecord,
    LogEvent,
    LogFields,
    LogOutput,
    RejectedLine,
    raw_text,
)
from sessionkit.replay._repeats import Repeats, fields_fingerprint, fingerprint_of
from sessionkit.replay._replay import (
    Outcome,
    _grouping,
    _output_set,
    _repeated,
    in_batches,
    in_time_order,
    late_line,
)
from sessionkit.storage import Tracker

__all__ = ["Placed", "replay_lean"]

#: An accepted event's outcome from :func:`replay_lean`: source, line, event id, scope, and
#: the fields of its :class:`~sessionkit.Assignment` after the event (session id, rule,
#: explicit, started, header, duplicate, thread parent id, sessions closed). A plain tuple: one
#: is made per line.
Placed = tuple[str, int, str, str, Placement]


def replay_lean(
    records: Iterable[LeanRecord],
    group: Sessionizer | Tracker,
    *,
    max_lateness: timedelta,
    batch_size: int = 1000,
) -> Iterator[Placed | Outcome]:
    """Group the events of :meth:`LogReader.lean_records` into ``group``; yield one outcome
    per line, as :func:`replay_records` does given the same ``group``: a :data:`Placed` tuple
    for an accepted event, else the same outcome object (a duplicate's :class:`Replayed`, an
    :class:`OutputSet`, a :class:`RejectedLine`).

    A :class:`~sessionkit.Sessionizer` groups each event as it comes (as ``batch_size=1``
    would). A :class:`~sessionkit.storage.Tracker` records ``batch_size`` events at a time, in
    one transaction each, as their fields (a store whose ``records_placed`` is true builds its
    rows from them), each while the next is decided where the store offers ``record_later``;
    meanwhile nothing else should track events through that Tracker. :class:`KeptFields`,
    read in another process, carry only what the grouping reads: a Sessionizer takes them, a
    Tracker does not (:class:`TypeError`).

    .. versionadded:: 0.3.0
    """
    if isinstance(group, Tracker):
        return _into_store(records, group, max_lateness, batch_size)
    return _placed(records, group, max_lateness)


def _into_store(
    records: Iterable[LeanRecord], tracker: Tracker, max_lateness: timedelta, batch_size: int
) -> Iterator[Placed | Outcome]:
    """The lean replay into a Tracker's store, each batch recorded while the next is decided
    where the store can (:class:`_Recorder`)."""
    _, repeats = _grouping(tracker)
    assert repeats is not None  # a Tracker's
    recorder = _Recorder(tracker, repeats, batch_size)
    try:
        yield from in_batches(
            records, max_lateness, batch_size, LogFields, recorder.grouped, repeats, recorder
        )
    except BaseException:  # an error, or the outcomes no longer wanted (GeneratorExit)
        recorder.stop()
        raise


class _Recorder:
    """Records a replay's batches through the Tracker's field-level door: the store records
    one (in a process of its own, where it can: ``record_later``) while the next is decided.
    A batch's outcomes are given once it is recorded, so nothing is reported that the store
    does not hold, and the lines rejected meanwhile after them, so outcomes come in the order
    of recording each batch at once. A batch with a duplicate is settled before the next is
    decided, as comparing a repeat reads and writes the store. If recording fails, the
    Tracker goes back to what the store holds (forgetting the batch decided meanwhile) and
    the error is raised."""

    def __init__(self, tracker: Tracker, repeats: Repeats, batch_size: int) -> None:
        self._tracker = tracker
        self._repeats = repeats
        self._most_rejected = batch_size  # lines held back at most (memory stays flat)
        #: the batch being recorded: its lines, decisions, number, and what waits for it
        self._held: tuple[list[LogFields], list[Any], int, Callable[[], None]] | None = None
        self._rejected: list[RejectedLine] = []  # lines rejected while a batch is held

    def grouped(self, batch: list[LogFields]) -> Iterator[Placed | Outcome]:
        """Decide a batch, give the outcomes of the one before, and record this one."""
        tracker = self._tracker
        results, record, number = tracker._place_fields([r.fields for r in batch])
        yield from self.settled()
        try:
            wait = tracker._record_later(record)
        except BaseException:
            tracker._resync()
            raise
        self._held = (batch, results, number, wait)
        if any(type(r) is tuple and r[5] for r in results):  # a duplicate
            yield from self.settled()

    def passed(self, line: RejectedLine) -> Iterator[Placed | Outcome]:
        """A rejected line: at once, or after the outcomes of the batch being recorded."""
        if self._held is None:
            yield line
            return
        self._rejected.append(line)
        if len(self._rejected) >= self._most_rejected:
            yield from self.settled()

    def settled(self) -> Iterator[Placed | Outcome]:
        """The outcomes of the batch being recorded, once it is, and the lines held after it."""
        if self._held is None:
            return
        batch, results, number, wait = self._held
        self._held = None
        try:
            wait()
        except BaseException:
            self._tracker._resync()
            raise
        self._tracker._committed(number)
        yield from _outcomes(batch, results, self._repeats)
        rejected, self._rejected = self._rejected, []
        yield from rejected

    def stop(self) -> None:
        """Stopped before the end: wait for the store, and forget what it did not record (a
        batch may be decided and not yet handed to the store)."""
        held, self._held = self._held, None
        if held is not None:
            with suppress(Exception):  # the replay is ending with an error of its own
                held[3]()
        self._tracker._resync()


def _outcomes(
    batch: list[LogFields], results: list[Any], repeats: Repeats
) -> Iterator[Placed | Outcome]:
    """The outcomes of a recorded batch of events (keeping their fingerprints where the
    store is not asked for the events repeated)."""
    keeps = repeats.keeps
    for record, placed in zip(batch, results, strict=True):
        if isinstance(placed, RefusedEventError):
            yield RejectedLine(
                record.source, record.line, placed.reason, str(placed), raw_text(record.raw)
            )
        elif placed[5]:  # a duplicate: compared with what the event said
            yield _duplicate(record, placed, repeats)
        else:
            fields = record.fields
            if keeps:
                repeats.keep(fields[0], fields[7], fields_fingerprint(fields))
            yield record.source, record.line, fields[0], fields[7], placed


def _duplicate(record: LogFields | KeptFields, placed: Placement, repeats: Repeats) -> Outcome:
    """A duplicate's outcome, from its Event: a duplicate, an output set, or a conflict."""
    event = record.event()
    return _repeated(
        LogEvent(record.source, record.line, event, record.raw),
        Assignment._make((event, *placed)),
        repeats,
    )


def _placed(
    records: Iterable[LeanRecord], sessionizer: Sessionizer, max_lateness: timedelta
) -> Iterator[Placed | Outcome]:
    """The lean replay into a Sessionizer: each event placed as it comes."""
    repeats = Repeats(sessionizer)
    place = sessionizer._place  # keeps each accepted event's fingerprint with it
    # In strict order (the common case) lateness is checked here, sparing a generator a line.
    strict = not max_lateness
    newest = None
    for record in records if strict else in_time_order(records, max_lateness):
        kind = type(record)
        if kind is RejectedLine:
            yield record  # type: ignore[misc]
            continue
        if strict:  # an event, or an output sent alone, put in time order
            when = record.output.at if kind is LogOutput else record.fields[1]  # type: ignore[union-attr]
            if newest is not None and when < newest:
                yield late_line(record, newest, max_lateness)  # type: ignore[arg-type]
                continue
            newest = when
        if kind is LogOutput:
            yield _output_set(record, repeats)  # type: ignore[arg-type]
            continue
        read: LogFields | KeptFields = record  # type: ignore[assignment]
        fields = read.fields
        event_id, at, initiator, target, user_id, session_id, parent_id, scope, ends = fields[:9]
        if kind is KeptFields:  # read in another process, which made the fingerprint
            kept = read.kept  # type: ignore[union-attr]
        else:
            kept = fingerprint_of(
                initiator, target, user_id, session_id, parent_id, ends, fields[9], fields[10]
            )
        placed: Placement | None = place(  # type: ignore[assignment] # without an Event
            None, event_id, at, scope, initiator, user_id, session_id, parent_id, ends, kept
        )
        if placed is None:  # refused: nothing changed
            yield _refusal(read, sessionizer)
            continue
        if placed[5]:  # a duplicate: compared with what the event said
            yield _duplicate(read, placed, repeats)
            continue
        yield read.source, read.line, event_id, scope, placed


def _refusal(record: LogFields | KeptFields, sessionizer: Sessionizer) -> RejectedLine:
    """The rejection of an event the door refused, with the error that names it."""
    error = sessionizer._refusal(record.event())
    return RejectedLine(record.source, record.line, error.reason, str(error), raw_text(record.raw))
