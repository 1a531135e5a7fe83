"""The value types of sessionkit: participants, events, sessions, thread trees and assignments.

All of them are small frozen ``attrs`` classes: built once, validated at construction, never
mutated (use :func:`attrs.evolve` to get a changed copy).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, NamedTuple, NoReturn

import attrs

from sessionkit._errors import InvalidEventError

__all__ = [
    "EARLIEST",
    "LATEST",
    "Assignment",
    "CloseReason",
    "Event",
    "GroupingRule",
    "Participant",
    "ParticipantKind",
    "Session",
    "SessionStatus",
    "SessionSummary",
    "ThreadNode",
]


class ParticipantKind(enum.Enum):
    """Who takes part in a conversation."""

    #: A person.
    USER = "user"
    #: An AI agent acting on a user's behalf (or on another agent's).
    AGENT = "agent"
    #: A language model, called by a user or an agent.
    LLM = "llm"
    #: A tool an agent calls (a search, an MCP server, a function).
    TOOL = "tool"
    #: A memory an agent reads or writes.
    MEMORY = "memory"
    #: The start-up of an agent: its configuration and first context.
    INITIALIZATION = "initialization"


class SessionStatus(enum.Enum):
    """Whether a session still accepts events."""

    #: The session accepts more events.
    OPEN = "open"
    #: The session is closed for good; more content for it is an error.
    CLOSED = "closed"


class CloseReason(enum.Enum):
    """Why a session closed."""

    #: ``idle_timeout`` passed with no input.
    IDLE = "idle"
    #: An event with ``ends_session=True`` was accepted into it.
    ENDED = "ended"


class GroupingRule(enum.Enum):
    """The rule that decided where an event went, in the order the rules are tried."""

    #: The event id was already seen in this scope; nothing changed.
    DUPLICATE = "duplicate"
    #: The event carried a caller-given ``session_id``.
    EXPLICIT_ID = "explicit_id"
    #: The event's ``parent_id`` named a remembered event; it joined that event's session.
    PARENT_LINK = "parent_link"
    #: The same user key sent an event at most ``join_window`` earlier, into an open session.
    JOIN_WINDOW = "join_window"
    #: No rule joined the event to an existing session, so it started one.
    NEW_SESSION = "new_session"


@attrs.frozen
class Participant:
    """Someone or something that takes part in a conversation: a kind and an id.

    ``id`` must be a non-empty string; it is the user key of events that carry no ``user_id``.
    """

    kind: ParticipantKind
    id: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.kind, ParticipantKind):
            raise InvalidEventError(
                "participant", self.id, "kind", f"must be a ParticipantKind, not {self.kind!r}"
            )
        if not isinstance(self.id, str) or not self.id:
            raise InvalidEventError("participant", self.id, "id", "must be a non-empty string")


def _refuse(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError("an Event's metadata cannot be changed: build a new Event (attrs.evolve)")


class FrozenDict(dict[str, object]):
    """A dict that cannot be changed: an :class:`Event`'s metadata, and the objects in it.

    Still a ``dict`` to everything that reads it (``json.dumps``, ``==``, ``isinstance``).
    """

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[object, ...]:
        return (FrozenDict, (dict(self),))


class FrozenList(list[object]):
    """A list that cannot be changed: the arrays in an :class:`Event`'s metadata."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __reduce__(self) -> tuple[object, ...]:
        return (FrozenList, (list(self),))


def _frozen(value: object) -> object:
    """``value`` with every dict and list in it, at any depth, frozen (no recursion)."""
    if type(value) is not dict and type(value) is not list and not isinstance(value, (dict, list)):
        return value
    # Build bottom-up: first collect every container, then freeze children before parents.
    order: list[object] = []
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list)):
            order.append(item)
            stack.extend(item.values() if isinstance(item, dict) else item)
    frozen: dict[int, object] = {}
    for item in reversed(order):
        if isinstance(item, dict):
            frozen[id(item)] = FrozenDict({k: frozen.get(id(v), v) for k, v in item.items()})
        else:
            assert isinstance(item, list)
            frozen[id(item)] = FrozenList(frozen.get(id(v), v) for v in item)
    return frozen[id(value)]


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _freeze_metadata(value: Mapping[str, object]) -> Mapping[str, object]:
    if not value:
        return _EMPTY
    frozen = FrozenDict(value)
    if _SCALARS.issuperset(map(type, frozen.values())):  # flat: the common case, in C
        return frozen
    result = _frozen(dict(value))  # nested (or exotic): freeze every level
    assert isinstance(result, FrozenDict)
    return result


_EMPTY: Mapping[str, object] = FrozenDict()


