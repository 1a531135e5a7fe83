"""Where the fields of an event are found in a log record, and how a record becomes an Event.

The default :class:`LogLayout` is the wire format of AI-monitoring event APIs; ``docs/replay.md``
describes it field by field. The event types and participant kinds it understands are the two
tables below.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from sessionkit import Event, EventFields, LogLineError, Participant, ParticipantKind
from sessionkit.replay._repeats import OutputFollowUp
from sessionkit.replay._timestamps import TimestampParser, json_type

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

#: What a mapping function of your own looks like: (record, source name, line number) -> Event,
#: or an :class:`OutputFollowUp` for an output sent after its event. It may raise
#: :class:`~sessionkit.LogLineError` to reject a record with a reason of its choice.
RecordMapper = Callable[[dict[str, Any], str, int], "Event | OutputFollowUp"]


def _paths(value: str | tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(name.strip() for name in value.split(",") if name.strip())
    return tuple(value)


def _kind_map(
    value: Mapping[str, str] | tuple[tuple[str, str], ...],
) -> tuple[tuple[str, str], ...]:
    """``{value: kind name}`` as sorted pairs (hashable, so layouts compare and hash)."""
    pairs = value.items() if isinstance(value, Mapping) else value
    found = []
    for raw, kind in pairs:
        if kind.lower() not in KIND_NAMES:
            raise ValueError(
                f"{raw!r} maps to unknown participant kind {kind!r}; kinds: {', '.join(KIND_NAMES)}"
            )
        found.append((raw.lower(), kind.lower()))
    return tuple(sorted(found))


@attrs.frozen
class LogLayout:
    """The name of each field in a log record; dotted names reach into nested JSON objects.

    The defaults are the wire format of AI-monitoring event APIs. Any field may list
    alternatives separated by commas (``scope`` and ``time`` hold them as tuples): the first
    one present in a record is used. ``initiator_type`` and ``initiator_name`` build the
    initiator from two fields of their own instead of the ``initiator`` object, and ``kinds``
    maps values of a kind field (any case) to participant kinds, e.g.
    ``{"assistant": "llm", "system": "init"}``. With ``follow_ups`` (the default), a record
    that holds an event id, a time and an output but no input and nothing that says who sent it
    is an output sent after its event (an :class:`OutputFollowUp`). Change fields with
    :meth:`with_fields`, or :func:`attrs.evolve`.

    .. versionchanged:: 0.3.0
       Alternatives for every field; ``initiator_type``, ``initiator_name``, ``kinds`` and
       ``follow_ups``.
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
    initiator_type: str | None = None
    initiator_name: str | None = None
    kinds: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_kind_map)
    follow_ups: bool = True

    @staticmethod
    def preset(name: str) -> LogLayout:
        """The layout of a well-known tool's logs: ``aiceberg`` (the default), ``otel``
        (OpenTelemetry GenAI spans), ``openinference``, ``langfuse``, ``langsmith``. See
        ``sessionkit.replay.PRESETS`` and docs/replay.md. Raises :class:`ValueError` for
        another name.

        .. versionadded:: 0.3.0
        """
        from sessionkit.replay._presets import PRESETS

        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
        return PRESETS[name].layout

    def kind_names(self) -> dict[str, ParticipantKind]:
        """The values a kind field may hold (lower case), and the kind each names:
        :data:`KIND_NAMES`, with this layout's ``kinds`` mapped on top.

        .. versionadded:: 0.3.0
        """
        return {**KIND_NAMES, **{raw: KIND_NAMES[kind] for raw, kind in self.kinds}}

    def with_fields(self, fields: Mapping[str, str]) -> LogLayout:
        """This layout with some fields renamed, e.g. ``{"user_id": "account"}``.

        A name may list alternatives separated by commas; ``initiator.type`` and
        ``initiator.name`` are ``initiator_type`` and ``initiator_name``. Raises
        :class:`ValueError` for a field the layout does not have.
        """
        changes: dict[str, Any] = {
            name.replace("initiator.", "initiator_"): value for name, value in fields.items()
        }
        known = {a.name for a in attrs.fields(LogLayout)} - {"kinds", "follow_ups"}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(
                f"unknown field {unknown[0]!r}; the fields are: {', '.join(sorted(known))}"
            )
        return attrs.evolve(self, **changes)


