"""Text for people: tables, excerpts, times and numbers as the commands print them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

__all__ = ["excerpt", "short_time", "table"]


def excerpt(text: str | None, width: int = 40) -> str:
    """The start of a text on one line, cut to ``width`` characters with an ellipsis."""
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def short_time(at: datetime) -> str:
    """A time to the second, in its own offset: ``2026-03-02 09:00:00+00:00``."""
    return at.isoformat(sep=" ", timespec="seconds")


def table(
    header: Sequence[str] | None, rows: Sequence[Sequence[str]], right: Sequence[int] = ()
) -> str:
    """Rows (under a header, if given), columns padded to their widest cell; the ``right``
    columns right-aligned."""
    lines = [header, *rows] if header is not None else list(rows)
    widths = (
        [max(len(line[index]) for line in lines) for index in range(len(lines[0]))] if lines else []
    )
    text = []
    for line in lines:
        cells = [
            cell.rjust(widths[index]) if index in right else cell.ljust(widths[index])
            for index, cell in enumerate(line)
        ]
        text.append("  ".join(cells).rstrip())
    return "\n".join(text)
