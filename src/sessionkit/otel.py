"""Live grouping of OpenTelemetry spans: a span processor that puts each GenAI span in its
session as it starts, and says so on the span (docs/otel.md).

Needs the extra: ``pip install 'sessionkit[otel]'`` (the OpenTelemetry SDK).

This layer imports the core, ``sessionkit.storage`` and ``sessionkit.replay``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import attrs
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from sessionkit import (
    Assignment,
    Event,
    InvalidEventError,
    LogLineError,
    Participant,
    ParticipantKind,
    RefusedEventError,
    Sessionizer,
)
from sessionkit.replay import LogLayout
from sessionkit.storage import Tracker

if TYPE_CHECKING:
    from opentelemetry.context import Context

__all__ = ["SessionSpanProcessor", "SpanMapper"]

_LOG = logging.getLogger("sessionkit.otel")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NONE: Mapping[str, object] = {}


class SpanMapper:
    """Builds an Event from a live span under a preset's layout, reading the span's
    attributes directly (no record is built: this runs in the application's threads).

    It gives the Event ``EventMapper`` gives for the span's OTLP record (a test holds them
    equal), or raises :class:`~sessionkit.LogLineError` the same way; without the metadata
    unless ``metadata`` (the span's attributes: only a store keeps them).
    """

    def __init__(self, layout: LogLayout, *, metadata: bool = True) -> None:
        self.layout = layout
        self._metadata = metadata and layout.metadata == "attributes"
        self._session = _where(layout.session_id)
        self._user = _where(layout.user_id)
        self._kind = _where(layout.initiator_type or "")
        self._name = _where(layout.initiator_name or "")
        self._input, self._output = _where(layout.input), _where(layout.output)
        self._kinds = layout.kind_names()
        self._participants: dict[tuple[ParticipantKind, str], Participant] = {}

    def kind_of(self, span: Span, attributes: Mapping[str, object]) -> object:
        """The span's kind field, or ``None`` for a span that is no conversation event."""
        return _first(span, attributes, self._kind)

    def __call__(self, span: Span, attributes: Mapping[str, object], kind_value: object) -> Event:
        """The span's event; ``attributes`` are the span's (a plain copy reads fastest)."""
        context, parent = span.get_span_context(), span.parent
        if type(kind_value) is not str or kind_value.lower() not in self._kinds:
            raise LogLineError("unknown_kind", f"unknown participant kind {kind_value!r}")
        kind = self._kinds[kind_value.lower()]
        user_id = _text_id(_first(span, attributes, self._user))
        name = _text_id(_first(span, attributes, self._name))
        if name is None:
            name = user_id if kind is ParticipantKind.USER else kind.value
            if name is None:
                raise LogLineError("missing_field", "no user id to name the user")
        who = self._participants.get((kind, name))
        if who is None:
            who = self._participants[(kind, name)] = Participant(kind, name)
        return Event(
            id=format(context.span_id, "016x") if context is not None else "",
            at=_EPOCH + timedelta(microseconds=(span.start_time or 0) // 1000),
            initiator=who,
            user_id=user_id,
            session_id=_text_id(_first(span, attributes, self._session)),
            parent_id=format(parent.span_id, "016x") if parent is not None else None,
            input=_text(_first(span, attributes, self._input)),
            output=_text(_first(span, attributes, self._output)),
            metadata=dict(attributes) if self._metadata else _NONE,
        )


def _where(names: str) -> tuple[tuple[bool, str], ...]:
    """A layout field's alternatives as (is an attribute, key)."""
    return tuple(
        (name.startswith("attributes."), name.removeprefix("attributes."))
        for name in names.split(",")
        if name
    )


def _first(
    span: Span, attributes: Mapping[str, object], where: tuple[tuple[bool, str], ...]
) -> object:
    for is_attribute, key in where:
        value = attributes.get(key) if is_attribute else getattr(span, key, None)
        if value is not None:
            return value
    return None


def _text_id(value: object) -> str | None:
    if value is None or value == "":
        return None
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    raise LogLineError("wrong_type", f"an id must be a string, not {type(value).__name__}")


def _text(value: object) -> str | None:
    if value is None or type(value) is str:
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class SessionSpanProcessor(SpanProcessor):
    """Feeds each span, when it starts, to a Sessionizer (or a store's Tracker) and sets
    ``session.id`` on it, and ``gen_ai.conversation.id`` where the application set none, so
    every exporter downstream sees the grouping.

    * ``group``: a :class:`~sessionkit.Sessionizer` (the default: a new one) or a
      :class:`~sessionkit.storage.Tracker` (one writer per store).
    * ``preset``: how spans map to events: ``"otel"`` (GenAI semantic conventions, the
      default) or ``"openinference"``; spans that are no conversation event under it (no
      ``gen_ai.operation.name``) are left alone and counted as ``ignored``.
    * ``max_skew``: spans start in many threads, so one may start a little "before" a span
      already fed. Up to this much (default 1 s) it is fed at the time already reached;
      further back it is refused. See docs/otel.md.

    It never raises into the application: a refused or unreadable span is counted
    (:attr:`counts`), logged at debug level on ``sessionkit.otel``, and left as it was. Safe to
    use from many threads (spans are fed one at a time).
    """

    def __init__(
        self,
        group: Sessionizer | Tracker | None = None,
        *,
        preset: str = "otel",
        max_skew: timedelta = timedelta(seconds=1),
    ) -> None:
        self.group = group if group is not None else Sessionizer()
        self._sessionizer = (
            self.group.sessionizer if isinstance(self.group, Tracker) else self.group
        )
        self._feed = self.group.track if isinstance(self.group, Tracker) else self.group.feed
        self._mapper = SpanMapper(LogLayout.preset(preset), metadata=isinstance(group, Tracker))
        self.max_skew = max_skew
        self._lock = threading.Lock()
        #: Spans by outcome: ``grouped``, ``ignored``, ``skewed`` (fed at a later time), and
        #: refusals by reason (``session_closed``, ``late``, ...).
        self.counts: Counter[str] = Counter()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Group the span and set its session id; never raises."""
        try:
            self._group(span)
        except Exception as error:  # the application must never see sessionkit fail
            self.counts["failed"] += 1
            _LOG.debug("span %s not grouped: %r", span.name, error)

    def _group(self, span: Span) -> None:
        attributes = dict(span.attributes or _NONE)
        kind = self._mapper.kind_of(span, attributes)
        if kind is None:
            self.counts["ignored"] += 1
            return
        try:
            event = self._mapper(span, attributes, kind)
        except (LogLineError, InvalidEventError) as error:
            self.counts[getattr(error, "reason", "invalid_event")] += 1
            _LOG.debug("span %s not grouped: %s", span.name, error)
            return
        assignment = self._fed(event, span)
        if assignment is None:
            return
        self.counts["grouped"] += 1
        session = {"session.id": assignment.session_id}
        if not attributes.get("gen_ai.conversation.id"):
            session["gen_ai.conversation.id"] = assignment.session_id
        span.set_attributes(session)

    def _fed(self, event: Event, span: Span) -> Assignment | None:
        with self._lock:
            now = self._sessionizer.now
            if now is not None and event.at < now:
                if now - event.at > self.max_skew:
                    self.counts["late"] += 1
                    _LOG.debug("span %s started %s before the last one", span.name, now - event.at)
                    return None
                self.counts["skewed"] += 1
                event = _at(event, now)
            try:
                return self._feed(event)
            except RefusedEventError as error:
                self.counts[error.reason] += 1
                _LOG.debug("span %s not grouped: %s", span.name, error)
                return None

    def on_end(self, span: ReadableSpan) -> None:
        """Nothing: a span is grouped when it starts."""

    def shutdown(self) -> None:
        """Nothing to release (a Tracker's store is the caller's to close)."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered."""
        return True


def _at(event: Event, at: datetime) -> Event:
    return attrs.evolve(event, at=at)
