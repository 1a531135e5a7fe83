"""A plain reference model of the rules in docs/rules.md, for checking the Sessionizer against.

It keeps everything (every event, every session, forever) and recomputes what it needs, so it
can be read against the spec line by line. It shares no code with sessionkit's Sessionizer: the
implicit session id is computed with ``uuid.uuid5`` directly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sessionkit import SESSION_ID_NAMESPACE, Event, Rules


@dataclass
class RefSession:
    id: str
    scope: str
    explicit: bool
    header_id: str | None
    started_at: datetime
    last_input_at: datetime
    ended_at: datetime | None = None
    events: list[str] = field(default_factory=list)
    thread_parents: dict[str, str | None] = field(default_factory=dict)
    touched: int = 0  # when its last event came, in feed order (orders idle closings)


@dataclass(frozen=True)
class Outcome:
    """What the model decided for one fed event."""

    kind: str  # "assigned", "duplicate" or "rejected"
    session_id: str | None = None
    rule: str | None = None  # GroupingRule value
    started: bool = False
    thread_parent_id: str | None = None
    reason: str | None = None  # the RejectedEventError.reason, for "rejected"
    closed: tuple[tuple[str, str, datetime], ...] = ()  # (session id, reason, closed_at)


class ReferenceModel:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.now: datetime | None = None
        self.sessions: dict[tuple[str, str], RefSession] = {}
        self.session_of_event: dict[tuple[str, str], tuple[str, str]] = {}
        self.latest: dict[tuple[str, str], tuple[datetime, tuple[str, str]]] = {}
        self.steps = 0

    # -- the definitions of docs/rules.md ------------------------------------------------------

    def horizon(self, s: RefSession) -> datetime:
        return s.last_input_at + self.rules.idle_timeout

    def is_closed(self, s: RefSession, t: datetime) -> bool:
        return s.ended_at is not None or t - s.last_input_at >= self.rules.idle_timeout

    def closed_at(self, s: RefSession) -> datetime:
        return s.ended_at if s.ended_at is not None else self.horizon(s)

    def remembered(self, scope: str, event_id: str, t: datetime) -> RefSession | None:
        key = self.session_of_event.get((scope, event_id))
        if key is None:
            return None
        s = self.sessions[key]
        return s if self.horizon(s) > t else None

    # -- feeding --------------------------------------------------------------------------------

    def feed(self, e: Event) -> Outcome:  # noqa: PLR0912, PLR0915 - the spec, top to bottom
        t = e.at
        now = t if self.now is None else max(t, self.now)
        seen = self.remembered(e.scope, e.id, now)
        if seen is not None:  # rule 1
            return Outcome("duplicate", seen.id, "duplicate")
        if self.now is not None and t < self.now:  # rule 2
            return Outcome("rejected", reason="out_of_order")

        target: RefSession | None = None
        if e.session_id is not None:  # rule 3
            rule = "explicit_id"
            named = self.sessions.get((e.scope, e.session_id))
            if named is not None:
                if self.is_closed(named, t):
                    return Outcome("rejected", reason="session_closed")
                target = named
            new_id = e.session_id
        else:
            parent = self.remembered(e.scope, e.parent_id, t) if e.parent_id else None
            if parent is not None:  # rule 4
                if self.is_closed(parent, t):
                    return Outcome("rejected", reason="session_closed")
                target, rule = parent, "parent_link"
            else:  # rule 5
                latest = self.latest.get((e.scope, e.user_key))
                if latest is not None:
                    p_at, p_key = latest
                    p_session = self.sessions[p_key]
                    if t - p_at <= self.rules.join_window and not self.is_closed(p_session, t):
                        target, rule = p_session, "join_window"
                if target is None:
                    rule = "new_session"
                    name = f"{len(e.scope)}:{e.scope}{e.id}"
                    new_id = str(uuid.uuid5(SESSION_ID_NAMESPACE, name))
                    taken = self.sessions.get((e.scope, new_id))
                    if taken is not None:
                        reason = (
                            "session_closed" if self.is_closed(taken, t) else "session_id_conflict"
                        )
                        return Outcome("rejected", reason=reason)

        closed = self._move_time(t)
        self.steps += 1
        started = target is None
        if target is None:
            header = e.id if e.initiator.kind in self.rules.header_kinds else None
            target = RefSession(new_id, e.scope, e.session_id is not None, header, t, t)
            self.sessions[(e.scope, new_id)] = target
            thread_parent = None
        elif e.parent_id in target.events:  # rule 11
            thread_parent = e.parent_id
        else:
            thread_parent = target.header_id
        target.events.append(e.id)
        target.thread_parents[e.id] = thread_parent
        target.last_input_at = t
        target.touched = self.steps
        self.session_of_event[(e.scope, e.id)] = (e.scope, target.id)
        self.latest[(e.scope, e.user_key)] = (t, (e.scope, target.id))
        if e.ends_session:  # rule 7
            target.ended_at = t
            closed += ((target.id, "ended", t),)
        return Outcome("assigned", target.id, rule, started, thread_parent, closed=closed)

    def advance(self, t: datetime) -> Outcome:
        if self.now is not None and t < self.now:
            return Outcome("rejected", reason="out_of_order")
        return Outcome("advanced", closed=self._move_time(t))

    def _move_time(self, t: datetime) -> tuple[tuple[str, str, datetime], ...]:
        """Move time to ``t``; return the sessions that went idle, in the order they went."""
        before = self.now
        self.now = t
        newly = [
            s
            for s in self.sessions.values()
            if s.ended_at is None
            and self.is_closed(s, t)
            and (before is None or not self.is_closed(s, before))
        ]
        newly.sort(key=lambda s: (self.horizon(s), s.touched))
        return tuple((s.id, "idle", self.horizon(s)) for s in newly)
