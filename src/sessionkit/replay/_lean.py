"""The lean replay: what :func:`replay_records` does with a Sessionizer, from each line's fields.

``sessionkit replay`` without a store runs this. An event's fields go from the reader
(:meth:`LogReader.lean_records`) through the Sessionizer's field-level door to the outcome:
no :class:`~sessionkit.Event` or :class:`~sessionkit.Assignment` is built for the line, and
those were most of a replay's cost. Anything unusual — a refusal, a repeated id — builds the
Event and takes :func:`replay_records`'s own steps, so every outcome, reason and detail is the
same (``tests/test_lean.py`` compares the two on every kind of line).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta

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
from sessionkit.replay._repeats import Repeats, fingerprint_of
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
    rows from them). :class:`KeptFields`, read in another process, carry only what the
    grouping reads: a Sessionizer takes them, a Tracker does not (:class:`TypeError`).

    .. versionadded:: 0.3.0
    """
    if isinstance(group, Tracker):
        _, repeats = _grouping(group)
        return in_batches(
            records, max_lateness, batch_size, LogFields,
            lambda batch: _recorded(batch, group, repeats), repeats,
        )  # fmt: skip
    return _placed(records, group, max_lateness)


def _recorded(
    batch: list[LogFields], tracker: Tracker, repeats: Repeats | None
) -> Iterator[Placed | Outcome]:
    """The outcomes of a batch of events recorded through the Tracker's field-level door."""
    assert repeats is not None  # a Tracker's
    results = tracker._track_fields([record.fields for record in batch])
    for record, placed in zip(batch, results, strict=True):
        if isinstance(placed, RefusedEventError):
            yield RejectedLine(
                record.source, record.line, placed.reason, str(placed), raw_text(record.raw)
            )
        elif placed[5]:  # a duplicate: compared with what the event said
            yield _duplicate(record, placed, repeats)
        else:
            yield record.source, record.line, record.fields[0], record.fields[7], placed


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
    repeats = Repeats(sessionizer.session_of)
    place, keep = sessionizer._place, repeats.keep
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
        placed: Placement | None = place(  # type: ignore[assignment] # without an Event
            None, event_id, at, scope, initiator, user_id, session_id, parent_id, ends
        )
        if placed is None:  # refused: nothing changed
            yield _refusal(read, sessionizer)
            continue
        if placed[5]:  # a duplicate: compared with what the event said
            yield _duplicate(read, placed, repeats)
            continue
        if kind is KeptFields:  # read in another process, which made the fingerprint
            kept = read.kept  # type: ignore[union-attr]
        else:
            kept = fingerprint_of(
                initiator, target, user_id, session_id, parent_id, ends, fields[9], fields[10]
            )
        keep(scope, placed[0], event_id, kept)
        yield read.source, read.line, event_id, scope, placed


def _refusal(record: LogFields | KeptFields, sessionizer: Sessionizer) -> RejectedLine:
    """The rejection of an event the door refused, with the error that names it."""
    error = sessionizer._refusal(record.event())
    return RejectedLine(record.source, record.line, error.reason, str(error), raw_text(record.raw))
