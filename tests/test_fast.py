"""The fast JSON Lines decoder (``sessionkit[fast]``, msgspec) gives exactly what ``json`` gives:
the same events, the same rejected lines with the same reasons and details."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionkit.replay import LogReader

pytestmark = pytest.mark.decoders

GOOD = (
    b'{"event_id": "q1", "timestamp": "2026-03-02T09:00:00Z", "event_type": "user_agent",'
    b' "metadata": {"user_id": "alice"}, "input": "Where is my order?"}'
)

HOSTILE = [
    GOOD,
    GOOD.replace(b'"q1"', b'"q1", "event_id": "q2"'),  # a key twice: the last one counts
    GOOD.replace(b"}", b', "n": NaN}', 1),
    GOOD.replace(b"}", b', "n": Infinity}', 1),
    GOOD.replace(b"}", b', "n": 1e400}', 1),
    GOOD.replace(b"}", b', "n": -0.0, "m": 5e-324, "k": 1E2}', 1),
    GOOD.replace(b"}", b', "n": ' + b"9" * 5000 + b"}", 1),  # past int's digit limit
    GOOD.replace(b"}", b', "n": 123456789012345678901234567890}', 1),
    GOOD.replace(b"Where", b"\\ud800 lone"),  # a lone surrogate, escaped
    GOOD.replace(b"Where", b"\\uD83D\\uDE00 \\u0000"),
    GOOD.replace(b"Where", b"\xff\xfe"),  # not UTF-8
    GOOD.replace(b"Where", b"\xed\xa0\x80"),  # a surrogate, encoded
    GOOD.replace(b"Where", b"a\tb"),  # a raw control character
    GOOD + b"\r",
    b"\xef\xbb\xbf" + GOOD,  # a byte order mark on the first line
    b"[" * 5000 + b"]" * 5000,
    b'{"a": ' * 100 + b"1" + b"}" * 100,
    b"[1, 2]",
    b'"text"',
    b"{}",
    b"{not json",
    b'{"event_id": "q1"',
    GOOD + b" trailing",
]


def outcomes(lines: list[bytes], fast: bool) -> list[object]:
    data = b"".join(line + b"\n" for line in lines)
    reader = LogReader(["-"], stdin=io.BytesIO(data), fast=fast)
    got: list[object] = list(reader)
    return [*got, reader.lines_read]


def test_hostile_and_ordinary_lines_read_the_same() -> None:
    fast, pure = outcomes(HOSTILE, True), outcomes(HOSTILE, False)
    assert fast == pure
    reasons = {getattr(o, "reason", None) for o in pure}
    assert {None, "malformed_json", "not_utf8", "too_deep", "not_an_object"} <= reasons


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=80),
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                lambda inner: (
                    st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=4)
                ),
                max_leaves=12,
            ).map(lambda value: json.dumps(value).encode()),
            st.builds(
                lambda extra: GOOD[:-1] + b", " + extra + b"}",
                st.sampled_from([b'"x": NaN', b'"output": [1, {"a": null}]', b'"input": 7']),
            ),
        ),
        max_size=8,
    )
)
def test_any_bytes_read_the_same(lines: list[bytes]) -> None:
    lines = [line.replace(b"\n", b" ") for line in lines]
    assert outcomes(lines, True) == outcomes(lines, False)


def test_fast_needs_msgspec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sessionkit.replay._readers.fast_decoder", lambda: None)
    with pytest.raises(ValueError, match=r"sessionkit\[fast\]"):
        LogReader(["-"], fast=True)
    assert LogReader(["-"])._fast is None  # the default: json, when msgspec is not there
