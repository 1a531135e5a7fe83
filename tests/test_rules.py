"""Rules: validation and the implicit session id function."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import (
    SESSION_ID_NAMESPACE,
    InvalidRulesError,
    ParticipantKind,
    Rules,
    derive_session_id,
)


class TestRules:
    def test_defaults(self) -> None:
        """45 s window, 24 h timeout, users and agents make headers."""
        rules = Rules()
        assert rules.join_window == timedelta(seconds=45)
        assert rules.idle_timeout == timedelta(hours=24)
        assert rules.header_kinds == {ParticipantKind.USER, ParticipantKind.AGENT}

    @pytest.mark.parametrize("bad", [timedelta(0), timedelta(seconds=-1)])
    @pytest.mark.parametrize("name", ["join_window", "idle_timeout"])
    def test_durations_must_be_positive(self, name: str, bad: timedelta) -> None:
        """Zero and negative durations are refused, naming the field."""
        with pytest.raises(InvalidRulesError, match=name):
            Rules(**{name: bad})  # type: ignore[arg-type]

    def test_durations_must_be_timedeltas(self) -> None:
        """A number of seconds is not a duration."""
        with pytest.raises(InvalidRulesError, match="join_window"):
            Rules(join_window=45)  # type: ignore[arg-type]

    def test_header_kinds_accept_any_iterable(self) -> None:
        """A list of kinds becomes a frozenset."""
        rules = Rules(header_kinds=[ParticipantKind.USER])
        assert rules.header_kinds == frozenset({ParticipantKind.USER})

    def test_header_kinds_must_be_kinds(self) -> None:
        """A string is not a ParticipantKind."""
        with pytest.raises(InvalidRulesError, match="header_kinds"):
            Rules(header_kinds={"user"})  # type: ignore[arg-type]

    def test_rules_are_frozen(self) -> None:
        """Rules cannot be changed after construction."""
        with pytest.raises(AttributeError):
            Rules().join_window = timedelta(1)  # type: ignore[misc]


class TestDeriveSessionId:
    @given(scope=st.text(), event_id=st.text(min_size=1))
    def test_equals_uuid5_of_the_documented_name(self, scope: str, event_id: str) -> None:
        """The fast derivation equals uuid.uuid5 on the documented name, for any text."""
        expected = uuid.uuid5(SESSION_ID_NAMESPACE, f"{len(scope)}:{scope}{event_id}")
        assert derive_session_id(scope, event_id) == str(expected)

    def test_lone_surrogates_are_hashed_not_refused(self) -> None:
        """Ids decoded from broken JSON may hold lone surrogates; they still get an id."""
        assert derive_session_id("", "\ud800") != derive_session_id("", "\ud801")

    def test_scope_and_id_cannot_be_confused(self) -> None:
        """Moving characters between scope and id changes the id (length prefix)."""
        assert derive_session_id("a", "bc") != derive_session_id("ab", "c")

    def test_namespace_is_pinned(self) -> None:
        """Changing the namespace would change every implicit session id."""
        assert str(SESSION_ID_NAMESPACE) == "6f1c3a52-5d0e-4c1b-9a53-0b7e6f6f2d11"
