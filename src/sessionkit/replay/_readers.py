"""Reading logs: JSON Lines and CSV records, one event or one rejected line per input line.

A reader streams: it holds one line at a time, whatever the size of the file. Every non-empty
line (every CSV record after the header) comes out exactly once, as a :class:`LogEvent`, a
:class:`LogOutput` or a :class:`RejectedLine` with a reason; ``lines_read`` counts them
independently.
"""

from __future__ import annotations

import csv
import gzip
import json
import lzma
import os
import sys
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from functools import partial
from typing import Any, BinaryIO, NamedTuple

import attrs

from sessionkit import Event, EventFields, InvalidEventError, LogLineError
from sessionkit.replay._compiled import FieldsOf, TypedFieldsOf, compile_fields, compile_typed
from sessionkit.replay._documents import array_elements, looks_like, otlp_requests, spans_of
from sessionkit.replay._layout import EventMapper, LogLayout, RecordMapper
from sessionkit.replay._repeats import OutputFollowUp
from sessionkit.replay._sources import STDIN, LogFile, is_csv, open_log
from sessionkit.replay._timestamps import TimestampParser

__all__ = ["FORMATS", "LogEvent", "LogOutput", "LogReader", "LogRecord", "RejectedLine"]

#: The log formats a reader understands: JSON Lines, CSV, a JSON array of records, and
#: OpenTelemetry's OTLP JSON (export requests, one document or JSON Lines of them).
FORMATS = ("jsonl", "csv", "json", "otlp")

#: A UTF-8 byte order mark, skipped at the start of a file.
_BOM = b"\xef\xbb\xbf"

#: The default bounds of a line: its length in bytes, and how deeply its record may nest.
MAX_LINE_BYTES = 8 * 2**20
MAX_DEPTH = 64


def fast_decoder() -> Callable[[bytes], Any] | None:
    """``msgspec``'s JSON decoder (the ``sessionkit[fast]`` extra), or ``None`` when it is not
    installed. It accepts only what ``json.loads`` accepts, giving equal values; whatever it
    refuses is read again by ``json.loads``, so a rejected line keeps its reason and detail."""
    try:
        import msgspec
    except ImportError:
        return None
    return msgspec.json.Decoder().decode


#: A line not decoded yet.
_UNREAD = object()


#: A line at least this long may hold a number ``json`` refuses to read (more digits than
#: ``sys.get_int_max_str_digits()``): the typed reading leaves it to the path of dicts.
_DIGITS = getattr(sys, "get_int_max_str_digits", lambda: 0)() or MAX_LINE_BYTES * 1024


def _brackets(raw: bytes) -> int:
    """How many objects and arrays a line opens: as deep as it can nest. (A byte given as an
    int is looked for with ``memchr``, several times faster than ``count``: most lines open no
    array, and are counted once.)"""
    if _ARRAY in raw:
        return raw.count(_OBJECT) + raw.count(_ARRAY)
    return raw.count(_OBJECT)


_OBJECT, _ARRAY = ord("{"), ord("[")


def _utf8(raw: bytes) -> bool:
    """Whether ``raw`` is UTF-8 (what the typed reading does not check in the fields it skips)."""
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


def _as_event(
    fields_of: FieldsOf, record: dict[str, Any], source: str, line: int
) -> Event | OutputFollowUp:
    """A record's Event (or output sent alone), from what maps it to fields."""
    fields = fields_of(record, source, line)
    return fields if type(fields) is OutputFollowUp else Event.from_fields(fields)  # type: ignore[arg-type]


def _typed_event(typed: TypedFieldsOf, raw: bytes, source: str, line: int) -> Event | None:
    """A line's Event, read typed (``None``: the path of dicts reads it)."""
    fields = typed(raw, source, line)
    return None if fields is None else Event.from_fields(fields)


#: What a compressed stream raises when it is cut short or corrupt.
_BROKEN_STREAM = (EOFError, gzip.BadGzipFile, zlib.error, lzma.LZMAError, OSError)


