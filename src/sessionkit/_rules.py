"""The parameters of the grouping rules, and the function that names implicit sessions.

The Sessionizer (``_sessionizer.py``) applies the rules in the precedence
:class:`~sessionkit.GroupingRule` lists (duplicate, explicit id, parent link, join window, new
session). ``docs/rules.md`` is the spec in prose, with a worked example for each rule.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import timedelta

import attrs

from sessionkit._errors import InvalidRulesError
from sessionkit._model import ParticipantKind

__all__ = ["SESSION_ID_NAMESPACE", "Rules", "derive_session_id"]

#: The UUID namespace of implicit session ids (rule 9). Never change it: ids would change.
SESSION_ID_NAMESPACE = uuid.UUID("6f1c3a52-5d0e-4c1b-9a53-0b7e6f6f2d11")

#: Defaults of :class:`Rules`.
DEFAULT_JOIN_WINDOW = timedelta(seconds=45)
DEFAULT_IDLE_TIMEOUT = timedelta(hours=24)
DEFAULT_HEADER_KINDS = frozenset({ParticipantKind.USER, ParticipantKind.AGENT})


def _positive(instance: Rules, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if not isinstance(value, timedelta):
        raise InvalidRulesError(f"{attribute.name} must be a timedelta, not {value!r}")
    if value <= timedelta(0):
        raise InvalidRulesError(f"{attribute.name} must be positive, not {value}")


def _header_kinds(value: Iterable[ParticipantKind]) -> frozenset[ParticipantKind]:
    kinds = frozenset(value)
    for kind in kinds:
        if not isinstance(kind, ParticipantKind):
            raise InvalidRulesError(f"header_kinds must hold ParticipantKind members, not {kind!r}")
    return kinds


@attrs.frozen
class Rules:
    """The parameters of the grouping rules.

    * ``join_window``: a user key's next event joins its previous event's open session when it
      comes at most this much later (inclusive: exactly the window joins). Default 45 s.
    * ``idle_timeout``: a session closes once this much time passes with no input (inclusive:
      exactly the timeout closes). Default 24 h.
    * ``header_kinds``: a session's first event is its header when its initiator is of one of
      these kinds. Default: users and agents.

    Raises :class:`~sessionkit.InvalidRulesError` when a duration is not a positive
    ``timedelta``.
    """

    join_window: timedelta = attrs.field(default=DEFAULT_JOIN_WINDOW, validator=_positive)
    idle_timeout: timedelta = attrs.field(default=DEFAULT_IDLE_TIMEOUT, validator=_positive)
    header_kinds: frozenset[ParticipantKind] = attrs.field(
        default=DEFAULT_HEADER_KINDS, converter=_header_kinds
    )


# SHA-1 already fed the namespace; each id copies it and adds its name (as uuid.uuid5 hashes them).
_SEEDED_SHA1 = hashlib.sha1(SESSION_ID_NAMESPACE.bytes, usedforsecurity=False)
_VARIANT = {f"{n:x}": f"{n & 0x3 | 0x8:x}" for n in range(16)}


# Rule 9: the id of a session that the caller did not name.
def derive_session_id(scope: str, first_event_id: str) -> str:
    """The id of an implicit session: a UUIDv5 of its scope and its first event's id.

    It equals ``str(uuid.uuid5(SESSION_ID_NAMESPACE, f"{len(scope)}:{scope}{first_event_id}"))``
    (the length prefix keeps any two ``(scope, id)`` pairs apart; lone surrogates, which
    ``uuid.uuid5`` cannot encode, are hashed as ``surrogatepass`` UTF-8), computed without building
    :class:`uuid.UUID` objects, which would cost a third of ``feed``'s time. The result is the
    same in every process, on every day.
    """
    sha1 = _SEEDED_SHA1.copy()
    sha1.update(f"{len(scope)}:{scope}{first_event_id}".encode("utf-8", "surrogatepass"))
    h = sha1.hexdigest()
    # Set the version (5) and the RFC 4122 variant bits, as uuid.uuid5 does.
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"
