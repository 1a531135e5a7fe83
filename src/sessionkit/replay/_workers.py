"""Reading a log in a second process: :meth:`LogReader.lean_records`, decoded elsewhere.

A replay spends about 40 % of its time reading, decoding and mapping lines. With
:func:`read_apart` that work runs in a child process while this one groups: the child sends,
a thousand records at a time as ``marshal`` data, what the grouping reads of each event (its
ids, time as the bytes pickle keeps of it, scope, initiator, session end), the fingerprint a
repeat is compared on, and the line itself — events that follow one another as a block of
columns, which this process turns into records with ``map`` and ``zip``, running no Python
code per event; this process maps a line again only where the whole Event is needed (a
refusal, a repeat). Outputs sent alone and rejected lines come whole. The grouping stays in
one process, in order, so every outcome is the one process's outcome
(``tests/test_workers.py`` compares them).

The child is forked: it inherits the reader as it was set up, and the hash seed that
fingerprints are made with. So this runs where ``fork`` is a start method (Linux, and macOS:
:func:`why_not_apart`), for logs of JSON records (not CSV: a CSV line is not mapped alone).
"""

from __future__ import annotations

import json
import marshal
import multiprocessing
import sys
import traceback
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import suppress
from datetime import datetime, timedelta, timezone
from functools import partial
from itertools import repeat
from multiprocessing.connection import Connection
from operator import is_
from typing import Any, cast

from sessionkit import Event, Participant, ParticipantKind
from sessionkit.replay._layout import EventMapper, RecordMapper
from sessionkit.replay._readers import (
    KeptFields,
    LeanRecord,
    LogFields,
    LogOutput,
    LogReader,
    RejectedLine,
)
from sessionkit.replay._repeats import OutputFollowUp, fields_fingerprint
from sessionkit.replay._sources import is_csv

__all__ = ["read_apart", "why_not_apart"]

#: Records a message holds.
CHUNK = 1000

_EVENTS, _OUTPUT, _REJECTED = 0, 1, 2


def why_not_apart(reader: LogReader) -> str | None:
    """Why :func:`read_apart` cannot read ``reader`` in a child process (``None``: it can).

    .. versionadded:: 0.3.0
    """
    if not isinstance(reader.mapper, EventMapper):
        return "a mapper of your own is called in one process"
    if reader.format == "csv" or (reader.format is None and any(map(is_csv, reader.paths))):
        return "CSV is read in one process"
    if "fork" not in multiprocessing.get_all_start_methods():
        return "no fork start method here"
    return None


def read_apart(reader: LogReader) -> Generator[LeanRecord, None, None]:
    """``reader.lean_records()``, read, decoded and mapped in a child process (where
    :func:`why_not_apart` says it can be: else :class:`ValueError`).

    What the records say is the same, in the same order; an event comes as a
    :class:`KeptFields`. ``reader.lines_read`` and ``reader.bytes_read`` follow the child's.
    An error in the child is raised here (:class:`RuntimeError` with its traceback). Close
    the iterator (or read it to its end) to end the child.

    .. versionadded:: 0.3.0
    """
    why_not = why_not_apart(reader)
    if why_not is not None:
        raise ValueError(f"the log cannot be read apart: {why_not}")
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    _widen(sending)
    sys.stdout.flush()  # the child flushes the standard streams it inherits when it ends
    sys.stderr.flush()
    child = context.Process(target=_read, args=(reader, sending, receiving), daemon=True)
    child.start()
    sending.close()
    ended = False
    try:
        yield from _received(reader, receiving)
        ended = True
    finally:
        receiving.close()
        if not ended:  # closed early, or failed: the child may be waiting to send
            child.terminate()
        child.join()


