"""What runs inside Spark's tasks, in plain Python (no Spark): records read and mapped to
events, one partition's events fed to the real Sessionizer, and the components of linked user
keys. Tests run these in-process too.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from sessionkit import (
    Assignment,
    CloseReason,
    Event,
    Participant,
    ParticipantKind,
    RefusedEventError,
    Rules,
    SessionClosedError,
    Sessionizer,
    SessionStatus,
    SessionSummary,
    derive_session_id,
)
from sessionkit.replay import (
    LogEvent,
    LogLayout,
    LogOutput,
    LogReader,
    OutputFollowUp,
    RejectedLine,
    Repeats,
    TimestampParser,
    raw_text,
)
from sessionkit.storage import ClosedIdFile

__all__ = [
    "LINE_BITS",
    "Components",
    "Item",
    "Keys",
    "Outcome",
    "SessionRow",
    "feed_partition",
    "items_of_log",
    "items_of_records",
    "settle",
    "stable_hash",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)

#: A log line's position is ``source index << LINE_BITS | line``: file order, then line order.
LINE_BITS = 40


def micros(at: datetime) -> int:
    """An instant as whole microseconds since 1970 (UTC)."""
    return (at - _EPOCH) // _US


def offset_of(at: datetime) -> int:
    """The UTC offset an aware time was given in, in seconds."""
    offset = at.utcoffset()
    return 0 if not offset else int(offset.total_seconds())


def time_of(us: int, offset: int) -> datetime:
    """The time of ``micros`` in the offset it was given in."""
    return (_EPOCH + us * _US).astimezone(timezone(timedelta(seconds=offset)))


class Item(NamedTuple):
    """One input record: its event, an output sent alone (``output``), or why it has neither
    (``reason``, ``detail``). ``raw`` is the line as read (logs) or ``None`` (DataFrame rows)."""

    position: int
    source: str | None
    line: int | None
    event: Event | None
    raw: str | None
    reason: str | None = None
    detail: str | None = None
    output: OutputFollowUp | None = None


#: An item as it travels between Spark's tasks: plain values only, a fifth of the pickling
#: cost of objects. ``(position, source, line, event fields or None, raw, reason, detail)``.
Packed = tuple[Any, ...]


def pack(item: Item) -> Packed:
    """An item as plain values (its event as :func:`event_fields`, an output sent alone as
    :func:`output_fields`)."""
    event, output = item.event, item.output
    fields: tuple[Any, ...] | None
    if event is not None:
        fields = event_fields(event)
    else:
        fields = None if output is None else output_fields(output)
    return (item.position, item.source, item.line, fields, item.raw, item.reason, item.detail)


def output_fields(output: OutputFollowUp) -> tuple[Any, ...]:
    """An output sent alone, in :func:`event_fields`' places (no initiator: that tells it
    apart). Its user key is its own, tied to its event's by the event id they share."""
    at = output.at
    return (
        output.id, micros(at), offset_of(at), None, None, None, None, None, None, None,
        output.scope, False, None, output.output, None, f"\x00output of {output.id}",
    )  # fmt: skip


def event_fields(event: Event) -> tuple[Any, ...]:
    at, initiator, target = event.at, event.initiator, event.target
    return (
        event.id, micros(at), offset_of(at), initiator.kind.value, initiator.id,
        None if target is None else target.kind.value, None if target is None else target.id,
        event.user_id, event.session_id, event.parent_id, event.scope, event.ends_session,
        event.input, event.output, dict(event.metadata) if event.metadata else None,
        event.user_key,
    )  # fmt: skip


class Unpacker:
    """Items back from plain values; participants are made once per task."""

    def __init__(self) -> None:
        self._participants: dict[tuple[str, str], Participant] = {}

    def participant(self, kind: str, id: str) -> Participant:
        known = self._participants.get((kind, id))
        if known is None:
            known = self._participants[(kind, id)] = Participant(ParticipantKind(kind), id)
        return known

    def __call__(self, packed: Packed) -> Item:
        position, source, line, fields, raw, reason, detail = packed
        if fields is None:
            return Item(position, source, line, None, raw, reason, detail)
        if fields[3] is None:
            (id, at_us, offset, *_, scope, _, _, text, _, _) = fields
            output = OutputFollowUp(id, time_of(at_us, offset), text, scope)
            return Item(position, source, line, None, raw, output=output)
        (id, at_us, offset, kind, who, target_kind, target_id, user_id, session_id, parent_id,
         scope, ends, text_in, text_out, metadata, _) = fields  # fmt: skip
        event = Event(
            id=id,
            at=time_of(at_us, offset),
            initiator=self.participant(kind, who),
            target=None if target_kind is None else self.participant(target_kind, target_id),
            user_id=user_id,
            session_id=session_id,
            parent_id=parent_id,
            scope=scope,
            ends_session=ends,
            input=text_in,
            output=text_out,
            metadata=metadata or {},
        )
        return Item(position, source, line, event, raw)


