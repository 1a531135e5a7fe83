"""Where the fields of an event are found in a log record, and how a record becomes an Event.

The default :class:`LogLayout` is the wire format of AI-monitoring event APIs; ``docs/replay.md``
describes it field by field. The event types and participant kinds it understands are the two
tables below.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs

from sessionkit._errors import InvalidEventError, LogLineError
from sessionkit._model import Event, Participant, ParticipantKind
from sessionkit.replay._timestamps import TimestampParser

__all__ = ["EVENT_TYPES", "KIND_NAMES", "EventMapper", "LogLayout", "RecordMapper"]

_USER = ParticipantKind.USER
_AGENT = ParticipantKind.AGENT

#: The names a participant kind goes by in ``initiator.type`` and in event types (any case).
KIND_NAMES: Mapping[str, ParticipantKind] = {
    "user": _USER,
    "agent": _AGENT,
    "agt": _AGENT,
    "llm": ParticipantKind.LLM,
    "tool": ParticipantKind.TOOL,
    "memory": ParticipantKind.MEMORY,
    "mem": ParticipantKind.MEMORY,
    "initialization": ParticipantKind.INITIALIZATION,
    "init": ParticipantKind.INITIALIZATION,
}

#: The event types of the default layout, long and short: (initiator's kind, target's kind).
#: A type may carry a subtype after a dot (``agent_tool.mcp``), which does not change its kinds.
EVENT_TYPES: Mapping[str, tuple[ParticipantKind, ParticipantKind]] = {
    f"{initiator}_{target}": (KIND_NAMES[initiator], KIND_NAMES[target])
    for initiator, targets in {
        "user": ("llm", "agent", "agt"),
        "agent": ("llm", "tool", "agent", "mem", "init"),
        "agt": ("llm", "tool", "agt", "mem", "init"),
    }.items()
    for target in targets
}

#: What a mapping function of your own looks like: (record, source name, line number) -> Event.
#: It may raise :class:`~sessionkit.LogLineError` to reject a record with a reason of its choice.
RecordMapper = Callable[[dict[str, Any], str, int], Event]


def _paths(value: str | tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(name.strip() for name in value.split(",") if name.strip())
    return tuple(value)


@attrs.frozen
class LogLayout:
    """The name of each field in a log record; dotted names reach into nested JSON objects.

    The defaults are the wire format of AI-monitoring event APIs. ``scope`` and ``time`` list
    alternatives: the first one present in a record is used. Change fields with
    :meth:`with_fields`, or :func:`attrs.evolve`.
    """

    event_id: str = "event_id"
    session_id: str = "session_id"
    event_type: str = "event_type"
    initiator: str = "initiator"
    user_id: str = "metadata.user_id"
    parent_id: str = "parent_event_id"
    session_end: str = "session_end"
    input: str = "input"
    output: str = "output"
    metadata: str = "metadata"
    scope: tuple[str, ...] = attrs.field(default=("profile_id", "use_case_id"), converter=_paths)
    time: tuple[str, ...] = attrs.field(
        default=("timestamp", "created_at", "time"), converter=_paths
    )

    def with_fields(self, fields: Mapping[str, str]) -> LogLayout:
        """This layout with some fields renamed, e.g. ``{"user_id": "account"}``.

        For ``scope`` and ``time`` the name may list alternatives separated by commas. Raises
        :class:`ValueError` for a field the layout does not have.
        """
        known = {a.name for a in attrs.fields(LogLayout)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise ValueError(
                f"unknown field {unknown[0]!r}; the fields are: {', '.join(sorted(known))}"
            )
        return attrs.evolve(self, **fields)


def _getter(path: str) -> Callable[[dict[str, Any]], Any]:
    """A function that reads ``path`` (dotted for nested objects) from a record, or ``None``."""
    if "." not in path:
        return lambda record: record.get(path)
    parts = tuple(path.split("."))

    def get(record: dict[str, Any]) -> Any:
        value: Any = record
        for part in parts:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return get


def _id(value: object, name: str) -> str | None:
    """An id field: a string or an integer; absent, null and empty are ``None``."""
    if type(value) is str:
        return value or None
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise LogLineError("wrong_type", f"{name} must be a string, not {_kind_of(value)}")


_TRUE = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": False}


def _flag(value: object, name: str) -> bool:
    if value is None or value is False or value is True:
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE:
        return _TRUE[value.strip().lower()]
    if type(value) is int and value in (0, 1):
        return bool(value)
    raise LogLineError("wrong_type", f"{name} must be true or false, not {value!r}")


def _text(value: object) -> str | None:
    """``input``/``output``: a string as it is; any other JSON value as its compact JSON text."""
    if value is None or type(value) is str:
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _kind_of(value: object) -> str:
    return {dict: "an object", list: "an array", bool: "a boolean", float: "a number"}.get(
        type(value), type(value).__name__
    )


class EventMapper:
    """Turns the records of one layout into Events: a :data:`RecordMapper` for ``LogLayout``.

    Raises :class:`~sessionkit.LogLineError` naming the field and the problem (reasons
    ``missing_field``, ``wrong_type``, ``unknown_event_type``, ``bad_timestamp``,
    ``zoneless_timestamp``, ``invalid_event``).
    """

    #: Participants are cached by kind and name; the cache is emptied when it grows this large.
    CACHE_LIMIT = 1 << 16

    def __init__(self, layout: LogLayout | None = None, timestamps: TimestampParser | None = None):
        self.layout = layout = layout if layout is not None else LogLayout()
        self.timestamps = timestamps if timestamps is not None else TimestampParser()
        self._event_id = _getter(layout.event_id)
        self._session_id = _getter(layout.session_id)
        self._event_type = _getter(layout.event_type)
        self._initiator = _getter(layout.initiator)
        self._user_id = _getter(layout.user_id)
        self._parent_id = _getter(layout.parent_id)
        self._session_end = _getter(layout.session_end)
        self._input = _getter(layout.input)
        self._output = _getter(layout.output)
        self._metadata = _getter(layout.metadata)
        self._scopes = tuple(_getter(path) for path in layout.scope)
        self._times = tuple(_getter(path) for path in layout.time)
        self._participants: dict[tuple[ParticipantKind, str], Participant] = {}
        self._types: dict[str, tuple[ParticipantKind, ParticipantKind]] = {}

    def __call__(self, record: dict[str, Any], source: str, line: int) -> Event:
        layout = self.layout
        event_id = _id(self._event_id(record), layout.event_id) or f"{source}:{line}"
        for get_time in self._times:
            raw_time = get_time(record)
            if raw_time is not None:
                break
        else:
            raise LogLineError(
                "missing_field", f"no time field (looked for {', '.join(layout.time)})"
            )
        at: datetime = self.timestamps(raw_time)
        user_id = _id(self._user_id(record), layout.user_id)
        kinds = self._kinds(self._event_type(record))
        initiator = self._initiator_of(self._initiator(record), kinds, user_id)
        scope = None
        for get_scope in self._scopes:
            scope = _id(get_scope(record), "scope")
            if scope is not None:
                break
        metadata = self._metadata(record)
        if metadata is None:
            metadata = {}
        elif type(metadata) is not dict:
            raise LogLineError(
                "wrong_type", f"{layout.metadata} must be an object, not {_kind_of(metadata)}"
            )
        try:
            return Event(
                id=event_id,
                at=at,
                initiator=initiator,
                target=None if kinds is None else self._participant(kinds[1], kinds[1].value),
                user_id=user_id,
                session_id=_id(self._session_id(record), layout.session_id),
                parent_id=_id(self._parent_id(record), layout.parent_id),
                scope=scope or "",
                ends_session=_flag(self._session_end(record), layout.session_end),
                input=_text(self._input(record)),
                output=_text(self._output(record)),
                metadata=metadata,
            )
        except InvalidEventError as error:
            raise LogLineError("invalid_event", str(error)) from None

    def _kinds(self, value: object) -> tuple[ParticipantKind, ParticipantKind] | None:
        if value is None:
            return None
        if type(value) is not str:
            raise LogLineError(
                "wrong_type", f"{self.layout.event_type} must be a string, not {_kind_of(value)}"
            )
        kinds = self._types.get(value)
        if kinds is None:
            base, dot, subtype = value.lower().partition(".")
            found = EVENT_TYPES.get(base)
            if found is None or (dot and not subtype):
                raise LogLineError("unknown_event_type", f"unknown event type {value!r}")
            if len(self._types) < self.CACHE_LIMIT:
                self._types[value] = found
            kinds = found
        return kinds

    def _initiator_of(
        self,
        value: object,
        kinds: tuple[ParticipantKind, ParticipantKind] | None,
        user_id: str | None,
    ) -> Participant:
        """From the initiator object; else the event type's first kind, named as documented."""
        name: object = None
        if value is None:
            if kinds is None:
                raise LogLineError(
                    "missing_field",
                    f"no {self.layout.initiator} and no {self.layout.event_type} "
                    "to tell who sent the event",
                )
            kind = kinds[0]
        elif type(value) is dict:
            type_name = value.get("type")
            if type_name is None and kinds is not None:
                kind = kinds[0]
            elif type(type_name) is str and type_name.lower() in KIND_NAMES:
                kind = KIND_NAMES[type_name.lower()]
            else:
                raise LogLineError(
                    "wrong_type",
                    f"{self.layout.initiator}.type must be one of {', '.join(KIND_NAMES)}, "
                    f"not {type_name!r}",
                )
            name = _id(value.get("name"), f"{self.layout.initiator}.name")
        else:
            raise LogLineError(
                "wrong_type", f"{self.layout.initiator} must be an object, not {_kind_of(value)}"
            )
        if name is None:
            if kind is _USER:
                if user_id is None:
                    raise LogLineError(
                        "missing_field",
                        f"no {self.layout.user_id} to name the user who sent the event",
                    )
                name = user_id
            else:
                name = kind.value
        return self._participant(kind, name)  # type: ignore[arg-type]

    def _participant(self, kind: ParticipantKind, name: str) -> Participant:
        key = (kind, name)
        participant = self._participants.get(key)
        if participant is None:
            if len(self._participants) >= self.CACHE_LIMIT:
                self._participants.clear()
            participant = self._participants[key] = Participant(kind, name)
        return participant