def _widen(pipe: Connection) -> None:
    """Let the pipe hold two messages (1 MiB, as much as Linux lets any process ask for): the
    child sends the next while this process groups, instead of waiting until it reads (about
    a tenth faster). Where that cannot be asked, the pipe stays as it is."""
    import fcntl  # this runs where fork does: POSIX

    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux
    if set_size is not None:
        with suppress(OSError):
            fcntl.fcntl(pipe.fileno(), set_size, _PIPE_BYTES)


#: The size asked for the pipe (the most ``/proc/sys/fs/pipe-max-size`` allows by default).
_PIPE_BYTES = 1 << 20


def _received(reader: LogReader, receiving: Connection) -> Iterator[LeanRecord]:
    participants: dict[tuple[str, str], Participant] = {}
    zones: dict[int | None, timezone] = {None: timezone.utc}
    remap = partial(_remap, reader.mapper)
    while True:
        kind, body, lines_read, bytes_read = marshal.loads(receiving.recv_bytes())
        reader.lines_read = lines_read
        reader._done_bytes = bytes_read  # progress follows the child
        if kind == "error":
            raise RuntimeError(f"reading the log failed in the child process:\n{body}")
        for item in body:
            tag = item[0]
            if tag == _EVENTS:
                yield from _events(item, participants, zones, remap)
            elif tag == _OUTPUT:
                _, source, line, raw, (event_id, state, offset, output, scope) = item
                zone = zones.get(offset) or _zone(zones, offset)
                at = _from_state(state, zone)
                follow_up = OutputFollowUp(event_id, at, output, scope)
                yield LogOutput(source, line, follow_up, raw)
            else:
                yield RejectedLine(*item[1:])
        if kind == "end":
            return


def _events(
    block: tuple[Any, ...],
    participants: dict[tuple[str, str], Participant],
    zones: dict[int | None, timezone],
    remap: Callable[[bytes | str, str, int], Event],
) -> Iterator[KeptFields]:
    """The events of a block (:func:`_block`) as :class:`KeptFields`, made column by column
    by ``map`` and ``zip``: no Python code runs per event (a third less time than a loop)."""
    (
        _, source, lines, raws, ids, states, kept, offsets, scopes, kinds, names, users,
        sessions, parents, ends,
    ) = block  # fmt: skip
    if offsets.count(None) == len(offsets):  # all in UTC: the common case
        in_zones: Iterable[timezone] = repeat(timezone.utc)
    else:
        in_zones = [zones.get(offset) or _zone(zones, offset) for offset in offsets]
    initiators = list(map(participants.get, zip(kinds, names, strict=True)))
    if any(map(is_, initiators, repeat(None))):  # (``in`` would call Participant.__eq__)
        initiators = [
            _participant(participants, kind, name) if initiator is None else initiator
            for initiator, kind, name in zip(initiators, kinds, names, strict=True)
        ]
    fields = zip(
        ids, map(_from_state, states, in_zones), initiators, repeat(None), users, sessions,
        parents, scopes, ends,
    )  # fmt: skip
    # a named tuple's own __new__ is a Python function: made as tuple.__new__ makes them
    return map(
        tuple.__new__,
        repeat(KeptFields),
        zip(repeat(source), lines, fields, raws, kept, repeat(remap)),
    )


def _participant(
    participants: dict[tuple[str, str], Participant], kind: str, name: str
) -> Participant:
    """The initiator of this kind and name, kept in ``participants``."""
    found = participants[(kind, name)] = Participant(ParticipantKind(kind), name)
    return found


def _zone(zones: dict[int | None, timezone], offset: int | None) -> timezone:
    """The fixed-offset zone of ``offset`` microseconds (see :func:`_time`), kept in ``zones``."""
    zone = zones[offset] = timezone(timedelta(microseconds=offset or 0))
    return zone


def _remap(mapper: RecordMapper, raw: bytes | str, source: str, line: int) -> Event:
    """The Event of a line the child read (JSON: a JSON Lines line, or the text of a record
    of a JSON document), mapped again as the child did."""
    assert isinstance(mapper, EventMapper)
    fields = mapper.fields(json.loads(raw), source, line)
    assert not isinstance(fields, OutputFollowUp)
    return Event.from_fields(fields)


