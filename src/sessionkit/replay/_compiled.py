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
from typing import Any

from sessionkit.replay._layout import (
    _NO_METADATA,
    EventFields,
    EventMapper,
    _dig,
    _flag,
    _paths,
    _text,
)
from sessionkit.replay._repeats import OutputFollowUp

__all__ = ["FieldsOf", "compile_fields"]

#: What maps a record to its Event's fields (or an output sent alone), as
#: :meth:`EventMapper.fields` does.
FieldsOf = Callable[[dict[str, Any], str, int], "EventFields | OutputFollowUp"]

_NAMES = (
    "event_id", "user_id", "event_type", "initiator", "session_id", "parent_id", "ends",
    "text_in", "text_out", "metadata",
)  # fmt: skip

_TEMPLATE = """\
def fields(record, source, line):
    get = record.get
{reads}
    raw_time = {time}
    if (
        type(event_id) is not str or not event_id or raw_time is None
        or (user_id is not None and (type(user_id) is not str or not user_id))
        or (session_id is not None and (type(session_id) is not str or not session_id))
        or (parent_id is not None and (type(parent_id) is not str or not parent_id)){unusual}
    ):
        return generic(record, source, line)
    at = timestamps(raw_time)
    sender, target = who(initiator, event_type, user_id)
    scope = {scope}
    return (
        event_id, at, sender, target, user_id, session_id, parent_id, scope,
        False if ends is None else flag(ends, END),
        text_in if text_in is None or type(text_in) is str else text(text_in),
        text_out if text_out is None or type(text_out) is str else text(text_out),
        metadata if type(metadata) is dict
        else (NO_METADATA if metadata is None else check_metadata(metadata)),
    )
"""


def compile_fields(mapper: EventMapper) -> FieldsOf:
    """``mapper.fields``, compiled for its layout (itself, for an initiator built from two
    fields: that case is not compiled)."""
    layout = mapper.layout
    if layout.initiator_type is not None or layout.initiator_name is not None or not layout.time:
        return mapper.fields
    names = (
        layout.event_id, layout.user_id, layout.event_type, layout.initiator,
        layout.session_id, layout.parent_id, layout.session_end, layout.input, layout.output,
        layout.metadata,
    )  # fmt: skip
    firsts = [(var, _paths(name) or ("",)) for var, name in zip(_NAMES, names, strict=True)]
    reads = "\n".join(f"    {var} = {_read(paths[0])}" for var, paths in firsts)
    # A field with alternatives whose first name is absent: the mapper tries the others.
    unusual = "".join(f"\n        or {var} is None" for var, paths in firsts if len(paths) > 1)
    if layout.follow_ups:
        unusual += "\n        or (text_in is None and text_out is not None)"
    first_scope = layout.scope[0] if layout.scope else None
    scope = (
        '""'
        if first_scope is None
        else f"_s if type(_s := {_read(first_scope)}) is str and _s else scope_of(record)"
    )
    source = _TEMPLATE.format(reads=reads, time=_read(layout.time[0]), unusual=unusual, scope=scope)
    namespace: dict[str, Any] = {
        "generic": mapper.fields,
        "timestamps": mapper.timestamps,
        "who": mapper._who,
        "scope_of": mapper._scope,
        "check_metadata": mapper._metadata,
        "flag": _flag,
        "END": layout.session_end,
        "text": _text,
        "NO_METADATA": _NO_METADATA,
        "dig": _dig,
    }
    exec(compile(source, f"<sessionkit fields of {layout!r}>", "exec"), namespace)
    compiled: FieldsOf = namespace["fields"]
    return compiled


def _read(name: str) -> str:
    """The expression that reads the field ``name`` as :func:`_dig` does (``get`` is the
    record's ``get``): a dotted name of two parts inline, a longer one through ``dig``."""
    parts = tuple(name.split("."))
    if len(parts) == 1:
        return f"get({name!r})"
    if len(parts) == 2:
        return (
            f"(_v.get({parts[1]!r}) if type(_v := get({parts[0]!r})) is dict "
            f"else (get({name!r}) if _v is None else None))"
        )
    return f"dig(record, {parts!r})"
