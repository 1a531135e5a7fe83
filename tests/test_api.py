"""The public API: every name docs/api.md lists is importable from where it says, and nothing
else is public; errors form one hierarchy and pickle."""

from __future__ import annotations

import importlib
import importlib.resources
import inspect
import pickle
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

import sessionkit
from sessionkit import (
    Event,
    IncompatibleStoreError,
    InvalidEventError,
    InvalidRulesError,
    LogLineError,
    OutOfOrderError,
    Participant,
    ParticipantKind,
    RefusedEventError,
    RejectedEventError,
    Rule,
    SessionClosedError,
    SessionIdConflictError,
    SessionkitError,
    SnapshotError,
    StoreError,
    StoreLockedError,
    UnstorableEventError,
)

API = Path(__file__).resolve().parent.parent / "docs" / "api.md"
ROW = re.compile(r"^\| `(sessionkit[\w.]*)` \| (`.*`) \|$", re.MULTILINE)


def documented() -> dict[str, set[str]]:
    """docs/api.md's index: import path -> the names it lists."""
    text = API.read_text(encoding="utf-8")
    return {path: set(re.findall(r"`([^`]+)`", names)) for path, names in ROW.findall(text)}


def test_every_package_is_indexed() -> None:
    """The index names every public package and module of sessionkit."""
    assert set(documented()) == {
        "sessionkit",
        "sessionkit.storage",
        "sessionkit.replay",
        "sessionkit.spark",
        "sessionkit.otel",
        "sessionkit.cli",
        "sessionkit.testing",
        "sessionkit.testing.strategies",
        "sessionkit.testing.conformance",
        "sessionkit.testing.plugin",
        "sessionkit.testing.synth",
    }


@pytest.mark.parametrize("path", sorted(documented()))
def test_all_is_exactly_what_the_docs_list(path: str) -> None:
    """Each module's __all__ is its row of docs/api.md, and each name imports from there."""
    module = importlib.import_module(path)
    names = documented()[path]
    assert set(module.__all__) == names
    for name in names:
        namespace: dict[str, object] = {}
        exec(f"from {path} import {name}", namespace)
        assert namespace[name] is getattr(module, name)


def test_no_public_name_shares_a_subpackage_name() -> None:
    """``sessionkit.replay`` is the package, never a function that shadows it."""
    for path, names in documented().items():
        assert not {"replay", "storage", "spark", "cli", "testing"} & names, path


@pytest.mark.parametrize("path", sorted(documented()))
def test_public_names_have_docstrings(path: str) -> None:
    """Every public class and function says what it is."""
    module = importlib.import_module(path)
    for name in module.__all__:
        obj = getattr(module, name)
        alias = getattr(obj, "__origin__", None) is not None  # a type alias such as Grouper
        if (inspect.isclass(obj) and not alias) or inspect.isfunction(obj):
            assert obj.__doc__, f"{path}.{name}"


class TestErrors:
    def test_one_hierarchy_with_builtins(self) -> None:
        """Every error is a SessionkitError and the builtin it resembles."""
        for error in (
            InvalidEventError,
            InvalidRulesError,
            LogLineError,
            SnapshotError,
            RefusedEventError,
        ):
            assert issubclass(error, SessionkitError)
            assert issubclass(error, ValueError)
        for refusal in (OutOfOrderError, SessionClosedError, SessionIdConflictError):
            assert issubclass(refusal, RejectedEventError)
        assert issubclass(RejectedEventError, RefusedEventError)
        assert issubclass(UnstorableEventError, RefusedEventError)
        assert not issubclass(UnstorableEventError, StoreError)
        for store_error in (StoreLockedError, IncompatibleStoreError):
            assert issubclass(store_error, StoreError)
        assert issubclass(StoreError, SessionkitError)
        assert issubclass(StoreError, OSError)

    def test_every_error_pickles(self) -> None:
        """Errors cross process boundaries with their fields and message."""
        t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
        event = Event(id="q1", at=t0, initiator=Participant(ParticipantKind.USER, "ann"))
        errors: list[SessionkitError] = [
            InvalidEventError("event", "q1", "at", "must be aware"),
            InvalidRulesError("join_window must be positive"),
            LogLineError("bad_timestamp", "no time"),
            SnapshotError("not a snapshot"),
            OutOfOrderError(event, t0, t0, index=3),
            SessionClosedError(event, "s1", t0, Rule.PARENT_LINK),
            SessionIdConflictError(event, "s1"),
            UnstorableEventError(event, "lone surrogate", index=2),
            StoreError("disk full", "a.db"),
            StoreLockedError("taken", "a.db"),
            IncompatibleStoreError("newer schema", "a.db"),
        ]
        for error in errors:
            copy = pickle.loads(pickle.dumps(error))
            assert type(copy) is type(error)
            assert str(copy) == str(error)
            assert vars(copy) == vars(error)

    def test_at_index_makes_a_new_error(self) -> None:
        """A refusal copied for a batch position keeps everything but the index."""
        t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
        event = Event(id="q1", at=t0, initiator=Participant(ParticipantKind.USER, "ann"))
        error = SessionClosedError(event, "s1", None, Rule.SESSION_IDS)
        moved = error.at_index(7)
        assert (moved.index, error.index) == (7, None)
        assert (moved.session_id, moved.rule, str(moved)) == ("s1", Rule.SESSION_IDS, str(error))


def test_package_is_typed() -> None:
    """py.typed ships, so type checkers read sessionkit's annotations."""
    assert importlib.resources.files("sessionkit").joinpath("py.typed").is_file()


def test_version() -> None:
    """The version is 0.2.0."""
    assert sessionkit.__version__ == "0.2.0"