def _dig(record: dict[str, Any], parts: tuple[str, ...]) -> Any:
    """The value at a dotted path in nested objects, or ``None``. Where a key itself holds
    dots (OpenTelemetry attribute names: ``attributes.gen_ai.operation.name``), the rest of the
    path is tried as one key."""
    value = record.get(parts[0])
    if value is None:
        return record.get(".".join(parts))
    last = len(parts) - 1
    for index in range(1, last + 1):
        if type(value) is not dict:
            return None
        found = value.get(parts[index])
        if found is None and index < last:
            return value.get(".".join(parts[index:]))
        value = found
    return value


def _path(name: str) -> tuple[str, tuple[str, ...] | None]:
    """A field name as (key, parts): parts is ``None`` for a top-level key (the fast case)."""
    parts = tuple(name.split("."))
    return name, (parts if len(parts) > 1 else None)


def _id(value: object, name: str) -> str | None:
    """An id field: a string or an integer; absent, null and empty are ``None``."""
    if type(value) is str:
        return value or None
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise LogLineError("wrong_type", f"{name} must be a string, not {json_type(value)}")


def _present(record: dict[str, Any], paths: tuple[tuple[str, tuple[str, ...] | None], ...]) -> Any:
    """The value of the first of ``paths`` present in ``record``, or ``None``."""
    for key, parts in paths:
        value = record.get(key) if parts is None else _dig(record, parts)
        if value is not None:
            return value
    return None


_NO_METADATA: dict[str, Any] = {}

_TRUE = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": False}


def _said_alone(initiator: object, event_type: object) -> bool:
    """Whether an initiator object and an event type alone say who sent an event and to whom:
    an object whose kind and name are strings (the name not empty), and an event type that is
    a string or absent. (What is said so may be cached by them.)"""
    if type(initiator) is not dict:
        return False
    kind, name = initiator.get("type"), initiator.get("name")
    return (
        type(kind) is str
        and type(name) is str
        and bool(name)
        and (event_type is None or type(event_type) is str)
    )


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