def packed_keys(packed: Packed) -> Keys:
    """:func:`keys_of` the packed item's event."""
    fields = packed[3]
    event_id, scope = fields[0], fields[10]
    return Keys(
        scope, fields[15], event_id, fields[8], fields[9], derive_session_id(scope, event_id)
    )


def items_of_log(
    content: bytes, name: str, index: int, make_reader: Callable[..., LogReader]
) -> tuple[list[Item], int]:
    """The items of one whole log file (any format and compression the reader knows), read by
    the real :class:`LogReader` under the name it was given; and the lines it read."""
    reader = make_reader(["-"], stdin=io.BytesIO(content), stdin_name=name)
    items = []
    base = index << LINE_BITS
    for outcome in reader:
        if type(outcome) is LogEvent:
            raw = raw_text(outcome.raw)
            items.append(Item(base | outcome.line, name, outcome.line, outcome.event, raw))
        elif type(outcome) is LogOutput:
            raw = raw_text(outcome.raw)
            items.append(
                Item(base | outcome.line, name, outcome.line, None, raw, output=outcome.output)
            )
        else:
            assert isinstance(outcome, RejectedLine)
            items.append(
                Item(
                    base | outcome.line,
                    name,
                    outcome.line,
                    None,
                    outcome.raw,
                    outcome.reason,
                    outcome.detail,
                )
            )
    return items, reader.lines_read


def items_of_records(
    records: Iterable[tuple[int, dict[str, Any]]],
    layout: LogLayout,
    timestamps: TimestampParser,
    source: str = "dataframe",
) -> Iterator[Item]:
    """Items of ``(position, record)`` pairs, each record mapped as a log line's would be
    (the position stands for the line number in derived event ids)."""
    from sessionkit.replay import EventMapper

    mapper = EventMapper(layout, timestamps)
    for position, record in records:
        try:
            event = mapper(record, source, position)
        except Exception as error:  # no failure of a mapper escapes a row
            reason = getattr(error, "reason", "invalid_event")
            yield Item(position, None, None, None, None, reason, str(error))
            continue
        if type(event) is OutputFollowUp:
            yield Item(position, None, None, None, None, output=event)
        else:
            yield Item(position, None, None, event, None)  # type: ignore[arg-type]


class Keys(NamedTuple):
    """What partitioning needs of one event: its user-key node and the ids that link nodes."""

    scope: str
    user_key: str
    event_id: str
    session_id: str | None
    parent_id: str | None
    derived_id: str


