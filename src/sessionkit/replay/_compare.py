"""Comparing two rule sets on the same log: which sessions stay, split, merge or regroup."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from sessionkit import Assignment, Event, RefusedEventError, Rules, Sessionizer
from sessionkit.replay._readers import LogEvent, LogRecord
from sessionkit.replay._replay import in_time_order

__all__ = ["CHANGE_KINDS", "RuleComparison", "SessionChange", "SessionRef", "compare_rules"]

#: How a group of sessions changed from rule set a to rule set b, in the order they are reported.
CHANGE_KINDS = {
    "unchanged": "one session under a is the same session under b",
    "split": "one session under a became several under b",
    "merged": "several whole sessions under a became one under b",
    "regrouped": "sessions under a and b share events in any other way",
    "only_a": "the events of the session were not grouped under b",
    "only_b": "the events of the session were not grouped under a",
}


@attrs.frozen
class SessionRef:
    """A session, as a comparison shows it: its id and scope, first event and start."""

    session_id: str
    scope: str
    first_event_id: str
    started_at: datetime


@attrs.frozen
class SessionChange:
    """A group of sessions whose events are the same under both rule sets (a connected group:
    every event of a session under a is in one of the sessions under b, and the other way)."""

    kind: str
    a: tuple[SessionRef, ...]
    b: tuple[SessionRef, ...]


@attrs.define
class RuleComparison:
    """What :func:`compare_rules` found.

    ``groups`` counts the groups of each kind of change (see :data:`CHANGE_KINDS`),
    ``sessions_a``/``sessions_b`` the sessions under a and b in them; ``examples`` keeps the
    first few groups of each kind. Events are counted as grouped under both, only under a,
    only under b (rejected or a duplicate under the other), or under neither.
    """

    rules_a: Rules
    rules_b: Rules
    events_both: int = 0
    events_only_a: int = 0
    events_only_b: int = 0
    events_neither: int = 0
    groups: dict[str, int] = attrs.field(factory=lambda: dict.fromkeys(CHANGE_KINDS, 0))
    sessions_a: dict[str, int] = attrs.field(factory=lambda: dict.fromkeys(CHANGE_KINDS, 0))
    sessions_b: dict[str, int] = attrs.field(factory=lambda: dict.fromkeys(CHANGE_KINDS, 0))
    examples: dict[str, list[SessionChange]] = attrs.field(
        factory=lambda: {kind: [] for kind in CHANGE_KINDS}
    )


class _Partition:
    """Sessions of both sides as nodes of a union-find; an event grouped under both joins its
    two sessions."""

    def __init__(self) -> None:
        self.index: dict[tuple[int, str, str], int] = {}
        self.parent: list[int] = []
        self.refs: list[SessionRef] = []
        self.sides: list[int] = []
        self.one_sided: set[int] = set()

    def node(self, side: int, assignment: Assignment) -> int:
        event: Event = assignment.event
        key = (side, event.scope, assignment.session_id)
        number = self.index.get(key)
        if number is None:
            number = self.index[key] = len(self.parent)
            self.parent.append(number)
            self.refs.append(SessionRef(assignment.session_id, event.scope, event.id, event.at))
            self.sides.append(side)
        return number

    def find(self, number: int) -> int:
        parent = self.parent
        while parent[number] != number:
            parent[number] = parent[parent[number]]
            number = parent[number]
        return number

    def union(self, first: int, second: int) -> None:
        a, b = self.find(first), self.find(second)
        if a != b:
            self.parent[max(a, b)] = min(a, b)

    def changes(self) -> list[SessionChange]:
        """Every group, in order of its earliest session."""
        members: dict[int, list[int]] = {}
        for number in range(len(self.parent)):
            members.setdefault(self.find(number), []).append(number)
        one_sided_roots = {self.find(number) for number in self.one_sided}
        changes = []
        for root, numbers in members.items():
            a = tuple(self.refs[n] for n in numbers if self.sides[n] == 0)
            b = tuple(self.refs[n] for n in numbers if self.sides[n] == 1)
            if not b:
                kind = "only_a"
            elif not a:
                kind = "only_b"
            elif root in one_sided_roots:
                kind = "regrouped"
            elif len(a) == 1 and len(b) == 1:
                kind = "unchanged"
            elif len(a) == 1:
                kind = "split"
            elif len(b) == 1:
                kind = "merged"
            else:
                kind = "regrouped"
            changes.append(SessionChange(kind, a, b))
        return changes


def _try(sessionizer: Sessionizer, event: Event) -> Assignment | None:
    try:
        assignment = sessionizer.feed(event)
    except RefusedEventError:
        return None
    return None if assignment.duplicate else assignment


def compare_rules(
    records: Iterable[LogRecord],
    rules_a: Rules,
    rules_b: Rules,
    *,
    max_lateness: timedelta = timedelta(0),
    examples: int = 3,
) -> RuleComparison:
    """Group the same events under two rule sets and compare the sessions.

    The events are read once, put in order as :func:`replay_records` puts them (late ones,
    and outputs sent alone, count as grouped under neither), and fed to two Sessionizers.
    Memory grows with the number of sessions (a few hundred bytes each), not of events.
    """
    result = RuleComparison(rules_a, rules_b)
    side_a, side_b = Sessionizer(rules_a), Sessionizer(rules_b)
    partition = _Partition()
    for record in in_time_order(records, max_lateness):
        if type(record) is not LogEvent:
            result.events_neither += 1
            continue
        event = record.event
        a, b = _try(side_a, event), _try(side_b, event)
        if a is not None and b is not None:
            result.events_both += 1
            partition.union(partition.node(0, a), partition.node(1, b))
        elif a is not None:
            result.events_only_a += 1
            partition.one_sided.add(partition.node(0, a))
        elif b is not None:
            result.events_only_b += 1
            partition.one_sided.add(partition.node(1, b))
        else:
            result.events_neither += 1
    for change in partition.changes():
        result.groups[change.kind] += 1
        result.sessions_a[change.kind] += len(change.a)
        result.sessions_b[change.kind] += len(change.b)
        if len(result.examples[change.kind]) < examples:
            result.examples[change.kind].append(change)
    return result
