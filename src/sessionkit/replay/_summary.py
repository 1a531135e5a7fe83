"""Counting what a replay did: accepted, duplicate and rejected lines, and the sessions started."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

from sessionkit.replay._replay import Outcome, OutputSet, Replayed

__all__ = ["ReplaySummary"]


@attrs.define
class ReplaySummary:
    """Running counts of a replay's outcomes; :meth:`add` each one.

    ``lines_read`` is set by whoever reads the input (``LogReader.lines_read``), independently of
    the outcomes, so that ``accepted + duplicates + outputs + rejected == lines_read`` is a
    real check. ``outputs`` counts the lines that set the output of an earlier event.

    .. versionchanged:: 0.3.0
       ``outputs`` added.
    """

    lines_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    outputs: int = 0
    rejected_by_reason: Counter[str] = attrs.field(factory=Counter)
    explicit_sessions: int = 0
    implicit_sessions: int = 0
    headerless_sessions: int = 0

    def add(self, outcome: Outcome) -> None:
        """Count one outcome."""
        if type(outcome) is OutputSet:
            self.outputs += 1
        elif type(outcome) is Replayed:
            assignment = outcome.assignment
            if assignment.duplicate:
                self.duplicates += 1
            else:
                self.add_accepted(assignment.started, assignment.explicit, assignment.header)
        else:
            self.rejected_by_reason[outcome.reason] += 1  # type: ignore[union-attr]

    def add_accepted(self, started: bool, explicit: bool, header: bool) -> None:
        """Count one accepted event, from its :class:`~sessionkit.Assignment`'s flags.

        .. versionadded:: 0.3.0
        """
        self.accepted += 1
        if started:
            if explicit:
                self.explicit_sessions += 1
            else:
                self.implicit_sessions += 1
            if not header:
                self.headerless_sessions += 1

    @property
    def rejected(self) -> int:
        """Lines rejected, for any reason."""
        return sum(self.rejected_by_reason.values())

    @property
    def sessions(self) -> int:
        """Sessions started by the replay."""
        return self.explicit_sessions + self.implicit_sessions

    @property
    def balanced(self) -> bool:
        """Whether every line read is accounted for: accepted, duplicate, output or rejected."""
        done = self.accepted + self.duplicates + self.outputs + self.rejected
        return done == self.lines_read

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON object (``sessionkit replay --format json``)."""
        return {
            "lines_read": self.lines_read,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "outputs": self.outputs,
            "rejected": self.rejected,
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
            "sessions": self.sessions,
            "explicit_sessions": self.explicit_sessions,
            "implicit_sessions": self.implicit_sessions,
            "headerless_sessions": self.headerless_sessions,
        }