class LogEvent(NamedTuple):
    """An event read from a log: where it came from (``source``, 1-based ``line``), the event,
    and the line as read (``raw``: bytes for JSON Lines, text for CSV).

    A named tuple: one is made per line.
    """

    source: str
    line: int
    event: Event
    raw: bytes | str


class LogOutput(NamedTuple):
    """An output sent alone after its event, read from a log (an :class:`OutputFollowUp`),
    with where it came from and the line as read.

    .. versionadded:: 0.3.0
    """

    source: str
    line: int
    output: OutputFollowUp
    raw: bytes | str


@attrs.frozen
class RejectedLine:
    """An input line that did not become a grouped event.

    ``reason`` is a stable code (listed in ``docs/replay.md``), ``detail`` says what exactly was
    wrong, and ``raw`` is the line as read (bytes that are not UTF-8 are kept as lone surrogates,
    so ``raw.encode("utf-8", "surrogateescape")`` gives the original bytes back).
    """

    source: str
    line: int
    reason: str
    detail: str
    raw: str

    def to_json(self) -> dict[str, Any]:
        """The rejects-file record of this line."""
        return {
            "source": self.source,
            "line": self.line,
            "reason": self.reason,
            "detail": self.detail,
            "raw": self.raw,
        }


#: What a reader yields for each line.
LogRecord = LogEvent | LogOutput | RejectedLine


class LogFields(NamedTuple):
    """An event read from a log as its fields (:data:`EventFields`), not yet an Event: what
    :meth:`LogReader.lean_records` gives instead of a :class:`LogEvent`."""

    source: str
    line: int
    fields: EventFields
    raw: bytes | str

    def event(self) -> Event:
        """The Event these fields make (what the reader's mapper returns for the line)."""
        return Event.from_fields(self.fields)


class KeptFields(NamedTuple):
    """An event read in another process (``replay --workers``): the fields the grouping reads
    (id, at, initiator, ``None``, user id, session id, parent id, scope, ends_session), the
    :data:`~sessionkit.replay._repeats.Fingerprint` of what a repeat is compared on, and the
    line, mapped again by ``remap`` where the whole Event is needed (a refusal, a repeat)."""

    source: str
    line: int
    fields: tuple[Any, ...]
    raw: bytes | str
    kept: bytes
    remap: Callable[[bytes | str, str, int], Event]

    def event(self) -> Event:
        """The Event of the line (what :meth:`LogFields.event` gives in one process)."""
        return self.remap(self.raw, self.source, self.line)


#: What :meth:`LogReader.lean_records` yields for each line (and, for an event read in
#: another process, a :class:`KeptFields`).
LeanRecord = LogFields | KeptFields | LogOutput | RejectedLine


def raw_text(raw: bytes | str) -> str:
    """A line as text, without its line ending; undecodable bytes kept as lone surrogates."""
    text = raw if isinstance(raw, str) else raw.decode("utf-8", "surrogateescape")
    return text.rstrip("\r\n")


