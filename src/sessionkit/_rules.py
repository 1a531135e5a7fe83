"""The grouping rules in one place: their parameters, their precedence, and their definitions.

Read this file and ``docs/rules.md`` (the spec in prose, with a worked example for each rule)
and you know everything that decides a session. The Sessionizer (``_sessionizer.py``) applies
:data:`PRECEDENCE` in order; on its hot path it writes some definitions below out inline, and a
property test (``tests/test_rules.py``) checks every inlined form against the definition here.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from sessionkit._errors import InvalidRulesError
from sessionkit._model import GroupingRule, ParticipantKind

if TYPE_CHECKING:
    from sessionkit._model import Event

__all__ = [
    "PRECEDENCE",
    "SESSION_ID_NAMESPACE",
    "ResumeCutoffs",
    "Rule",
    "RuleStep",
    "Rules",
    "derive_session_id",
    "horizon",
    "in_join_window",
    "is_open_at",
    "is_remembered_at",
    "user_key",
]

#: The UUID namespace of implicit session ids (rule 9). Never change it: ids would change.
SESSION_ID_NAMESPACE = uuid.UUID("6f1c3a52-5d0e-4c1b-9a53-0b7e6f6f2d11")

#: Defaults of :class:`Rules`.
DEFAULT_JOIN_WINDOW = timedelta(seconds=45)
DEFAULT_IDLE_TIMEOUT = timedelta(hours=24)
DEFAULT_HEADER_KINDS = frozenset({ParticipantKind.USER, ParticipantKind.AGENT})

_US = timedelta(microseconds=1)


class Rule(enum.IntEnum):
    """The numbered rules of ``docs/rules.md``. A refusal names the one that refused
    (``RejectedEventError.rule``).

    .. versionadded:: 0.2.0
    """

    #: 1. A remembered ``(scope, id)`` is a duplicate; nothing changes.
    DUPLICATE = 1
    #: 2. Time never goes back.
    ORDER = 2
    #: 3. An explicit session id names its session.
    EXPLICIT_ID = 3
    #: 4. A link to a remembered parent joins the parent's session.
    PARENT_LINK = 4
    #: 5. The same user key within the join window joins its open session.
    JOIN_WINDOW = 5
    #: 6. A new session's first event is its header if a header kind sent it.
    HEADER = 6
    #: 7. A session closes at its horizon, or when an event ends it.
    CLOSING = 7
    #: 8. A refused event changes nothing.
    REJECTION = 8
    #: 9. Implicit sessions are named by :func:`derive_session_id`; ids never collide.
    SESSION_IDS = 9
    #: 10. Events are remembered until their session's horizon.
    MEMORY = 10
    #: 11. Thread parents: the linked event if in the session already, else the header.
    THREADS = 11


@attrs.frozen
class RuleStep:
    """One step of :data:`PRECEDENCE`: what it checks, and what it decides or refuses."""

    rule: Rule
    checks: str
    decides: GroupingRule | None
    refuses: str | None


#: The order in which ``feed`` tries the rules. The first step that decides, decides; a step
#: that refuses raises (and, by rule 8, changes nothing). Rules 6, 7, 10 and 11 say what happens
#: once the session is chosen; they are applied after the decision.
PRECEDENCE: tuple[RuleStep, ...] = (
    RuleStep(
        Rule.DUPLICATE,
        checks="the (scope, id) is remembered at the event's time",
        decides=GroupingRule.DUPLICATE,
        refuses=None,
    ),
    RuleStep(
        Rule.ORDER, checks="the event is earlier than now", decides=None, refuses="out_of_order"
    ),
    RuleStep(
        Rule.EXPLICIT_ID,
        checks="the event names a session id: closed refuses, open joins, unknown starts it",
        decides=GroupingRule.EXPLICIT_ID,
        refuses="session_closed",
    ),
    RuleStep(
        Rule.PARENT_LINK,
        checks="the parent is remembered: its session ended refuses, open joins",
        decides=GroupingRule.PARENT_LINK,
        refuses="session_closed",
    ),
    RuleStep(
        Rule.JOIN_WINDOW,
        checks="the user key's latest event is within the join window, in an open session",
        decides=GroupingRule.JOIN_WINDOW,
        refuses=None,
    ),
    RuleStep(
        Rule.SESSION_IDS,
        checks="a new session's derived id: closed or already open refuses, else it starts",
        decides=GroupingRule.NEW_SESSION,
        refuses="session_closed, session_id_conflict",
    ),
)


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

    def to_json(self) -> dict[str, Any]:
        """The rules as JSON: durations in whole microseconds, kinds sorted by value.

        .. versionadded:: 0.2.0
        """
        return {
            "join_window_us": self.join_window // _US,
            "idle_timeout_us": self.idle_timeout // _US,
            "header_kinds": sorted(kind.value for kind in self.header_kinds),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rules:
        """The rules :meth:`to_json` wrote. Raises ``KeyError``, ``TypeError`` or
        ``ValueError`` (:class:`~sessionkit.InvalidRulesError`) for anything else.

        .. versionadded:: 0.2.0
        """
        return cls(
            join_window=timedelta(microseconds=data["join_window_us"]),
            idle_timeout=timedelta(microseconds=data["idle_timeout_us"]),
            header_kinds=frozenset(ParticipantKind(kind) for kind in data["header_kinds"]),
        )

    def horizon(self, last_input_at: datetime) -> datetime:
        """When a session whose last input is at ``last_input_at`` goes idle and its events are
        forgotten (rules 7 and 10).

        .. versionadded:: 0.3.0
        """
        return horizon(last_input_at, self)

    def is_open_at(self, last_input_at: datetime, ended_at: datetime | None, at: datetime) -> bool:
        """Whether a session is open at ``at``: not ended, and its horizon not yet come (rule 7).

        .. versionadded:: 0.3.0
        """
        return is_open_at(last_input_at, ended_at, at, self)

    def resume_cutoffs(self, now: datetime | None) -> ResumeCutoffs:
        """What a store must answer to resume a Sessionizer at ``now`` (see
        :meth:`Sessionizer.resume`)."""
        if now is None:
            return ResumeCutoffs(None, None)
        return ResumeCutoffs(now - self.idle_timeout, now - self.join_window)


@attrs.frozen
class ResumeCutoffs:
    """The two questions a store answers to resume (``None``: everything counts).

    * ``sessions_with_input_after``: the sessions whose last input is *after* this time are
      remembered (rule 10) — give them, each with its event ids in feed order.
    * ``events_at_or_after``: each user key's latest event *at or after* this time may still
      join its session (rule 5) — give the events from then on, in feed order.

    .. versionadded:: 0.2.0
    """

    sessions_with_input_after: datetime | None
    events_at_or_after: datetime | None


# -- definitions the rest of the code uses --------------------------------------------------------


def user_key(event: Event) -> str:
    """Whose prompts these are (rule 5): ``user_id`` if set, else the initiator's id."""
    return event.user_id if event.user_id is not None else event.initiator.id


def horizon(last_input_at: datetime, rules: Rules) -> datetime:
    """When a session goes idle and its events are forgotten (rules 7 and 10)."""
    return last_input_at + rules.idle_timeout


def is_open_at(
    last_input_at: datetime, ended_at: datetime | None, at: datetime, rules: Rules
) -> bool:
    """Whether a session is open at ``at``: not ended, and its horizon not yet come (rule 7;
    exactly at the horizon it is closed)."""
    return ended_at is None and at < horizon(last_input_at, rules)


def is_remembered_at(last_input_at: datetime, at: datetime, rules: Rules) -> bool:
    """Whether a session's events are remembered at ``at`` (rule 10): before its horizon, even
    when it ended."""
    return at < horizon(last_input_at, rules)


def in_join_window(previous_at: datetime, at: datetime, rules: Rules) -> bool:
    """Whether an event at ``at`` is within the join window of its user key's latest event at
    ``previous_at`` (rule 5; inclusive: exactly the window joins)."""
    return at - previous_at <= rules.join_window


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
