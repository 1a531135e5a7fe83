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
    _output_set,
    _repeated,
    in_time_order,
    late_line,
)

__all__ = ["Placed", "replay_lean"]

#: An accepted event's outcome from :func:`replay_lean`: source, line, event id, scope, and
#: the fields of its :class:`~sessionkit.Assignment` after the event (session id, rule,
#: explicit, started, header, duplicate, thread parent id, sessions closed). A plain tuple: one
#: is made per line.
Placed = tuple[str, int, str, str, Placement]


def replay_lean(
    records: Iterable[LeanRecord], sessionizer: Sessionizer, *, max_lateness: timedelta
) -> Iterator[Placed | Outcome]:
    """Group the events of :meth:`LogReader.lean_records` into ``sessionizer``; yield one
    outcome per line, as :func:`replay_records` does given the Sessionizer and
    ``batch_size=1``: a :data:`Placed` tuple for an accepted event, else the same outcome
    object (a duplicate's :class:`Replayed`, an :class:`OutputSet`, a :class:`RejectedLine`).

    .. versionadded:: 0.3.0
    """
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
            event = read.event()
            yield _repeated(
                LogEvent(read.source, read.line, event, read.raw),
                Assignment._make((event, *placed)),
                repeats,
            )
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
    """The rejection of a refused event: its Event fed, to raise the error that names it
    (a refusal changes nothing, so this is the decision the door made)."""
    try:
        sessionizer.feed(record.event())
    except RefusedEventError as error:
        return RejectedLine(
            record.source, record.line, error.reason, str(error), raw_text(record.raw)
        )
    raise AssertionError(f"the door refused line {record.line} of {record.source}, feed did not")
