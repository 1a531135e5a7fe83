"""Lines that repeat a remembered event id: the same event again, its output sent later, or
other content.

The core decides that an event id is remembered (rule 1); what the repeat *says* is compared
here, with what replay kept of each remembered event: its sender, target, ids and time, and a
hash of its input and output (payloads are never kept). A repeat that contradicts nothing and
adds nothing is a plain duplicate; one that contradicts nothing and carries the output the
event lacked sets that output (a follow-up); any other is a conflicting duplicate. A field a
repeat leaves out (``None``) contradicts nothing, and the time counts only for a repeat that
carries the input (a line without it says when the output came).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sessionkit import ConflictingDuplicateError, Event, UnknownEventError

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


#: The fields compared, in the order of a kept content tuple.
_FIELDS = (
    "initiator", "target", "user_id", "session_id", "parent_id", "ends_session", "time",
    "input", "output",
)  # fmt: skip
_INPUT, _OUTPUT, _TIME = 7, 8, 6

#: What is kept of a remembered event: its fields, with input and output as hashes.
Content = tuple[Any, ...]

#: ``session_of(event id, scope, at)``: the session of an event remembered at ``at``, or None.
SessionOf = Callable[[str, str, "datetime | None"], "str | None"]
#: ``record_output(event id, output, scope, at)``: where a follow-up's output is recorded.
RecordOutput = Callable[[str, str, str, datetime], object]


def content_of(event: Event) -> Content:
    """What is kept of an event to compare repeats of its id with."""
    text_in, text_out = event.input, event.output
    return (
        event.initiator, event.target, event.user_id, event.session_id, event.parent_id,
        event.ends_session, event.at, None if text_in is None else hash(text_in),
        None if text_out is None else hash(text_out),
    )  # fmt: skip


def compare(kept: Content, repeat: Content) -> tuple[tuple[str, ...], bool]:
    """The fields where ``repeat`` contradicts ``kept``, and whether it adds an output."""
    carries_input = repeat[_INPUT] is not None
    differ = []
    for index, (old, new) in enumerate(zip(kept, repeat, strict=True)):
        if new is None or new is False or new == old:  # says nothing, or the same
            continue
        if (index == _OUTPUT and old is None) or (index == _TIME and not carries_input):
            continue
        differ.append(_FIELDS[index])
    return tuple(differ), kept[_OUTPUT] is None and repeat[_OUTPUT] is not None


class Repeats:
    """What a replay keeps of remembered events, to tell repeats of their ids apart
    (:func:`replay_records` makes one for the Sessionizer or Tracker it is given).

    ``session_of`` asks the grouping whether an event is still remembered (entries it has
    forgotten are dropped as the ledger grows); ``record_output`` records a follow-up (a
    Tracker's), or ``None`` when nothing is recorded; ``lookup`` finds the content of an event
    remembered but not kept here (recorded by an earlier run of a resumed store).

    .. versionadded:: 0.3.0
    """

    def __init__(
        self,
        session_of: SessionOf,
        record_output: RecordOutput | None = None,
        lookup: Callable[[str, str], Event | None] | None = None,
    ) -> None:
        self._session_of = session_of
        self._record_output = record_output
        self._lookup = lookup
        self._kept: dict[tuple[str, str], Content] = {}
        self._limit = 4096

    def __len__(self) -> int:
        """How many events' contents are kept (the remembered ones, and some forgotten since
        the last drop)."""
        return len(self._kept)

    def remember(self, event: Event) -> None:
        """Keep the content of an accepted event."""
        kept = self._kept
        kept[(event.scope, event.id)] = content_of(event)
        if len(kept) > self._limit:
            self._drop_forgotten()

    def _drop_forgotten(self) -> None:
        """Drop what the grouping forgot; amortised O(1) per event."""
        session_of = self._session_of
        self._kept = {key: c for key, c in self._kept.items() if session_of(key[1], key[0], None)}
        self._limit = 2 * len(self._kept) + 4096

    def _content(self, scope: str, event_id: str) -> Content | None:
        found = self._kept.get((scope, event_id))
        if found is None and self._lookup is not None:
            event = self._lookup(scope, event_id)
            if event is not None:
                found = self._kept[(scope, event_id)] = content_of(event)
        return found

    def repeated(self, event: Event, session_id: str) -> str | None:
        """A duplicate ``event`` (of ``session_id``): ``None`` if it says nothing new, else
        ``"output"`` once its output is recorded as the event's. Raises
        :class:`~sessionkit.ConflictingDuplicateError` naming the fields it contradicts."""
        kept = self._content(event.scope, event.id)
        if kept is None:  # not kept (a grouping restored from elsewhere): cannot compare
            return None
        repeat = content_of(event)
        differ, adds_output = compare(kept, repeat)
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
        kept = None if session_id is None else self._content(output.scope, output.id)
        if session_id is None or kept is None:
            raise UnknownEventError(output.id, output.scope)
        if kept[_OUTPUT] is not None:
            if kept[_OUTPUT] != hash(output.output):
                raise ConflictingDuplicateError(output.id, session_id, ("output",))
            return session_id
        self._set_output(output.scope, output.id, output.output, output.at, kept)
        return session_id

    def _set_output(
        self, scope: str, event_id: str, text: str, at: datetime, kept: Content
    ) -> None:
        if self._record_output is not None:
            self._record_output(event_id, text, scope, at)
        self._kept[(scope, event_id)] = (*kept[:_OUTPUT], hash(text))
