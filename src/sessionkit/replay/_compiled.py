"""A layout's mapping compiled to straight-line code, for the common case of a record.

:meth:`EventMapper.fields` reads a record's fields with loops over the layout's names; that
generality costs about a microsecond a line. :func:`compile_fields` writes the same reading
out for one layout (as attrs writes an ``__init__`` for one class) and runs it through
``exec``: each field read once by its first name, then the values checked. A record whose
values are all of the usual kinds (a non-empty string id and time, ids that are strings, the
first name of every field that has alternatives present, not an output sent alone) is mapped
there with the very functions the mapper uses; any other record goes to
:meth:`EventMapper.fields` whole, so every value, reason and detail is the mapper's own
(``tests/test_lean.py`` checks the two agree, with Hypothesis).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from sessionkit import EventFields, Participant
from sessionkit.replay._layout import (
    _NO_METADATA,
    EventMapper,
    _dig,
    _flag,
    _paths,
    _said_alone,
    _text,
)
from sessionkit.replay._repeats import OutputFollowUp

__all__ = ["FieldsOf", "TypedFieldsOf", "compile_fields", "compile_typed"]

#: What maps a record to its Event's fields (or an output sent alone), as
#: :meth:`EventMapper.fields` does.
FieldsOf = Callable[[dict[str, Any], str, int], "EventFields | OutputFollowUp"]
#: What maps a JSON Lines line straight to its Event's fields, or ``None`` (see
#: :func:`compile_typed`).
TypedFieldsOf = Callable[[bytes, str, int], "EventFields | None"]

_NAMES = (
    "event_id", "user_id", "event_type", "initiator", "session_id", "parent_id", "ends",
    "text_in", "text_out", "metadata",
)  # fmt: skip

_TEMPLATE = """\
def fields({argument}, source, line):
{prologue}
{reads}
    raw_time = {time}
    if (
        type(event_id) is not str or not event_id or raw_time is None
        or (user_id is not None and (type(user_id) is not str or not user_id))
        or (session_id is not None and (type(session_id) is not str or not session_id))
        or (parent_id is not None and (type(parent_id) is not str or not parent_id)){unusual}
    ):
        return {otherwise}
    at = timestamps(raw_time)
    sender, target = {who}
    {scope}
    return (
        event_id, at, sender, target, user_id, session_id, parent_id, scope,
        False if ends is None else flag(ends, END),
        text_in if text_in is None or type(text_in) is str else text(text_in),
        text_out if text_out is None or type(text_out) is str else text(text_out),
        metadata if type(metadata) is dict
        else (NO_METADATA if metadata is None else check_metadata(metadata)),
    )
