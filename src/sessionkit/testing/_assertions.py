"""assert_sessions: check a grouping, and explain a wrong one without a debugger."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sessionkit import Assignment, Event, RejectedEventError, Rules, Sessionizer

__all__ = ["assert_sessions"]


def assert_sessions(
    events: Iterable[Event],
    expected: Sequence[Sequence[str]],
    *,
    rules: Rules | None = None,
    headers: Sequence[str | None] | None = None,
    threads: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Assert that ``events`` group into the ``expected`` sessions, named by event ids.

    ``expected`` lists the sessions in order of their first event, each as its event ids in feed
    order, e.g. ``[["q1", "a1"], ["q2"]]``; duplicates are left out, like refused events (which
    the message lists). ``headers``, if given, is each session's header id (``None`` for none).
    ``threads``, if given, maps event ids to the ids of their thread children, in feed order
    (e.g. ``{"q1": ["a1", "q2"]}``); events it does not name are not checked.
    On failure the ``AssertionError`` shows both groupings side by side and, for every event that
    went elsewhere (its session does not start with the event expected), the rule that decided it
    and its gap to its user's previous event.
    """
    events = list(events)
    sessionizer = Sessionizer(rules)
    decided: list[tuple[Event, Assignment | RejectedEventError]] = []
    for event in events:
        try:
            decided.append((event, sessionizer.feed(event)))
        except RejectedEventError as error:
            decided.append((event, error))
    groups: dict[tuple[str, str], list[str]] = {}
    header_of: dict[tuple[str, str], str | None] = {}
    children: dict[str, list[str]] = {}
    for event, outcome in decided:
        if isinstance(outcome, Assignment) and not outcome.duplicate:
            key = (event.scope, outcome.session_id)
            groups.setdefault(key, []).append(event.id)
            if outcome.thread_parent_id is not None:
                children.setdefault(outcome.thread_parent_id, []).append(event.id)
            if outcome.started:
                header_of[key] = event.id if outcome.header else None
    actual = list(groups.values())
    wanted = [list(group) for group in expected]
    problems = []
    if actual != wanted:
        problems.append(_side_by_side(wanted, actual))
        problems.append(_explain(decided, wanted, actual, sessionizer.rules))
    else:
        if headers is not None and list(headers) != list(header_of.values()):
            problems.append(
                f"headers differ: expected {list(headers)!r}, actual {list(header_of.values())!r}"
            )
        for parent, wanted_children in (threads or {}).items():
            got = children.get(parent, [])
            if list(wanted_children) != got:
                problems.append(
                    f"thread children of {parent} differ: expected {list(wanted_children)!r}, "
                    f"actual {got!r}"
                )
    if problems:
        raise AssertionError("\n".join(["sessions differ", *problems]))


def _side_by_side(expected: list[list[str]], actual: list[list[str]]) -> str:
    left = ["expected", *(", ".join(g) for g in expected)]
    right = ["actual", *(", ".join(g) for g in actual)]
    width = max(len(line) for line in left) + 4
    rows = max(len(left), len(right))
    left += [""] * (rows - len(left))
    right += [""] * (rows - len(right))
    return "\n".join(f"  {a:<{width}}{b}".rstrip() for a, b in zip(left, right, strict=True))


def _gap(delta: timedelta) -> str:
    """A duration as people read it: seconds below an hour, else hours (or h:mm:ss)."""
    seconds = delta.total_seconds()
    if seconds < 3600:
        return f"{seconds:g} s"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    return str(delta)


def _explain(
    decided: list[tuple[Event, Assignment | RejectedEventError]],
    expected: list[list[str]],
    actual: list[list[str]],
    rules: Rules,
) -> str:
    """A line per event that went elsewhere: its session does not start where expected."""
    expected_first = {event_id: g[0] for g in expected for event_id in g}
    actual_first = {event_id: g[0] for g in actual for event_id in g}
    previous: dict[tuple[str, str], datetime] = {}
    previous_id: dict[tuple[str, str], str] = {}
    lines = [
        f"events that went elsewhere (join_window {_gap(rules.join_window)}, "
        f"idle_timeout {_gap(rules.idle_timeout)}):"
    ]
    for event, outcome in decided:
        user = (event.scope, event.user_key)
        before = previous.get(user)
        if before is None:
            gap = f"first event of user {event.user_key!r}"
        else:
            gap = f"{_gap(event.at - before)} after {previous_id[user]} (user {event.user_key!r})"
        if isinstance(outcome, RejectedEventError):
            lines.append(f"  {event.id}: refused ({outcome.reason}); {gap}")
            continue
        if outcome.duplicate:
            continue
        previous[user], previous_id[user] = event.at, event.id
        if expected_first.get(event.id) == actual_first[event.id]:
            continue
        where = "started a session" if outcome.started else f"joined {actual_first[event.id]}"
        lines.append(f"  {event.id}: {where} by {outcome.rule.value}; {gap}")
    return "\n".join(lines)
