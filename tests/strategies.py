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


#: The pieces the timestamp fuzzers join into strings (benchmarks/fuzz_timestamps.py uses them
#: too): real times' digits, names, separators and offsets, and junk.
TIME_TOKENS = [
    *(str(n) for n in range(0, 61)),
    "0001",
    "9999",
    "10000",
    "0000",
    "1970",
    "2026",
    "20260302",
    "1700000000",
    "1700000000000",
    "99999999999999999999",
    "-1",
    "-62135596800",
    "1e308",
    "1e-308",
    "NaN",
    "inf",
    "0x1F",
    "Jan",
    "February",
    "Mar",
    "Sept",
    "Dec",
    "Mon",
    "Tuesday",
    "Sun",
    "-",
    "/",
    ":",
    ".",
    ",",
    " ",
    "T",
    "t",
    "Z",
    "z",
    "W",
    "+",
    "--",
    "::",
    "  ",
    "+00:00",
    "-05:00",
    "+14:00",
    "-14:00",
    "+24:00",
    "-23:59",
    "+99:99",
    "+0530",
    "+05",
    "UTC",
    "GMT",
    "EST",
    "CET",
    "Europe/Paris",
    "XYZ",
    "AM",
    "PM",
    "am",
    "noon",
    "of",
    "at",
    ".000001",
    ".9999999999",
    ",5",
    "T24:00:00",
    "T23:59:60",
    "31",
    "32",
    "366",
    "13",
    "\u0661\u0662",
    "\u00b2",
    "\x00",
    "\x1b[31m",
    "\u202e",
    "\ufeff",
    "\u2028",
    "é",
    "🙂",
]