class LogReader:
    """Reads one or more logs in order and yields a :class:`LogEvent`, a :class:`LogOutput`
    (an output sent alone) or a :class:`RejectedLine` for every non-empty line.

    * ``paths``: files (plain or gzip, detected from the content), or ``-`` for ``stdin``
      (a binary stream, standard input by default), named ``stdin_name`` in rejects and
      derived ids (``<stdin>`` by default).
    * ``format``: ``"jsonl"`` or ``"csv"``; by default each path's suffix decides (``.csv`` and
      ``.csv.gz`` are CSV, anything else JSON Lines).
    * ``layout`` and ``timestamps``: how records become events (:class:`LogLayout`,
      :class:`TimestampParser`); or ``mapper``, a function of your own that does it.
    * ``max_line_bytes``: a JSON Lines line longer than this (8 MiB by default, its line ending
      included) is rejected as ``line_too_long``, read in pieces and never held whole.
    * ``max_depth``: a record nested deeper than this (64 by default) is ``too_deep``.
    * ``fast``: decode JSON Lines with ``msgspec`` (the ``sessionkit[fast]`` extra): by default
      when it is installed; ``False`` never, ``True`` always (:class:`ValueError` without it).
      Outcomes are the same either way: what msgspec refuses, ``json`` reads again.

    ``lines_read`` counts the lines read so far, ``bytes_read``/``bytes_total`` measure progress
    (``bytes_total`` is ``None`` when a source's size is not known).
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        format: str | None = None,
        layout: LogLayout | None = None,
        timestamps: TimestampParser | None = None,
        mapper: RecordMapper | None = None,
        stdin: BinaryIO | None = None,
        stdin_name: str | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_depth: int = MAX_DEPTH,
        fast: bool | None = None,
    ) -> None:
        if format is not None and format not in FORMATS:
            raise ValueError(f"unknown log format {format!r}; expected one of {FORMATS}")
        if mapper is not None and (layout is not None or timestamps is not None):
            raise ValueError("give either a mapper or a layout and timestamp parser, not both")
        self.paths = list(paths)
        self.format = format
        self.mapper: RecordMapper = (
            mapper if mapper is not None else EventMapper(layout, timestamps)
        )
        self._stdin = stdin
        self._stdin_name = stdin_name
        self.max_line_bytes = max_line_bytes
        self.max_depth = max_depth
        self._fast = fast_decoder() if fast is not False else None
        if fast and self._fast is None:
            raise ValueError("fast=True needs msgspec: pip install 'sessionkit[fast]'")
        self.lines_read = 0
        self._compiled: tuple[EventMapper, FieldsOf, TypedFieldsOf | None] | None = None
        self._map: Callable[[dict[str, Any], str, int], Any]
        self._map_line: Callable[[bytes, str, int], Any] | None
        self._wrap: type[LogFields | LogEvent]
        self._set_mapping(lean=False)
        sizes = [LogFile.size(path) for path in self.paths]
        self.bytes_total: int | None = None if None in sizes else sum(s or 0 for s in sizes)
        self._done_bytes = 0
        self._current: LogFile | None = None

    @property
    def bytes_read(self) -> int:
        """Bytes of the stored files read so far (approximate while a file is being read)."""
        current = self._current.position() if self._current is not None else None
        return self._done_bytes + (current or 0)

    def __iter__(self) -> Iterator[LogRecord]:
        return self._records(lean=False)  # type: ignore[return-value]

    def lean_records(self) -> Generator[LeanRecord, None, None]:
        """The records as :meth:`__iter__` gives them, but an event's as a :class:`LogFields`
        (its fields, no Event): what a lean replay reads. Needs an :class:`EventMapper`."""
        if not isinstance(self.mapper, EventMapper):
            raise TypeError("lean records need the reader's own EventMapper, not a function")
        return self._records(lean=True)  # type: ignore[return-value]

    def _records(self, *, lean: bool) -> Iterator[LeanRecord | LogRecord]:
        self._set_mapping(lean)
        for path in self.paths:
            named = self._stdin_name if os.fspath(path) == STDIN and self._stdin_name else path
            with open_log(path, self._stdin, self._stdin_name) as log:
                self._current = log
                try:
                    log_format = self._format_of(named, log)
                except _BROKEN_STREAM as error:  # not even its first bytes can be read
                    yield self._unreadable(log.name, 1, error)
                    log_format = ""
                if log_format == "csv":
                    yield from self._csv(log)
                elif log_format == "jsonl":
                    yield from self._jsonl(log)
                elif log_format:
                    yield from self._document(log, log_format)
                self._done_bytes += log.position() or 0
                self._current = None

    def _jsonl(  # noqa: PLR0912, PLR0915 - long: the hot path, one frame for a whole line
        self, log: LogFile
    ) -> Iterator[LeanRecord | LogRecord]:
        source, loads, limit = log.name, json.loads, self.max_line_bytes
        mapper, typed = self._map, self._map_line
        # LogFields or LogEvent, made as tuple.__new__ makes them (a named tuple's own __new__
        # is a Python function: a tenth of a microsecond a line)
        kind, new = self._wrap, tuple.__new__
        fast, max_depth = self._fast, self.max_depth
        depth_floor = 2 * max_depth
        number = 0
        try:
            # readline(limit) called from C: a line is never read longer than the limit.
            for number, line in enumerate(iter(partial(log.lines.readline, limit), b""), 1):
                if len(line) == limit and line[-1:] != b"\n":
                    length = log.rest_of_line(line)
                    if length is not None:
                        self.lines_read += 1
                        yield self._too_long(source, number, length)
                        continue
                raw = line[3:] if number == 1 and line.startswith(_BOM) else line
                if not raw or raw.isspace():  # a blank line (ASCII whitespace, as strip())
                    continue
                self.lines_read += 1
                if (  # the lean path, decoded straight into the fields the layout reads
                    typed is not None
                    and len(raw) < _DIGITS  # msgspec skips other fields unread: numbers, ...
                    and (raw.isascii() or _utf8(raw))  # ... and UTF-8
                    and (len(raw) <= depth_floor or _brackets(raw) <= max_depth)
                ):
                    try:
                        fields = typed(raw, source, number)
                    except Exception as error:  # the error mapping the dict would raise
                        yield self._unmapped(source, number, raw, error)
                        continue
                    if fields is not None:
                        yield new(kind, (source, number, fields, raw))
                        continue
                record = _UNREAD
                if fast is not None:
                    try:  # noqa: SIM105 - suppress() would cost a context manager a line
                        record = fast(raw)
                    except Exception:  # what msgspec refuses, json reads and says why
                        pass
                if record is _UNREAD:
                    try:
                        record = loads(raw.decode())  # text: json would sniff the encoding
                    except (ValueError, RecursionError) as error:
                        yield self._not_json(source, number, raw, error)
                        continue
                if type(record) is not dict or (
                    len(raw) > depth_floor  # a shorter line cannot nest that deep
                    and _brackets(raw) > max_depth
                    and _depth(record) > max_depth
                ):
                    yield self._not_a_record(source, number, raw, record)
                    continue
                try:
                    event = mapper(record, source, number)
                except Exception as error:  # no failure of a mapper escapes a line
                    yield self._unmapped(source, number, raw, error)
                    continue
                if type(event) is OutputFollowUp:
                    yield LogOutput(source, number, event, raw)
                    continue
                yield new(kind, (source, number, event, raw))
        except _BROKEN_STREAM as error:
            yield self._unreadable(source, number + 1, error)

    def _format_of(self, named: str | os.PathLike[str], log: LogFile) -> str:
        """The format given, else by the name and content: ``.csv`` is CSV, a file that
        starts an OTLP export request OTLP, a ``.json`` file that starts an array a JSON
        array of records, else JSON Lines."""
        if self.format is not None:
            return self.format
        if is_csv(named):
            return "csv"
        peek = getattr(log.lines, "peek", None)
        head = peek(256)[:256] if peek is not None else b""
        return looks_like(os.fspath(named), head) or "jsonl"

    def _document(self, log: LogFile, log_format: str) -> Iterator[LeanRecord | LogRecord]:
        """The records of a whole JSON document, numbered in order (read whole)."""
        source = log.name
        try:
            data = log.lines.read()
        except _BROKEN_STREAM as error:
            yield self._unreadable(source, 1, error)
            return
        try:
            text = data.removeprefix(_BOM).decode()
        except UnicodeDecodeError as error:
            self.lines_read += 1
            yield self._not_json(source, 1, data, error)
            return
        for number, (raw, record) in enumerate(self._records_of(text, log_format), 1):
            self.lines_read += 1
            if isinstance(record, (ValueError, RecursionError)):
                yield self._not_json(source, number, raw.encode(), record)
            elif type(record) is not dict or _depth(record) > self.max_depth:
                yield self._not_a_record(source, number, raw.encode(), record)
            else:
                yield self._mapped(source, number, record, raw)

    @staticmethod
    def _records_of(text: str, log_format: str) -> Iterator[tuple[str, object]]:
        if log_format == "json":
            yield from array_elements(text)
            return
        for raw, request in otlp_requests(text):
            if type(request) is not dict:
                yield raw, request  # a malformed request, or not an object: one rejection
                continue
            for span in spans_of(request):
                yield json.dumps(span, ensure_ascii=False), span

    def _too_long(self, source: str, number: int, length: int) -> RejectedLine:
        return RejectedLine(
            source,
            number,
            "line_too_long",
            f"the line is {length:,} bytes long, more than max_line_bytes "
            f"({self.max_line_bytes:,})",
            "",
        )

    def _not_json(self, source: str, number: int, raw: bytes, error: Exception) -> RejectedLine:
        if isinstance(error, UnicodeDecodeError):
            return RejectedLine(source, number, "not_utf8", str(error), raw_text(raw))
        if isinstance(error, RecursionError):
            return self._too_deep(source, number, raw_text(raw))
        return RejectedLine(source, number, "malformed_json", str(error), raw_text(raw))

    def _not_a_record(self, source: str, number: int, raw: bytes, record: object) -> RejectedLine:
        if type(record) is dict:
            return self._too_deep(source, number, raw_text(raw))
        return RejectedLine(
            source,
            number,
            "not_an_object",
            f"a line must be a JSON object, not {type(record).__name__}",
            raw_text(raw),
        )

    def _too_deep(self, source: str, number: int, raw: str) -> RejectedLine:
        return RejectedLine(
            source,
            number,
            "too_deep",
            f"the record is nested more than max_depth ({self.max_depth}) levels deep",
            raw,
        )

    def _set_mapping(self, lean: bool) -> None:
        """Choose what maps a record (``_map``), what maps a JSON Lines line straight with the
        fast decoder (``_map_line``, or ``None``), and the record type an event goes in
        (``_wrap``): Events in :class:`LogEvent`, or (lean) fields in :class:`LogFields`. The
        reader's own :class:`EventMapper` is compiled for its layout (``_compiled.py``)."""
        mapper = self.mapper
        self._wrap = LogFields if lean else LogEvent
        if type(mapper) is not EventMapper:  # a function of your own, or a subclass
            self._map = mapper.fields if lean and isinstance(mapper, EventMapper) else mapper
            self._map_line = None
            return
        if self._compiled is None or self._compiled[0] is not mapper:  # compiled once
            typed = compile_typed(mapper) if self._fast is not None else None
            self._compiled = (mapper, compile_fields(mapper), typed)
        _, compiled, typed = self._compiled
        if lean:
            self._map, self._map_line = compiled, typed
        else:
            self._map = partial(_as_event, compiled)
            self._map_line = None if typed is None else partial(_typed_event, typed)

    def _mapped(
        self, source: str, number: int, record: dict[str, Any], raw: bytes | str
    ) -> LeanRecord | LogRecord:
        """The record's event, or its rejection (a CSV record's; JSON Lines inline this)."""
        try:
            event = self._map(record, source, number)
        except Exception as error:  # no failure of a mapper escapes a line
            return self._unmapped(source, number, raw, error)
        if type(event) is OutputFollowUp:
            return LogOutput(source, number, event, raw)
        return self._wrap(source, number, event, raw)

    def _unmapped(
        self, source: str, number: int, raw: bytes | str, error: Exception
    ) -> RejectedLine:
        """The rejection of a record the mapper failed on: its own reason, or what failed."""
        if isinstance(error, LogLineError):
            return RejectedLine(source, number, error.reason, str(error), raw_text(raw))
        if isinstance(error, InvalidEventError):  # an event the mapper built was refused
            reason = "bad_timestamp" if error.field == "at" else "invalid_event"
            return RejectedLine(source, number, reason, str(error), raw_text(raw))
        return RejectedLine(source, number, "invalid_event", repr(error), raw_text(raw))

    def _unreadable(self, source: str, line: int, error: Exception) -> RejectedLine:
        """The rest of a compressed file that cannot be read, counted as one rejected line."""
        self.lines_read += 1
        return RejectedLine(
            source, line, "unreadable", f"the rest of the file cannot be read: {error}", ""
        )

    def _csv(self, log: LogFile) -> Iterator[LeanRecord | LogRecord]:
        source = log.name
        lines = _DecodedLines(log.lines)
        reader = csv.reader(lines)
        columns: list[tuple[str, ...]] | None = None
        end = 0
        while True:
            start = end + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except _BROKEN_STREAM as error:
                yield self._unreadable(source, end + 1, error)
                return
            except csv.Error as error:
                end = reader.line_num
                self.lines_read += 1
                yield RejectedLine(source, start, "malformed_csv", str(error), lines.take())
                continue
            end = reader.line_num
            raw = lines.take()
            if not row or (columns is None and not "".join(row).strip()):
                continue  # a blank line (or a blank line before the header)
            if columns is None:
                columns = [tuple(name.strip().split(".")) for name in row]
                continue
            self.lines_read += 1
            yield self._csv_record(source, (start, end), row, columns, raw, lines)

    def _csv_record(
        self,
        source: str,
        span: tuple[int, int],
        row: list[str],
        columns: list[tuple[str, ...]],
        raw: str,
        lines: _DecodedLines,
    ) -> LeanRecord | LogRecord:
        """One CSV record's outcome; ``span`` is its first and last line."""
        start, end = span
        if lines.undecodable(start, end):
            return RejectedLine(source, start, "not_utf8", "the line is not UTF-8", raw)
        if lines.ended and raw.count('"') % 2:  # the csv module closes it silently
            return RejectedLine(
                source,
                start,
                "malformed_csv",
                f"a quote opened in the record of line {start} is still open at the end of "
                f"the file: lines {start} to {end} were read as one record",
                raw,
            )
        if len(row) > len(columns):
            return RejectedLine(
                source,
                start,
                "malformed_csv",
                f"the row has {len(row)} cells, the header {len(columns)}",
                raw,
            )
        return self._mapped(source, start, _nest(columns, row), raw)


