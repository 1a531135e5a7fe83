"""Tracker: a Sessionizer whose every decision is recorded in a store, crash-safely."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from types import TracebackType

from sessionkit import (
    Assignment,
    Event,
    EventFields,
    IncompatibleStoreError,
    Placement,
    RefusedEventError,
    Rules,
    Sessionizer,
    SessionSummary,
    UnknownEventError,
    UnstorableEventError,
)
from sessionkit.storage._protocols import SessionRecorder
from sessionkit.storage._records import (
    LONE_SURROGATE,
    Batch,
    PlacedFields,
    _encodable,
    fields_problem,
    storage_problem,
)

__all__ = ["Tracker"]


class _ClosedInStore:
    """The Tracker's closed-session index: the store's closed ids, plus those closed in batches
    not yet recorded (the store learns them when a batch commits). Each pending closing carries
    the number of the batch that made it, so that recording one batch forgets only its own."""

    def __init__(self, store: SessionRecorder) -> None:
        self.store = store
        self.pending: dict[tuple[str, str], int] = {}
        #: the number of the batch being decided
        self.batch = 0

    def is_closed(self, session_id: str, scope: str) -> bool:
        return (scope, session_id) in self.pending or self.store.is_closed(session_id, scope)

    def add(self, session_id: str, scope: str) -> None:
        self.pending[(scope, session_id)] = self.batch

    def recorded(self, batch: int) -> None:
        """Batches up to number ``batch`` are recorded: the store knows their closings."""
        if self.pending:
            self.pending = {key: n for key, n in self.pending.items() if n > batch}


class Tracker:
    """The entry point for backends: feeds a Sessionizer and records every decision in a store.

    Opening a Tracker on a store that holds data resumes exactly where the last one stopped
    (its rules must be the store's: :class:`~sessionkit.IncompatibleStoreError` otherwise).
    Each :meth:`track`, :meth:`track_many`, :meth:`track_each` and :meth:`advance` call commits
    its events, the session changes and everything needed to resume in one transaction of the
    store: after a crash an event is either fully recorded (feeding it again is a duplicate) or
    not at all. Closed session ids live in the store, not in memory. Safe to call from several
    threads.
    """

    def __init__(self, store: SessionRecorder, rules: Rules | None = None) -> None:
        self._store = store
        self._lock = threading.RLock()
        self._closed = _ClosedInStore(store)
        self._sessionizer = self._resume(rules)

    def _resume(self, rules: Rules | None) -> Sessionizer:
        """A Sessionizer in the state the store's records leave it in."""
        self._closed.pending.clear()
        point = self._store.resume_point()
        if point is None:
            return Sessionizer(rules, closed_sessions=self._closed)
        stored_rules, now = point
        if rules is not None and rules != stored_rules:
            raise IncompatibleStoreError(
                f"the store was written under {stored_rules!r}, not {rules!r}; "
                "open it with the same rules (or start a new store)"
            )
        cutoffs = stored_rules.resume_cutoffs(now)
        return Sessionizer.resume(
            stored_rules,
            now,
            self._store.remembered_sessions(cutoffs.sessions_with_input_after),
            self._store.recent_events(cutoffs.events_at_or_after),
            closed_sessions=self._closed,
        )

    @property
    def store(self) -> SessionRecorder:
        """The store decisions are recorded in (query it for sessions)."""
        return self._store

    @property
    def sessionizer(self) -> Sessionizer:
        """The Sessionizer doing the grouping (read its state; feed through the Tracker)."""
        return self._sessionizer

    def track(self, event: Event) -> Assignment:
        """Group and record one event; raises as :meth:`Sessionizer.feed` does.

        Also raises :class:`~sessionkit.UnstorableEventError` for an event the store cannot keep
        exactly; a refused event changes nothing.
        """
        return self.track_many((event,))[0]

    def track_many(self, events: Iterable[Event]) -> list[Assignment]:
        """Group and record events in order, in one transaction; return their assignments.

        If an event is refused, the events before it are recorded (in that one transaction)
        and the refusal is raised with ``index`` set to the refused event's position; the events
        after it are not looked at. Call again with the rest to go on.
        """
        results = self._track(events, stop_at_refusal=True)
        if results and isinstance(results[-1], RefusedEventError):
            raise results[-1]
        return results  # type: ignore[return-value]

    def track_each(self, events: Iterable[Event]) -> list[Assignment | RefusedEventError]:
        """Group and record events in order, in one transaction, going past refused ones.

        Returns, for each event, its assignment or the error that refused it (with ``index``
        set). A refused event changes nothing, so the events after it are grouped as if it had
        never been fed. This is what replaying a log needs: every event is accounted for.
        """
        return self._track(events, stop_at_refusal=False)

    def _track(
        self, events: Iterable[Event], *, stop_at_refusal: bool
    ) -> list[Assignment | RefusedEventError]:
        with self._lock:
            results: list[Assignment | RefusedEventError] = []
            accepted: list[Assignment] = []
            feed = self._sessionizer.feed
            try:
                for index, event in enumerate(events):
                    try:
                        problem = storage_problem(event)
                        if problem is not None:
                            raise UnstorableEventError(event, problem, index=index)
                        assignment = feed(event)
                    except RefusedEventError as error:
                        results.append(error if error.index == index else error.at_index(index))
                        if stop_at_refusal:
                            break
                        continue
                    results.append(assignment)
                    if not assignment.duplicate:
                        accepted.append(assignment)
            except BaseException:  # interrupted half-way: forget what was not recorded
                self._resync()
                raise
            if accepted:
                self._record(Batch(self._sessionizer.rules, self._sessionizer.now, tuple(accepted)))
        return results

    def _place_fields(
        self, batch: Sequence[EventFields]
    ) -> tuple[list[Placement | RefusedEventError], Batch | None, int]:
        """The decisions of :meth:`track_each` for events given as their fields, validated as
        an Event's would be: the field-level door a replay's lean path goes through. Returns,
        for each event, its :data:`~sessionkit.Placement` or the error that refused it; the
        :class:`Batch` to record (``None`` if nothing was accepted); and the batch's number.

        Memory runs ahead of the store until the caller has recorded the batch
        (:meth:`_record_later`) and calls :meth:`_committed` — or :meth:`_resync` if that
        failed. No Event is built but for a refusal, or for fields a store may not keep (to
        check them exactly)."""
        with self._lock:
            results: list[Placement | RefusedEventError] = []
            accepted: list[PlacedFields] = []
            sessionizer = self._sessionizer
            place = sessionizer._place
            self._closed.batch += 1
            try:
                for index, fields in enumerate(batch):
                    problem = fields_problem(fields)
                    if problem is not None:
                        event = Event.from_fields(fields)
                        results.append(UnstorableEventError(event, problem, index=index))
                        continue
                    event_id, at, initiator, _, user_id, session_id, parent_id, scope = fields[:8]
                    placed: Placement | None = place(  # type: ignore[assignment] # no Event
                        None, event_id, at, scope, initiator, user_id, session_id, parent_id,
                        fields[8],
                    )  # fmt: skip
                    if placed is None:  # refused, changing nothing
                        error = sessionizer._refusal(Event.from_fields(fields))
                        results.append(error.at_index(index))
                        continue
                    results.append(placed)
                    if not placed[5]:
                        accepted.append((fields, placed))
            except BaseException:  # interrupted half-way: forget what was not recorded
                self._resync()
                raise
            record = self._placed_batch(accepted) if accepted else None
            return results, record, self._closed.batch

    def _record_later(self, batch: Batch | None) -> Callable[[], None]:
        """Have the store record a batch decided by :meth:`_place_fields` (``None``: nothing
        to record); the function that waits until it is recorded (at once for a store
        without ``record_later``)."""
        if batch is None:
            return _recorded
        later = getattr(self._store, "record_later", None)
        if later is None:
            self._store.record(batch)
            return _recorded
        wait: Callable[[], None] = later(batch)
        return wait

    def _committed(self, number: int) -> None:
        """The store recorded the batches up to number ``number`` (:meth:`_place_fields`)."""
        self._closed.recorded(number)

    def _resync(self) -> None:
        """Go back to what the store holds: decisions not recorded are forgotten."""
        with self._lock:
            self._sessionizer = self._resume(self._sessionizer.rules)

    def _placed_batch(self, accepted: list[PlacedFields]) -> Batch:
        """The batch of events accepted as fields: as they are for a store that records them
        so (``records_placed``), else as assignments."""
        rules, now = self._sessionizer.rules, self._sessionizer.now
        if getattr(self._store, "records_placed", False) is True:
            return Batch(rules, now, placed=tuple(accepted))
        assignments = (Assignment._make((Event.from_fields(f), *placed)) for f, placed in accepted)
        return Batch(rules, now, tuple(assignments))

    def _note(self, event_id: str, scope: str) -> bytes | None:
        """:meth:`Sessionizer._note`: the note kept with a remembered event (not with those
        remembered again from the store: it keeps no notes)."""
        with self._lock:
            return self._sessionizer._note(event_id, scope)

    def _set_note(self, event_id: str, scope: str, note: bytes) -> None:
        """:meth:`Sessionizer._set_note`."""
        with self._lock:
            self._sessionizer._set_note(event_id, scope, note)

    def session_of(self, event_id: str, scope: str = "", at: datetime | None = None) -> str | None:
        """:meth:`Sessionizer.session_of`: the session of a remembered event, or ``None``.

        .. versionadded:: 0.3.0
        """
        with self._lock:
            return self._sessionizer.session_of(event_id, scope, at)

    def record_output(
        self, event_id: str, output: str, scope: str = "", at: datetime | None = None
    ) -> str:
        """Record ``output`` as the output of an event accepted earlier (an API that sends a
        response after its prompt); return the event's session id. Nothing else changes: not
        the time, not the grouping.

        The event must still be remembered at ``at`` (by default :attr:`Sessionizer.now`), as a
        duplicate of it would be: else :class:`~sessionkit.UnknownEventError`. An output a store
        cannot keep raises :class:`~sessionkit.UnstorableEventError`. Either way nothing changes.

        .. versionadded:: 0.3.0
        """
        with self._lock:
            session_id = self.session_of(event_id, scope, at)
            if session_id is None:
                raise UnknownEventError(event_id, scope)
            if not output.isascii() and not _encodable(output):
                raise UnstorableEventError(None, LONE_SURROGATE, event_id=event_id)
            rules, now = self._sessionizer.rules, self._sessionizer.now
            self._record(Batch(rules, now, outputs=((scope, event_id, output),)))
            return session_id

    def advance(self, now: datetime) -> tuple[SessionSummary, ...]:
        """Move time forward, record the sessions that went idle, and return them."""
        with self._lock:
            closed = self._sessionizer.advance(now)
            self._record(Batch(self._sessionizer.rules, now, closed=closed))
            return closed

    def _record(self, batch: Batch) -> None:
        """Commit a batch; if the store fails, go back to what it holds (memory must never run
        ahead of the store) and raise."""
        try:
            self._store.record(batch)
        except BaseException:
            self._resync()
            raise
        self._committed(self._closed.batch)

    def close(self) -> None:
        """Close the store (releasing its writer lock)."""
        with self._lock:
            self._store.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _recorded() -> None:
    """A batch the store recorded at once: nothing to wait for."""