class Components:
    """Union-find over ``(scope, user key)`` nodes: the groups of user keys that events link."""

    def __init__(self, links: Iterable[tuple[tuple[str, str], tuple[str, str]]] = ()) -> None:
        self._parent: dict[tuple[str, str], tuple[str, str]] = {}
        for a, b in links:
            self.link(a, b)

    def root(self, node: tuple[str, str]) -> tuple[str, str]:
        parent = self._parent
        path = []
        while parent.get(node, node) != node:
            path.append(node)
            node = parent[node]
        for visited in path:  # path compression
            parent[visited] = node
        return node

    def link(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        ra, rb = self.root(a), self.root(b)
        if ra != rb:
            low, high = sorted((ra, rb))  # the smaller node names the component: deterministic
            self._parent[high] = low
            self._parent.setdefault(low, low)

    def roots(self) -> dict[tuple[str, str], tuple[str, str]]:
        """Every linked node's component (nodes never linked are their own)."""
        return {node: self.root(node) for node in list(self._parent)}


def stable_hash(value: object) -> int:
    """A hash that is the same in every process (Python's own ``hash`` of text is not)."""
    return zlib.crc32(repr(value).encode("utf-8", "surrogatepass"))


class Outcome(NamedTuple):
    """What was decided for one item (an ``assignments`` row). ``swept_detail`` and
    ``swept_from_us``: a refusal's detail as the in-process Sessionizer gives it once the named
    session has been forgotten, and from when (see :func:`feed_partition`)."""

    position: int
    source: str | None
    line: int | None
    scope: str | None
    event_id: str | None
    at_us: int | None
    session_id: str | None
    rule: str | None
    explicit: bool | None
    started: bool | None
    header: bool | None
    duplicate: bool | None
    output_set: bool | None
    thread_parent_id: str | None
    reason: str | None
    detail: str | None
    raw: str | None
    swept_detail: str | None = None
    swept_from_us: int | None = None


class SessionRow(NamedTuple):
    """A session's summary with times as (microseconds, offset) and its last event's position."""

    session_id: str
    scope: str
    explicit: bool
    header_id: str | None
    started_us: int
    started_offset: int
    last_input_us: int
    last_input_offset: int
    event_count: int
    status: str
    closed_us: int | None
    closed_offset: int | None
    close_reason: str | None
    last_position: int

    def summary(self) -> SessionSummary:
        return SessionSummary(
            self.session_id,
            self.scope,
            self.explicit,
            self.header_id,
            time_of(self.started_us, self.started_offset),
            time_of(self.last_input_us, self.last_input_offset),
            self.event_count,
            SessionStatus(self.status),
            None if self.closed_us is None else time_of(self.closed_us, self.closed_offset or 0),
            None if self.close_reason is None else CloseReason(self.close_reason),
        )


def session_row(summary: SessionSummary, last_position: int) -> SessionRow:
    closed = summary.closed_at
    return SessionRow(
        summary.id,
        summary.scope,
        summary.explicit,
        summary.header_id,
        micros(summary.started_at),
        offset_of(summary.started_at),
        micros(summary.last_input_at),
        offset_of(summary.last_input_at),
        summary.event_count,
        summary.status.value,
        None if closed is None else micros(closed),
        None if closed is None else offset_of(closed),
        None if summary.close_reason is None else summary.close_reason.value,
        last_position,
    )


def rejected(item: Item) -> Outcome:
    """The outcome of an item that has no event."""
    return Outcome(
        item.position, item.source, item.line, None, None, None, None, None, None, None,
        None, None, None, None, item.reason, item.detail, item.raw,
    )  # fmt: skip


def feed_partition(
    items: Iterable[Item], rules: Rules
) -> Iterator[tuple[str, Outcome | SessionRow]]:
    """Feed one partition's items, in (time, position) order, to one Sessionizer; yield
    ``("a", Outcome)`` for each and ``("s", SessionRow)`` for each session as it closes and,
    at the end, for those still open.

    The partition's clock moves only with its own events, so it may remember a session the
    in-process Sessionizer (whose clock every event moves) has already forgotten. Decisions are
    the same either way; only a refusal's detail may differ, so a refusal that names a session
    still remembered here carries the detail it gets once that session is forgotten, and when
    (``swept_from_us``): :func:`settle` and the caller choose, knowing every event.
    """
    closed_ids = ClosedIdFile()
    try:
        yield from _feed(items, Sessionizer(rules, closed_sessions=closed_ids), rules)
    finally:
        closed_ids.close()


def _feed(  # long: one loop over the partition's events
    items: Iterable[Item], sessionizer: Sessionizer, rules: Rules
) -> Iterator[tuple[str, Outcome | SessionRow]]:
    last: dict[tuple[str, str], int] = {}  # open sessions: their last event's position
    repeats = Repeats(sessionizer)
    for item in items:
        event = item.event
        if event is None:
            yield "a", rejected(item) if item.output is None else _output(item, repeats)
            continue
        try:
            assignment = sessionizer.feed(event)
        except RefusedEventError as error:
            yield "a", _refused(item, event, error, sessionizer, rules)
            continue
        if not assignment.duplicate:
            last[(event.scope, assignment.session_id)] = item.position
            repeats.remember(event)
        for closed in assignment.closed:
            yield "s", session_row(closed, last.pop((closed.scope, closed.id)))
        if assignment.duplicate:
            yield "a", _repeated(item, event, assignment, repeats)
        else:
            yield "a", _accepted(item, event, assignment)
    for summary in sessionizer.open_sessions():
        yield "s", session_row(summary, last.pop((summary.scope, summary.id)))


def _accepted(item: Item, event: Event, a: Assignment) -> Outcome:
    return Outcome(
        item.position, item.source, item.line, event.scope, event.id, micros(event.at),
        a.session_id, a.rule.value, a.explicit, a.started, a.header, a.duplicate, False,
        a.thread_parent_id, None, None, item.raw,
    )  # fmt: skip


def _repeated(item: Item, event: Event, a: Assignment, repeats: Repeats) -> Outcome:
    """A duplicate's outcome, as ``replay_records`` decides it."""
    try:
        if repeats.repeated(event, a.session_id) is None:
            return _accepted(item, event, a)
    except RefusedEventError as error:
        return _rejected_as(item, event.scope, event.id, event.at, error)
    return _output_set(item, event.scope, event.id, event.at, a.session_id)


def _output(item: Item, repeats: Repeats) -> Outcome:
    """The outcome of an output sent alone, as ``replay_records`` decides it."""
    output = item.output
    assert output is not None
    try:
        session_id = repeats.follow_up(output)
    except RefusedEventError as error:
        return _rejected_as(item, output.scope, output.id, output.at, error)
    return _output_set(item, output.scope, output.id, output.at, session_id)


def _output_set(item: Item, scope: str, event_id: str, at: datetime, session_id: str) -> Outcome:
    return Outcome(
        item.position, item.source, item.line, scope, event_id, micros(at), session_id, None,
        None, None, None, None, True, None, None, None, item.raw,
    )  # fmt: skip


def _rejected_as(
    item: Item, scope: str, event_id: str, at: datetime, error: RefusedEventError
) -> Outcome:
    return Outcome(
        item.position, item.source, item.line, scope, event_id, micros(at), None, None, None,
        None, None, None, None, None, error.reason, str(error), item.raw,
    )  # fmt: skip


def _refused(
    item: Item, event: Event, error: RefusedEventError, sessionizer: Sessionizer, rules: Rules
) -> Outcome:
    swept_detail = swept_from = None
    if isinstance(error, SessionClosedError) and error.closed_at is not None:
        # Remembered here. The in-process Sessionizer forgets a session at its horizon: for an
        # ended one (closed_at is its last input) a timeout later, for an idle one at closed_at.
        ended = sessionizer.is_closed(error.session_id, event.scope)
        until = rules.horizon(error.closed_at) if ended else error.closed_at
        if until <= event.at:  # else no event before this one can have reached it
            swept_from = micros(until)
            swept_detail = str(SessionClosedError(event, error.session_id, None, error.rule))
    return Outcome(
        item.position, item.source, item.line, event.scope, event.id, micros(event.at),
        None, None, None, None, None, None, None, None, error.reason, str(error), item.raw,
        swept_detail, swept_from,
    )  # fmt: skip


def settle(row: SessionRow, end_us: int | None, rules: Rules) -> SessionRow:
    """A session as the in-process Sessionizer reports it once time has reached ``end_us``
    (the last accepted event of all partitions): a session open at its partition's end but idle
    by then is closed, at its horizon (rule 7)."""
    if row.status != SessionStatus.OPEN.value or end_us is None:
        return row
    summary = row.summary()
    end = _EPOCH + end_us * _US
    if rules.is_open_at(summary.last_input_at, None, end):
        return row
    closed_at = rules.horizon(summary.last_input_at)
    return row._replace(
        status=SessionStatus.CLOSED.value,
        closed_us=micros(closed_at),
        closed_offset=offset_of(closed_at),
        close_reason=CloseReason.IDLE.value,
    )


def session_order(row: SessionRow) -> tuple[int, int, int, int]:
    """Where ``sessionkit replay --sessions-out`` writes a session: closings in the order the
    in-process Sessionizer reports them (idle ones at their horizon, before an ending at the
    same instant), then the sessions still open, each by its last event."""
    if row.close_reason == CloseReason.IDLE.value:
        assert row.closed_us is not None
        return (row.closed_us, 0, row.last_input_us, row.last_position)
    if row.close_reason == CloseReason.ENDED.value:
        assert row.closed_us is not None
        return (row.closed_us, 1, row.last_input_us, row.last_position)
    return (1 << 62, 2, row.last_input_us, row.last_position)
