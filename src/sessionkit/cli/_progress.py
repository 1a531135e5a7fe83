"""The progress line a long replay shows on a terminal (and never on a pipe or in a file)."""

from __future__ import annotations

import time
from typing import TextIO

from sessionkit.replay import LogReader

__all__ = ["Progress"]


class Progress:
    """Rewrites one line on ``stream`` (stderr) at most a few times a second: bytes read of the
    total, and events per second. Does nothing unless ``stream`` is a terminal."""

    #: Look at the clock once per this many lines.
    EVERY = 4096
    #: Seconds between two updates.
    INTERVAL = 0.25

    def __init__(self, reader: LogReader, stream: TextIO, enabled: bool = True) -> None:
        self._reader = reader
        self._stream = stream
        self.enabled = enabled and stream.isatty()
        self._started = time.monotonic()
        self._shown = self._started
        self._width = 0

    def tick(self, lines: int) -> None:
        """Called every :attr:`EVERY` outcomes with the count so far; shows progress when it is
        time."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._shown < self.INTERVAL:
            return
        self._shown = now
        read = self._reader.bytes_read
        total = self._reader.bytes_total
        of = f" of {total / 1e6:,.1f} MB ({100 * read / total:.0f}%)" if total else ""
        rate = lines / max(now - self._started, 1e-9)
        text = f"{read / 1e6:,.1f} MB{of}, {lines:,} lines, {rate:,.0f} events/s"
        self._stream.write("\r" + text.ljust(self._width))
        self._stream.flush()
        self._width = len(text)

    def done(self) -> None:
        """Clear the progress line."""
        if self.enabled and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
