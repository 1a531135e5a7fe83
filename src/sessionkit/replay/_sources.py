"""Opening the files a log is read from: paths, ``-`` for standard input, and gzip, bzip2 or xz
compression recognised by content."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, cast

__all__ = ["STDIN", "LogFile", "is_csv", "open_log", "source_name"]

#: The path that means standard input.
STDIN = "-"

#: How much of a file is read at a time (a file system's block, often 4 KiB, would cost a
#: system call every dozen lines).
_BUFFER = 1 << 16

#: The first bytes of each compressed format, and how to open it.
_COMPRESSED: tuple[tuple[bytes, Callable[[BinaryIO], BinaryIO]], ...] = (
    (b"\x1f\x8b", lambda raw: cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))),
    (b"BZh", lambda raw: cast(BinaryIO, bz2.BZ2File(raw, mode="rb"))),
    (b"\xfd7zXZ\x00", lambda raw: cast(BinaryIO, lzma.LZMAFile(raw, mode="rb"))),  # noqa: SIM115
)  # (each closes with the source it reads, in open_log)


def source_name(path: str | os.PathLike[str]) -> str:
    """The name a source goes by in rejects and derived event ids: the path as given."""
    text = os.fspath(path)
    return "<stdin>" if text == STDIN else text


def is_csv(path: str | os.PathLike[str]) -> bool:
    """Whether a path names a CSV file (``.csv``, or ``.csv.gz``/``.bz2``/``.xz``; any case)."""
    name = os.fspath(path).lower()
    return name.endswith((".csv", ".csv.gz", ".csv.bz2", ".csv.xz"))


class LogFile:
    """One source being read: its lines as bytes, and how far into it the reading is.

    ``position()`` is the offset in the file as stored (compressed, for a gzip file), so progress
    can be shown against the file's size.
    """

    def __init__(self, raw: BinaryIO, name: str) -> None:
        self.name = name
        buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(Any, raw))
        self._buffered = buffered
        stream: BinaryIO = cast(BinaryIO, buffered)
        start = buffered.peek(6)[:6]
        for magic, opener in _COMPRESSED:
            if start.startswith(magic):
                stream = opener(stream)
                break
        self.lines: BinaryIO = stream

    def rest_of_line(self, start: bytes) -> int | None:
        """Read past the rest of a line that began with ``start`` (as long as the reader's
        limit), in pieces, holding none; its whole length, or ``None`` when ``start`` was the
        end of the file (then it was a whole line)."""
        readline = self.lines.readline
        rest = readline(1 << 20)
        if not rest:
            return None
        length = len(start) + len(rest)
        while not rest.endswith(b"\n"):
            rest = readline(1 << 20)
            if not rest:
                break
            length += len(rest)
        return length

    def position(self) -> int | None:
        """Bytes of the stored file read so far, or ``None`` when the source cannot tell."""
        try:
            return self._buffered.tell()
        except (OSError, ValueError):
            return None

    @staticmethod
    def size(path: str | os.PathLike[str]) -> int | None:
        """The stored size of a source, or ``None`` for standard input and pipes."""
        if os.fspath(path) == STDIN:
            return None
        try:
            stat = os.stat(path)
        except OSError:
            return None
        return stat.st_size if os.path.isfile(path) else None


@contextmanager
def open_log(
    path: str | os.PathLike[str], stdin: BinaryIO | None = None, stdin_name: str | None = None
) -> Iterator[LogFile]:
    """Open a source for reading; ``-`` reads ``stdin`` (standard input by default), named
    ``stdin_name`` (by default ``<stdin>``)."""
    if os.fspath(path) == STDIN:
        stream = stdin if stdin is not None else sys.stdin.buffer
        yield LogFile(stream, stdin_name if stdin_name is not None else source_name(path))
        return
    with open(path, "rb", buffering=_BUFFER) as raw:
        yield LogFile(raw, source_name(path))
