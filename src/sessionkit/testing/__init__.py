"""Tools for testing code built on sessionkit.

* :class:`Conversation` writes the events of a test with relative times and readable ids.
* :func:`assert_sessions` checks a grouping and explains a wrong one.
* ``sessionkit.testing.conformance`` holds the store conformance suite (it needs pytest).

See ``docs/testing.md``.
"""

from __future__ import annotations

from sessionkit.testing._assertions import assert_sessions
from sessionkit.testing._builders import START, Conversation

__all__ = ["START", "Conversation", "assert_sessions"]