def _read(reader: LogReader, sending: Connection, parents: Connection) -> None:
    """The child: every record, as plain data, :data:`CHUNK` to a message; then the counts.
    Events that follow one another (from one source) go as a block of columns
    (:func:`_block`), anything else as a record of its own (:func:`_plain`). The parent's
    end, inherited, is closed here: if the parent dies, sending fails."""
    parents.close()
    try:
        chunk: list[tuple[Any, ...]] = []
        rows: list[tuple[Any, ...]] = []  # the events of the block being made
        source: str | None = None
        count = 0
        for record in reader.lean_records():
            if type(record) is LogFields:
                if record.source != source:
                    _block(chunk, rows, source)
                    source = record.source
                rows.append(_row(record))
            else:
                _block(chunk, rows, source)
                chunk.append(_plain(record))
            count += 1
            if count >= CHUNK:
                _block(chunk, rows, source)
                sending.send_bytes(
                    marshal.dumps(("records", chunk, reader.lines_read, reader.bytes_read))
                )
                chunk, count = [], 0
        _block(chunk, rows, source)
        sending.send_bytes(marshal.dumps(("end", chunk, reader.lines_read, reader.bytes_read)))
    except BaseException:
        text = traceback.format_exc()
        sending.send_bytes(marshal.dumps(("error", text, reader.lines_read, reader.bytes_read)))
    finally:
        sending.close()


def _block(chunk: list[tuple[Any, ...]], rows: list[tuple[Any, ...]], source: str | None) -> None:
    """Put the events of ``rows`` (:func:`_row`), if any, in ``chunk`` as one block: their
    source, then a tuple per column (``zip`` turns the rows round in C); empty ``rows``."""
    if rows:
        chunk.append((_EVENTS, source, *zip(*rows, strict=True)))
        rows.clear()


def _time(at: datetime) -> tuple[bytes, int | None]:
    """A time as ``marshal`` data: the bytes ``pickle`` keeps of it (``datetime(state, tz)``
    makes it again, eight times faster than ``isoformat`` and ``fromisoformat``), and its UTC
    offset in microseconds (``None`` for UTC). The time comes back at that fixed offset, as
    the time parser gives every time (and as the Sessionizer takes one of a zone with rules)."""
    state: bytes = cast(tuple[Any, tuple[bytes, ...]], at.__reduce__())[1][0]
    if at.tzinfo is timezone.utc:
        return state, None
    offset = at.utcoffset()
    assert offset is not None  # a replay's times are aware
    return state, offset // _MICROSECOND


_MICROSECOND = timedelta(microseconds=1)
#: ``datetime(state, tz)``: the time :func:`_time` gave the state of (as pickle makes it).
_from_state = cast(Callable[[bytes, timezone], datetime], datetime)


def _row(record: LogFields) -> tuple[Any, ...]:
    """An event as data ``marshal`` writes, flat (a row of its block, :func:`_block`): the
    grouping's fields, the initiator as its kind and name, the time as :func:`_time` gives
    it, the fingerprint, and the line (mapped again only for a refusal or a repeat)."""
    f = record.fields
    initiator = f[2]
    state, offset = _time(f[1])
    return (
        record.line, record.raw, f[0], state, fields_fingerprint(f), offset, f[7],
        initiator.kind._value_, initiator.id, f[4], f[5], f[6], f[8],
    )  # fmt: skip


def _plain(record: LeanRecord) -> tuple[Any, ...]:
    """An output sent alone or a rejected line as data ``marshal`` writes."""
    if type(record) is LogOutput:
        o = record.output
        return (
            _OUTPUT,
            record.source,
            record.line,
            record.raw,
            (o.id, *_time(o.at), o.output, o.scope),
        )
    assert type(record) is RejectedLine
    return (_REJECTED, record.source, record.line, record.reason, record.detail, record.raw)