class EventMapper:
    """Turns the records of one layout into Events: a :data:`RecordMapper` for ``LogLayout``.

    Raises :class:`~sessionkit.LogLineError` naming the field and the problem (reasons
    ``missing_field``, ``wrong_type``, ``unknown_event_type``, ``bad_timestamp``,
    ``zoneless_timestamp``).
    """

    #: Participants are cached by kind and name; the cache is emptied when it grows this large.
    CACHE_LIMIT = 1 << 16

    def __init__(
        self, layout: LogLayout | None = None, timestamps: TimestampParser | None = None
    ) -> None:
        self.layout = layout = layout if layout is not None else LogLayout()
        self.timestamps = timestamps if timestamps is not None else TimestampParser()
        names = (
            layout.event_id,
            layout.user_id,
            layout.event_type,
            layout.initiator,
            layout.session_id,
            layout.parent_id,
            layout.session_end,
            layout.input,
            layout.output,
            layout.metadata,
        )
        # A field named by no name (``""``) is never present.
        alternatives = [tuple(_path(n) for n in _paths(names)) or (("", None),) for names in names]
        fields = tuple(paths[0] for paths in alternatives)
        #: the first name of each field, read with one ``map(record.get, ...)``; then the
        #: dotted ones, by index, read again through nested objects
        self._keys = tuple(key for key, _ in fields)
        self._dotted = tuple((i, parts) for i, (_, parts) in enumerate(fields) if parts)
        # The fields with alternatives: their index, and the paths tried when the first is absent.
        self._fallbacks = tuple((i, paths[1:]) for i, paths in enumerate(alternatives) if paths[1:])
        self._composite = (
            None
            if layout.initiator_type is None and layout.initiator_name is None
            else tuple(
                tuple(_path(name) for name in _paths(names or ""))
                for names in (layout.initiator_type, layout.initiator_name)
            )
        )
        self._type_field = layout.initiator_type or f"{layout.initiator}.type"
        self._name_field = layout.initiator_name or f"{layout.initiator}.name"
        self._kind_names = layout.kind_names()
        self._follow_ups = layout.follow_ups
        self._scopes = tuple(_path(name) for name in layout.scope)
        self._times = tuple(_path(name) for name in layout.time)
        self._participants: dict[tuple[ParticipantKind, str], Participant] = {}
        # Senders and targets already seen, by event type and the initiator's kind and name;
        # event types by name.
        self._senders: dict[tuple[object, str, str], tuple[Participant, Participant | None]] = {}
        self._types: dict[str, tuple[tuple[ParticipantKind, ParticipantKind], Participant]] = {}

    def __call__(self, record: dict[str, Any], source: str, line: int) -> Event | OutputFollowUp:
        fields = self.fields(record, source, line)
        return fields if type(fields) is OutputFollowUp else Event.from_fields(fields)  # type: ignore[arg-type]

    def fields(
        self, record: dict[str, Any], source: str, line: int
    ) -> EventFields | OutputFollowUp:
        """The fields of the record's Event, in :data:`EventFields` order, each a value the
        Event accepts (the metadata not yet frozen); or the output sent alone. Raises what
        calling the mapper raises. A replay reads these to build no Event per line."""
        # The hot path of a replay: fields are read with dict.get where the name has no dot.
        get = record.get
        values = list(map(get, self._keys))
        for index, path in self._dotted:  # a key that holds the dots itself is found by _dig
            values[index] = _dig(record, path)
        if self._fallbacks:
            for index, paths in self._fallbacks:
                if values[index] is None:
                    values[index] = _present(record, paths)
        if self._composite is not None:
            values[3] = self._initiator_fields(record)
        event_id, user_id, event_type, initiator, session_id, parent_id = values[:6]
        layout = self.layout
        if values[7] is None and values[8] is not None and self._follow_ups:
            follow_up = self._follow_up(record, values)
            if follow_up is not None:
                return follow_up
        if type(event_id) is not str or not event_id:
            event_id = _id(event_id, layout.event_id) or f"{source}:{line}"
        key, parts = self._times[0]  # most logs have the first time field: no call for it
        raw_time = get(key) if parts is None else _dig(record, parts)
        if raw_time is None:
            raw_time = self._first_of(record, self._times, "time")
        at = self.timestamps(raw_time)
        if user_id is not None and (type(user_id) is not str or not user_id):
            user_id = _id(user_id, layout.user_id)
        if session_id is not None and (type(session_id) is not str or not session_id):
            session_id = _id(session_id, layout.session_id)
        if parent_id is not None and (type(parent_id) is not str or not parent_id):
            parent_id = _id(parent_id, layout.parent_id)
        sender, target = self._who(initiator, event_type, user_id)
        ends, text_in, text_out, metadata = values[6:]
        return (
            event_id,
            at,
            sender,
            target,
            user_id,
            session_id,
            parent_id,
            self._scope(record) if self._scopes else "",
            False if ends is None else _flag(ends, layout.session_end),
            text_in if text_in is None or type(text_in) is str else _text(text_in),
            text_out if text_out is None or type(text_out) is str else _text(text_out),
            metadata
            if type(metadata) is dict
            else (_NO_METADATA if metadata is None else self._metadata(metadata)),
        )

    def _follow_up(self, record: dict[str, Any], values: list[Any]) -> OutputFollowUp | None:
        """An output sent alone for an earlier event: the event's id, a time and the output,
        nothing that says who sent what (no initiator, event type, session id, parent link or
        session end). ``None`` for any other record."""
        event_id, _, event_type, initiator, session_id, parent_id, ends = values[:7]
        if any(v is not None for v in (event_type, initiator, session_id, parent_id)) or (
            ends is not None and ends is not False
        ):
            return None
        event_id = _id(event_id, self.layout.event_id)
        if event_id is None:
            return None
        at = self.timestamps(self._first_of(record, self._times, "time"))
        scope = self._scope(record) if self._scopes else ""
        return OutputFollowUp(event_id, at, _text(values[8]) or "", scope)

    def _initiator_fields(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The initiator as an object, from its kind field and its name field."""
        kind_paths, name_paths = self._composite  # type: ignore[misc]
        kind, name = _present(record, kind_paths), _present(record, name_paths)
        return None if kind is None and name is None else {"type": kind, "name": name}

    def _first_of(
        self,
        record: dict[str, Any],
        paths: tuple[tuple[str, tuple[str, ...] | None], ...],
        what: str,
    ) -> object:
        """The first of ``paths`` present in ``record``; ``missing_field`` if none is."""
        for key, parts in paths:
            value = record.get(key) if parts is None else _dig(record, parts)
            if value is not None:
                return value
        names = ", ".join(key for key, _ in paths)
        raise LogLineError("missing_field", f"no {what} field (looked for {names})")

    def _who(
        self, initiator: object, event_type: object, user_id: str | None
    ) -> tuple[Participant, Participant | None]:
        """The initiator and target, from the initiator object and the event type; cached
        when the object's kind and name are strings (then they alone say who sent it)."""
        if _said_alone(initiator, event_type):
            key = (event_type, initiator["type"], initiator["name"])  # type: ignore[index]
            found = self._senders.get(key)
            if found is None:
                found = self._sender_and_target(initiator, event_type, user_id)
                if len(self._senders) < self.CACHE_LIMIT:
                    self._senders[key] = found
            return found
        return self._sender_and_target(initiator, event_type, user_id)

    def _sender_and_target(
        self, initiator: object, event_type: object, user_id: str | None
    ) -> tuple[Participant, Participant | None]:
        if event_type is None:
            kinds = target = None
        else:
            found = self._types.get(event_type) if type(event_type) is str else None
            if found is None:
                found = self._event_type(event_type)
            kinds, target = found
        return self._initiator_of(initiator, kinds, user_id), target

    def _scope(self, record: dict[str, Any]) -> str:
        """The first scope field that holds a non-empty id, else the default scope."""
        for key, parts in self._scopes:
            value = record.get(key) if parts is None else _dig(record, parts)
            if value is not None:
                scope = (value if type(value) is str and value else _id(value, key)) or ""
                if scope:
                    return scope
        return ""

    def _metadata(self, value: object) -> dict[str, Any]:
        if type(value) is not dict:
            raise LogLineError(
                "wrong_type", f"{self.layout.metadata} must be an object, not {json_type(value)}"
            )
        return value

    def _event_type(
        self, value: object
    ) -> tuple[tuple[ParticipantKind, ParticipantKind], Participant]:
        """An event type's kinds and its target participant (cached by name)."""
        kinds = self._kinds(value)
        assert kinds is not None and isinstance(value, str)
        found = (kinds, self._participant(kinds[1], kinds[1].value))
        if len(self._types) < self.CACHE_LIMIT:
            self._types[value] = found
        return found

    def _kinds(self, value: object) -> tuple[ParticipantKind, ParticipantKind] | None:
        if value is None:
            return None
        if type(value) is not str:
            raise LogLineError(
                "wrong_type", f"{self.layout.event_type} must be a string, not {json_type(value)}"
            )
        base, dot, subtype = value.lower().partition(".")
        kinds = EVENT_TYPES.get(base)
        if kinds is None or (dot and not subtype):
            raise LogLineError("unknown_event_type", f"unknown event type {value!r}")
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
            kind = self._kind_of(value.get("type"), kinds)
            name = _id(value.get("name"), self._name_field)
        else:
            raise LogLineError(
                "wrong_type", f"{self.layout.initiator} must be an object, not {json_type(value)}"
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

    def _kind_of(
        self, type_name: object, kinds: tuple[ParticipantKind, ParticipantKind] | None
    ) -> ParticipantKind:
        """The initiator's kind: its type field's value (mapped by ``kinds`` of the layout),
        else the event type's first kind."""
        if type(type_name) is str and type_name.lower() in self._kind_names:
            return self._kind_names[type_name.lower()]
        if type_name is None:
            if kinds is None:
                raise LogLineError(
                    "missing_field", f"no {self._type_field} to tell who sent the event"
                )
            return kinds[0]
        if type(type_name) is str:
            raise LogLineError(
                "unknown_kind",
                f"unknown participant kind {type_name!r} in {self._type_field} (kinds: "
                f"{', '.join(self._kind_names)}; map other values with --kind VALUE=KIND)",
            )
        raise LogLineError(
            "wrong_type",
            f"{self._type_field} must be a participant kind, not {json_type(type_name)}",
        )

    def _participant(self, kind: ParticipantKind, name: str) -> Participant:
        key = (kind, name)
        participant = self._participants.get(key)
        if participant is None:
            if len(self._participants) >= self.CACHE_LIMIT:
                self._participants.clear()
            participant = self._participants[key] = Participant(kind, name)
        return participant