#: The earliest and the latest time an event may have: a day inside what ``datetime`` holds, so
#: that any UTC offset, and the moves back a query or a reorder buffer makes, stay representable.
EARLIEST = datetime(1, 1, 2, tzinfo=timezone.utc)
LATEST = datetime(9999, 12, 30, tzinfo=timezone.utc)
_RANGE = f"{EARLIEST.date()} to {LATEST.date()}"


#: An Event's fields in the order of its attributes: id, at, initiator, target, user id,
#: session id, parent id, scope, ends_session, input, output, metadata (not yet frozen). What
#: a replay reads from a line (``sessionkit.replay.EventMapper.fields``) and a store records
#: (``sessionkit.storage.Batch.placed``) without building the Event; a plain tuple.
EventFields = tuple[
    str,
    datetime,
    Participant,
    "Participant | None",
    "str | None",
    "str | None",
    "str | None",
    str,
    bool,
    "str | None",
    "str | None",
    "Mapping[str, Any]",
]


@attrs.frozen(kw_only=True)
class Event:
    """One input sent by ``initiator`` (a prompt), with its optional output (the response).

    Required: ``id`` (non-empty, unique in its ``scope``), ``at`` (timezone-aware) and
    ``initiator``. ``session_id``, ``user_id`` and ``parent_id`` are ``None`` when absent and
    may not be empty strings. ``metadata`` is copied and frozen at every depth: its dicts and
    lists are still dicts and lists, but any change raises :class:`TypeError`.

    Raises :class:`~sessionkit.InvalidEventError` naming the event and the field when a value is
    refused.
    """

    id: str
    at: datetime
    initiator: Participant
    target: Participant | None = None
    user_id: str | None = None
    session_id: str | None = None
    parent_id: str | None = None
    scope: str = ""
    ends_session: bool = False
    input: str | None = None
    output: str | None = None
    metadata: Mapping[str, object] = attrs.field(
        factory=dict, converter=_freeze_metadata, hash=False
    )

    def __attrs_post_init__(self) -> None:
        at, target = self.at, self.target
        user_id, session_id, parent_id = self.user_id, self.session_id, self.parent_id
        if (  # the common case, in one expression; anything else is checked field by field
            type(self.id) is str
            and self.id
            and type(at) is datetime
            and at.tzinfo is timezone.utc
            and EARLIEST <= at <= LATEST
            and type(self.initiator) is Participant
            and (target is None or type(target) is Participant)
            and (user_id is None or (type(user_id) is str and user_id))
            and (session_id is None or (type(session_id) is str and session_id))
            and (parent_id is None or (type(parent_id) is str and parent_id))
            and type(self.scope) is str
        ):
            return
        self._check()

    def _check(self) -> None:
        """Raise :class:`~sessionkit.InvalidEventError` naming the first field refused."""
        if not isinstance(self.id, str) or not self.id:
            raise InvalidEventError("event", self.id, "id", "must be a non-empty string")
        if not isinstance(self.at, datetime):
            raise InvalidEventError(
                "event", self.id, "at", f"must be a datetime, not {type(self.at).__name__}"
            )
        if self.at.utcoffset() is None:
            raise InvalidEventError(
                "event", self.id, "at", f"must be timezone-aware, got naive {self.at.isoformat()}"
            )
        if not EARLIEST <= self.at <= LATEST:
            raise InvalidEventError(
                "event", self.id, "at", f"{self.at.isoformat()} is outside {_RANGE} (UTC)"
            )
        if not isinstance(self.initiator, Participant):
            raise InvalidEventError("event", self.id, "initiator", "must be a Participant")
        if self.target is not None and not isinstance(self.target, Participant):
            raise InvalidEventError("event", self.id, "target", "must be a Participant or None")
        for name in ("user_id", "session_id", "parent_id"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidEventError(
                    "event", self.id, name, "must be None or a non-empty string"
                )
        if not isinstance(self.scope, str):
            raise InvalidEventError("event", self.id, "scope", "must be a string")

    @classmethod
    def from_fields(cls, fields: EventFields) -> Event:
        """The Event of :data:`~sessionkit.EventFields` (its attributes in order).

        .. versionadded:: 0.3.0
        """
        return cls(
            id=fields[0], at=fields[1], initiator=fields[2], target=fields[3],
            user_id=fields[4], session_id=fields[5], parent_id=fields[6], scope=fields[7],
            ends_session=fields[8], input=fields[9], output=fields[10], metadata=fields[11],
        )  # fmt: skip

    @property
    def user_key(self) -> str:
        """Whose prompts these are (rule 5): ``user_id`` if set, else the initiator's id.
        (``_rules.user_key``, written out here; a test checks that they agree.)"""
        return self.user_id if self.user_id is not None else self.initiator.id


@attrs.frozen
class ThreadNode:
    """One event in a session's thread tree, with the events that answer it (in feed order)."""

    event: Event
    children: tuple[ThreadNode, ...] = ()

    def walk(self) -> Iterator[tuple[int, ThreadNode]]:
        """This node and all below it, depth first in feed order, each with its depth (0 here).

        Iterative, so it is safe on threads of any depth.
        """
        stack: list[tuple[int, ThreadNode]] = [(0, self)]
        while stack:
            depth, node = stack.pop()
            yield depth, node
            stack.extend((depth + 1, child) for child in reversed(node.children))


class SessionSummary(NamedTuple):
    """A session as the Sessionizer knows it: everything but its events.

    The one value for "a session" across sessionkit: ``Sessionizer.feed`` and ``advance`` report
    each closing as one, ``Sessionizer.open_sessions()`` lists the open ones, stores list them
    (``SessionListing.session``), and a whole :class:`Session` carries one. ``header_id`` is the
    id of the header event, or ``None`` for a headerless session; ``closed_at`` and
    ``close_reason`` are ``None`` while it is open. A named tuple, like :class:`Assignment`,
    because one is made on a hot path (every closing).

    .. versionadded:: 0.2.0
       Replaces ``ClosedSession`` (same fields, plus ``status``) and the stores' ``SessionRow``.
    """

    id: str
    scope: str
    explicit: bool
    header_id: str | None
    started_at: datetime
    last_input_at: datetime
    event_count: int
    status: SessionStatus
    closed_at: datetime | None
    close_reason: CloseReason | None

    def to_json(self) -> dict[str, object]:
        """The one JSON encoding of a session: times in ISO 8601, enums by value."""
        closed_at, reason = self.closed_at, self.close_reason
        return {
            "session_id": self.id,
            "scope": self.scope,
            "explicit": self.explicit,
            "header_id": self.header_id,
            "started_at": self.started_at.isoformat(),
            "last_input_at": self.last_input_at.isoformat(),
            "event_count": self.event_count,
            "status": self.status.value,
            "closed_at": None if closed_at is None else closed_at.isoformat(),
            "close_reason": None if reason is None else reason.value,
        }


class Assignment(NamedTuple):
    """What :meth:`Sessionizer.feed` decided for one event.

    A :class:`~typing.NamedTuple` rather than an attrs class: one is made for every event fed, and
    a named tuple is made in less than half the time (see ``docs/performance.md``).

    * ``session_id``: the session the event belongs to.
    * ``rule``: the :class:`GroupingRule` that decided it.
    * ``explicit``: the session's id was given by a caller (rule 3), not derived (rule 9).
    * ``started``: the event opened that session (it is its first event).
    * ``header``: the event is its session's header (it opened it and its initiator is of one of
      the rules' ``header_kinds``).
    * ``duplicate``: the event id was already remembered; nothing changed and the event is not
      part of the session a second time.
    * ``thread_parent_id``: the event's parent in the session's thread tree (``None`` for a root,
      and for duplicates).
    * ``closed``: the sessions that closed at this step, in order: first those that went idle
      because time moved to ``event.at`` (``CloseReason.IDLE``), then this event's own session if
      the event ended it (``CloseReason.ENDED``).

    .. versionchanged:: 0.2.0
       ``explicit`` added; ``closed`` holds :class:`SessionSummary` values.
    """

    event: Event
    session_id: str
    rule: GroupingRule
    explicit: bool = False
    started: bool = False
    header: bool = False
    duplicate: bool = False
    thread_parent_id: str | None = None
    closed: tuple[SessionSummary, ...] = ()


@attrs.frozen
class Session:
    """A whole session: its summary, its events in feed order and their thread tree.

    ``header`` is the header event (the first event, when its initiator's kind is one of the
    rules' ``header_kinds``), else ``None``. The summary's fields read through: ``session.id``,
    ``session.status``, ... .

    .. versionchanged:: 0.2.0
       Built from a :class:`SessionSummary` (``summary``) instead of its fields.
    """

    summary: SessionSummary
    header: Event | None
    events: tuple[Event, ...]
    roots: tuple[ThreadNode, ...]

    @property
    def id(self) -> str:
        """The session's id."""
        return self.summary.id

    @property
    def scope(self) -> str:
        """The session's scope."""
        return self.summary.scope

    @property
    def explicit(self) -> bool:
        """Whether a caller gave the session's id."""
        return self.summary.explicit

    @property
    def started_at(self) -> datetime:
        """The time of its first event."""
        return self.summary.started_at

    @property
    def last_input_at(self) -> datetime:
        """The time of its last event."""
        return self.summary.last_input_at

    @property
    def status(self) -> SessionStatus:
        """Open or closed."""
        return self.summary.status

    @property
    def closed_at(self) -> datetime | None:
        """When it closed, or ``None`` while open."""
        return self.summary.closed_at

    @property
    def close_reason(self) -> CloseReason | None:
        """Why it closed, or ``None`` while open."""
        return self.summary.close_reason