def _depth(value: object) -> int:
    """How deeply a JSON value nests objects and arrays (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in item)
    return deepest


def _nest(columns: list[tuple[str, ...]], row: list[str]) -> dict[str, Any]:
    """A CSV row as a record: dotted column names become nested objects; empty cells are absent."""
    record: dict[str, Any] = {}
    for path, cell in zip(columns, row, strict=False):  # a short row: the last cells are absent
        if cell == "":
            continue
        if len(path) == 1:
            record[path[0]] = cell
            continue
        node = record
        for part in path[:-1]:
            child = node.get(part)
            if type(child) is not dict:
                child = node[part] = {}
            node = child
        node[path[-1]] = cell
    return record


class _DecodedLines:
    """The lines of a CSV file as text, remembering which were not UTF-8 and the text of the
    record being read (for the rejects file)."""

    def __init__(self, lines: BinaryIO) -> None:
        self._lines = lines
        self._pending: list[str] = []
        self._bad: list[int] = []
        #: the file has been read to its end
        self.ended = False

    def __iter__(self) -> Iterator[str]:
        for number, line in enumerate(self._lines, 1):
            raw = line[3:] if number == 1 and line.startswith(b"\xef\xbb\xbf") else line
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("utf-8", "surrogateescape")
                self._bad.append(number)
            self._pending.append(text)
            yield text
        self.ended = True

    def take(self) -> str:
        """The text read since the last call (the current record), without its line ending."""
        text = "".join(self._pending).rstrip("\r\n")
        self._pending.clear()
        return text

    def undecodable(self, start: int, end: int) -> bool:
        """Whether a line from ``start`` to ``end`` was not UTF-8 (forgets the earlier ones)."""
        found = any(start <= number <= end for number in self._bad)
        self._bad = [number for number in self._bad if number > end]
        return found
