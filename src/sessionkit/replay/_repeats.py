"""Lines that repeat a remembered event id: the same event again, its output sent later, or
other content.

The core decides that an event id is remembered (rule 1); what the repeat *says* is compared
here, with a fingerprint of each remembered event: a hash of who sent it and where it belongs
(initiator, target, user id, session id, parent link, session end), of its input and of its
output — about a hundred bytes, never the payloads — which the Sessionizer keeps with the
event while it remembers it (and forgets with it). A repeat that says the same, or less (no
input, or no output), is a plain duplicate; one that also carries the output the event lacked
sets that output (a follow-up); any other is a conflicting duplicate. Times are not compared:
a repeat's time says when it was sent again, or when its output came.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from sessionkit import (
    ConflictingDuplicateError,
    Event,
    EventFields,
    Participant,
    Sessionizer,
    UnknownEventError,
)
from sessionkit.storage import Tracker

__all__ = ["OutputFollowUp", "Repeats"]


class OutputFollowUp(NamedTuple):
    """An output sent after its event, alone: the event's ``id`` (in ``scope``), when the
    output came (``at``), and the ``output``. What a mapper returns for such a record.

    .. versionadded:: 0.3.0
    """

    id: str
    at: datetime
    output: str
    scope: str = ""


#: ``session_of(event id, scope, at)``: the session of an event remembered at ``at``, or None.
SessionOf = Callable[[str, str, "datetime | None"], "str | None"]
#: ``record_output(event id, output, scope, at)``: where a follow-up's output is recorded.
RecordOutput = Callable[[str, str, str, datetime], object]

#: What a conflict names, for each part of a fingerprint.
_WHO = ("initiator", "target", "user_id", "session_id", "parent_id", "ends_session")
_WHAT = ("input",)

#: An event's fingerprint, 24 bytes (not a tuple: the garbage collector would scan a tuple per
#: remembered event): the hashes of who sent it and where it belongs, of its input and of its
#: output, the last two 0 when absent (odd when present).
Fingerprint = bytes
_HASHES = struct.Struct("=qqq")
_pack, _unpack = _HASHES.pack, _HASHES.unpack


def fingerprint(event: Event) -> Fingerprint:
    """An event's :data:`Fingerprint`. Hashes are compared within one process only."""
    return fingerprint_of(
        event.initiator, event.target, event.user_id, event.session_id, event.parent_id,
        event.ends_session, event.input, event.output,
    )  # fmt: skip


def fingerprint_of(
    initiator: Participant,
    target: Participant | None,
    user_id: str | None,
    session_id: str | None,
    parent_id: str | None,
    ends_session: bool,
    text_in: str | None,
    text_out: str | None,
) -> Fingerprint:
    """The :data:`Fingerprint` of an event with these fields."""
    who = (
        initiator.id, id(initiator.kind), None if target is None else target.id,
        None if target is None else id(target.kind), user_id, session_id, parent_id,
        ends_session,
    )  # fmt: skip
    return _pack(
        hash(who),
        0 if text_in is None else hash(text_in) | 1,
        0 if text_out is None else hash(text_out) | 1,
    )


def fields_fingerprint(fields: EventFields) -> Fingerprint:
    """The :data:`Fingerprint` of the event with these fields."""
    f = fields
    return fingerprint_of(f[2], f[3], f[4], f[5], f[6], f[8], f[9], f[10])


def _output_hash(text: str) -> int:
    return hash(text) | 1


def compare(kept: Fingerprint, repeat: Fingerprint) -> tuple[tuple[str, ...], bool]:
    """The fields where a repeat contradicts the kept event (as far as fingerprints tell), and
    whether it adds an output."""
    kept_who, kept_what, kept_out = _unpack(kept)
    who, what, out = _unpack(repeat)
    differ: tuple[str, ...] = ()
    if who != kept_who:
        differ += _WHO
    if what and what != kept_what:
        differ += _WHAT
    if out and kept_out and out != kept_out:
        differ += ("output",)
    return differ, bool(out) and not kept_out


class Repeats:
    """What a replay knows of remembered events, to tell repeats of their ids apart
    (:func:`replay_records` makes one for the Sessionizer or Tracker it is given).

    ``group`` is the Sessionizer or Tracker that groups: it tells whether an event is still
    remembered (``session_of``), and a Tracker records a follow-up's output. With ``lookup``
    (a store's recorded event by scope and id) nothing is kept: the store is asked when an id
    repeats. Without it, the fingerprint of each accepted event is kept with the event in
    ``group`` itself (:meth:`keep`), and forgotten with it.

    .. versionadded:: 0.3.0
    """

    def __init__(
        self,
        group: Sessionizer | Tracker,
        lookup: Callable[[str, str], Event | None] | None = None,
    ) -> None:
        self._session_of: SessionOf = group.session_of
        self._record_output: RecordOutput | None = (
            group.record_output if isinstance(group, Tracker) else None
        )
        self._lookup = lookup
        self._group = group
        #: whether :meth:`keep` keeps anything (not when a store is asked)
        self.keeps = lookup is None

    def keep(self, event_id: str, scope: str, kept: Fingerprint) -> None:
        """Keep the fingerprint of an accepted event (:func:`fingerprint_of`) with it, while
        it is remembered. (The lean replay gives it to the Sessionizer's door instead.)"""
        if self.keeps:
            self._group._set_note(event_id, scope, kept)

    def remember(self, event: Event) -> None:
        """Keep the fingerprint of an accepted event."""
        self.keep(event.id, event.scope, fingerprint(event))

    def _fingerprint(self, scope: str, event_id: str) -> Fingerprint | None:
        if self._lookup is not None:
            event = self._lookup(scope, event_id)
            return None if event is None else fingerprint(event)
        return self._group._note(event_id, scope)

    def repeated(self, event: Event, session_id: str) -> str | None:
        """A duplicate ``event`` (of ``session_id``): ``None`` if it says nothing new, else
        ``"output"`` once its output is recorded as the event's. Raises
        :class:`~sessionkit.ConflictingDuplicateError` naming the fields it contradicts."""
        kept = self._fingerprint(event.scope, event.id)
        if kept is None:  # not kept (a grouping restored from elsewhere): cannot compare
            return None
        differ, adds_output = compare(kept, fingerprint(event))
        if differ:
            raise ConflictingDuplicateError(event.id, session_id, differ, event)
        if not adds_output:
            return None
        assert event.output is not None
        self._set_output(event.scope, event.id, event.output, event.at, kept)
        return "output"

    def follow_up(self, output: OutputFollowUp) -> str:
        """Record an output sent alone; return its event's session id. Raises
        :class:`~sessionkit.UnknownEventError` when the event is not remembered, and
        :class:`~sessionkit.ConflictingDuplicateError` when it already has another output."""
        session_id = self._session_of(output.id, output.scope, output.at)
        kept = None if session_id is None else self._fingerprint(output.scope, output.id)
        if session_id is None or kept is None:
            raise UnknownEventError(output.id, output.scope)
        kept_out = _unpack(kept)[2]
        if kept_out:
            if kept_out != _output_hash(output.output):
                raise ConflictingDuplicateError(output.id, session_id, ("output",))
            return session_id
        self._set_output(output.scope, output.id, output.output, output.at, kept)
        return session_id

    def _set_output(
        self, scope: str, event_id: str, text: str, at: datetime, kept: Fingerprint
    ) -> None:
        if self._record_output is not None:
            self._record_output(event_id, text, scope, at)
        who, what, _ = _unpack(kept)
        self.keep(event_id, scope, _pack(who, what, _output_hash(text)))
