"""Strategies for sessionkit's own tests: sessionkit.testing.strategies with these tests' knobs."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from sessionkit import Event, ParticipantKind, Rules
from sessionkit.testing import strategies as sk

rules_strategy = st.sampled_from(
    [
        Rules(),
        Rules(join_window=timedelta(seconds=45), idle_timeout=timedelta(seconds=120)),
        # A window longer than the idle timeout: the timeout must win.
        Rules(join_window=timedelta(seconds=90), idle_timeout=timedelta(seconds=60)),
        Rules(
            join_window=timedelta(seconds=10),
            idle_timeout=timedelta(seconds=100),
            header_kinds=frozenset({ParticipantKind.USER}),
        ),
    ]
)

gaps = sk.gaps


def event_fields(ids: list[str]) -> st.SearchStrategy[dict[str, object]]:
    """Event fields over two scopes, three users."""
    return sk.event_fields(ids, scopes=2)


def streams(rules: Rules, min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[list[Event]]:
    """Time-ordered streams over two scopes, three users."""
    return sk.streams(rules, min_size=min_size, max_size=max_size, scopes=2)
