"""A bounded reorder buffer: puts slightly out-of-order items back in time order.

With ``max_lateness`` L, an item may arrive up to L after (in its own time) the newest item seen
so far; it is held until no item that may still arrive can come before it, then released. An
item more than L behind the newest is late, and refused. Items are released in order of time,
ties in order of arrival, so the output is the same on every run. The buffer holds at most the
items of the last L of time.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta
from typing import Generic, TypeVar

__all__ = ["ReorderBuffer"]

T = TypeVar("T")


class ReorderBuffer(Generic[T]):
    """Releases items in time order, holding each until ``max_lateness`` has passed after it.

    Call :meth:`lateness` (or :meth:`accepts`) before :meth:`push`; :meth:`flush` at the end.
    """

    def __init__(self, max_lateness: timedelta = timedelta(0)) -> None:
        if max_lateness < timedelta(0):
            raise ValueError(f"max_lateness must not be negative, not {max_lateness}")
        self.max_lateness = max_lateness
        self._heap: list[tuple[datetime, int, T]] = []
        self._arrivals = 0
        #: The newest time pushed so far.
        self.newest: datetime | None = None

    def __len__(self) -> int:
        return len(self._heap)

    def lateness(self, at: datetime) -> timedelta:
        """How far ``at`` is behind the newest time pushed (zero if it is not behind)."""
        newest = self.newest
        if newest is None or at >= newest:
            return timedelta(0)
        return newest - at

    def accepts(self, at: datetime) -> bool:
        """Whether an item at ``at`` is in time: at most ``max_lateness`` behind the newest."""
        newest = self.newest
        return newest is None or newest - at <= self.max_lateness

    def push(self, at: datetime, item: T) -> list[T]:
        """Add an item that :meth:`accepts`; return the items now released, in order."""
        newest = self.newest
        if not self._heap and (newest is None or at >= newest):
            if not self.max_lateness:
                self.newest = at  # strict order: nothing is ever held
                return [item]
        elif newest is not None and newest - at > self.max_lateness:
            raise ValueError(f"{at.isoformat()} is late: check accepts() before push()")
        if newest is None or at > newest:
            self.newest = newest = at
        heapq.heappush(self._heap, (at, self._arrivals, item))
        self._arrivals += 1
        assert newest is not None
        try:
            watermark = newest - self.max_lateness
        except OverflowError:  # before the first representable time: nothing is due yet
            return []
        released = []
        heap = self._heap
        while heap and heap[0][0] <= watermark:
            released.append(heapq.heappop(heap)[2])
        return released

    def flush(self) -> list[T]:
        """Release everything still held, in order (at the end of the input)."""
        released = [entry[2] for entry in sorted(self._heap, key=lambda e: (e[0], e[1]))]
        self._heap.clear()
        return released