"""


#: Who sent an event and to whom, from the initiator object and the event type.
_WHO = "who(initiator, event_type, user_id)"
#: The same from the initiator's JSON text, looked up first among those seen (by event type,
#: then text: no tuple to build and hash per line).
_WHO_RAW = (
    "senders.get(event_type, NONE_SEEN).get(bytes(initiator))"
    " or who(initiator, event_type, user_id)"
)


#: The longest initiator text kept to look up who sent a line (bytes).
_SHORT = 256

#: Who sent a line and to whom, by event type and then by the initiator's JSON text.
_Senders = dict[str | None, dict[bytes, tuple[Participant, Participant | None]]]
#: What ``senders`` gives for an event type not seen (never written to).
_NONE_SEEN: dict[bytes, tuple[Participant, Participant | None]] = {}


#: How a typed reading starts: what msgspec does not decode into the structure is not mapped.
_DECODE = """\
    try:
        record = decode(raw)
    except Exception:
        return None"""


class _Layout:
    """The names a layout's compiled reading reads first: the ten fields' and the time's; and
    every name of the scope."""

    def __init__(self, mapper: EventMapper) -> None:
        layout = mapper.layout
        names = (
            layout.event_id, layout.user_id, layout.event_type, layout.initiator,
            layout.session_id, layout.parent_id, layout.session_end, layout.input,
            layout.output, layout.metadata,
        )  # fmt: skip
        self.fields = [
            (var, _paths(name) or ("",)) for var, name in zip(_NAMES, names, strict=True)
        ]
        self.time = layout.time[0]
        self.scopes = layout.scope
        # A field with alternatives whose first name is absent: the mapper tries the others.
        self.unusual = "".join(
            f"\n        or {var} is None" for var, paths in self.fields if len(paths) > 1
        )
        if layout.follow_ups:
            self.unusual += "\n        or (text_in is None and text_out is not None)"

    def names(self) -> list[str]:
        return [paths[0] for _, paths in self.fields] + [self.time] + list(self.scopes)


def _compilable(mapper: EventMapper) -> bool:
    """Whether the layout's reading is compiled: not for an initiator built from two fields,
    nor without a time field."""
    layout = mapper.layout
    return layout.initiator_type is None and layout.initiator_name is None and bool(layout.time)


def compile_fields(mapper: EventMapper) -> FieldsOf:
    """``mapper.fields``, compiled for its layout (itself, where :func:`_compilable` says no)."""
    if not _compilable(mapper):
        return mapper.fields
    shape = _Layout(mapper)
    read = partial(_read, _get)
    reads = "\n".join(f"    {var} = {read(paths[0])}" for var, paths in shape.fields)
    scope = (
        f"scope = _s if type(_s := {read(shape.scopes[0])}) is str and _s else scope_of(record)"
        if shape.scopes
        else 'scope = ""'
    )
    source = _TEMPLATE.format(
        argument="record",
        prologue="    get = record.get",
        reads=reads,
        time=read(shape.time),
        unusual=shape.unusual,
        otherwise="generic(record, source, line)",
        who=_WHO,
        scope=scope,
    )
    compiled: FieldsOf = _compiled(source, mapper, {"generic": mapper.fields, "dig": _dig})
    return compiled


def compile_typed(mapper: EventMapper) -> TypedFieldsOf | None:
    """With ``msgspec`` (the ``sessionkit[fast]`` extra): a function that decodes a JSON Lines
    line into a typed structure of just the names the layout reads first, and maps it as
    :func:`compile_fields` maps the usual record; ``None`` for a line it does not map (not an
    object, not what msgspec reads, or unusual), which then takes the path of dicts. ``None``
    itself without msgspec, for a layout not compiled, or one that reads three levels deep.

    Where the initiator and the event type are top-level names read for nothing else, the
    initiator is kept as its JSON text (``msgspec.Raw``, no dict built) and the event type
    must be a string or absent (else the path of dicts reads the line): who sent a line is
    then looked up by the two, and mapped by the mapper the first time."""
    try:
        import msgspec
    except ImportError:
        return None
    if not _compilable(mapper):
        return None
    shape = _Layout(mapper)
    names = shape.names()
    if any(name.count(".") > 1 for name in names):
        return None
    # A field per top-level name read, and per dotted name (a key that holds the dots itself).
    keys = sorted({part for name in names for part in (name.split(".")[0], name)})
    attribute = {key: f"f{index}" for index, key in enumerate(keys)}
    types: dict[str, Any] = dict.fromkeys(keys, (Any, None))
    senders: _Senders = {}
    raw = _raw_initiator(mapper, names)
    if raw is not None:  # who sent it: looked up by the initiator's JSON text and the event type
        initiator, event_type = raw
        types[initiator] = (msgspec.Raw, msgspec.Raw(b"null"))
        types[event_type] = (str | None, None)
        who = _WHO_RAW
        who_of = _who_of_raw(mapper, senders, msgspec.json.Decoder().decode)
    else:
        who, who_of = _WHO, mapper._who
    record_type = msgspec.defstruct(
        "Record",
        [(attribute[key], *types[key]) for key in keys],
        rename={attribute[key]: key for key in keys},
        gc=False,
    )

    read = partial(_read, lambda key: f"record.{attribute[key]}")
    source = _TEMPLATE.format(
        argument="raw",
        prologue=_DECODE,
        reads="\n".join(f"    {var} = {read(paths[0])}" for var, paths in shape.fields),
        time=read(shape.time),
        unusual=shape.unusual,
        otherwise="None",
        who=who,
        scope=_typed_scope([read(name) for name in shape.scopes]),
    )
    decode = msgspec.json.Decoder(record_type).decode
    extra = {"decode": decode, "who": who_of, "senders": senders, "NONE_SEEN": _NONE_SEEN}
    typed: TypedFieldsOf = _compiled(source, mapper, extra)
    return typed


def _raw_initiator(mapper: EventMapper, names: list[str]) -> tuple[str, str] | None:
    """The initiator's and the event type's names, when the typed reading may keep the
    initiator as its JSON text: both are top-level names without alternatives, read for no
    other field."""
    layout = mapper.layout
    initiator, event_type = layout.initiator, layout.event_type
    for name in (initiator, event_type):
        parents = [other for other in names if other.split(".")[0] == name]
        if not name or "." in name or "," in name or parents != [name]:
            return None
    return initiator, event_type


def _who_of_raw(
    mapper: EventMapper,
    senders: _Senders,
    decode: Callable[[Any], object],
) -> Callable[[Any, str | None, str | None], tuple[Participant, Participant | None]]:
    """``who`` for an initiator kept as its JSON text (``msgspec.Raw``): the mapper's, given
    the object, and kept in ``senders`` by the text and the event type where they alone say
    who sent the event (as the mapper caches them) and the text is short (the cache stays
    small whatever the lines hold: ``CACHE_LIMIT`` texts in all)."""
    kept = 0

    def who_of(
        raw: Any, event_type: str | None, user_id: str | None
    ) -> tuple[Participant, Participant | None]:
        nonlocal kept
        initiator = decode(raw)
        found = mapper._who(initiator, event_type, user_id)
        text = bytes(raw)
        if len(text) <= _SHORT and _said_alone(initiator, event_type) and kept < mapper.CACHE_LIMIT:
            of_type = senders.setdefault(event_type, {})
            if text not in of_type:
                kept += 1
            of_type[text] = found
        return found

    return who_of


def _typed_scope(reads: list[str]) -> str:
    """The typed reading's scope: the first scope name present, if it holds a non-empty
    string; none present, the default scope. Anything else (a number, an empty string) the
    path of dicts reads. (Written out name by name: no tuple and loop per line.)"""
    if not reads:
        return 'scope = ""'
    present = "".join(f"\n    if scope is None:\n        scope = {read}" for read in reads[1:])
    return (
        f"scope = {reads[0]}{present}"
        "\n    if scope is None:"
        '\n        scope = ""'
        "\n    elif type(scope) is not str or not scope:"
        "\n        return None"
    )


def _compiled(source: str, mapper: EventMapper, extra: dict[str, Any]) -> Any:
    """The function ``fields`` that ``source`` defines, with the mapper's steps at hand."""
    namespace: dict[str, Any] = {
        "timestamps": mapper.timestamps.__call__,  # bound: no look-up of __call__ per line
        "who": mapper._who,
        "scope_of": mapper._scope,
        "check_metadata": mapper._metadata,
        "flag": _flag,
        "END": mapper.layout.session_end,
        "text": _text,
        "NO_METADATA": _NO_METADATA,
        **extra,
    }
    exec(compile(source, f"<sessionkit fields of {mapper.layout!r}>", "exec"), namespace)
    return namespace["fields"]


def _get(key: str) -> str:
    """The expression that reads a top-level key of a dict (``get`` is the record's ``get``)."""
    return f"get({key!r})"


def _read(key_of: Callable[[str], str], name: str) -> str:
    """The expression that reads the field ``name`` as :func:`_dig` does, where ``key_of``
    gives the expression that reads a top-level key: a dotted name of two parts inline, a
    longer one through ``dig`` (in a dict only)."""
    parts = tuple(name.split("."))
    if len(parts) == 1:
        return key_of(name)
    if len(parts) == 2:
        return (
            f"(_v.get({parts[1]!r}) if type(_v := {key_of(parts[0])}) is dict "
            f"else ({key_of(name)} if _v is None else None))"
        )
    return f"dig(record, {parts!r})"
