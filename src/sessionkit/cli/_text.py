"""Text for people: tables, excerpts, times and numbers as the commands print them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

__all__ = ["INVISIBLE", "excerpt", "short_time", "table", "visible"]

# Characters that would move the cursor, start a new row, drive the terminal (ANSI/OSC escapes
# begin with ESC) or reorder text (bidi controls): shown as escapes instead.
_INVISIBLE = [
    *range(0x00, 0x20),
    0x7F,
    *range(0x80, 0xA0),
    0x061C,
    0x200E,
    0x200F,
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0xFEFF,
]
#: One character that ``visible`` writes as an escape.
INVISIBLE = re.compile("[" + "".join(re.escape(chr(code)) for code in _INVISIBLE) + "]")
_ESCAPES = {code: repr(chr(code))[1:-1] for code in _INVISIBLE}
_ESCAPES.update({code: f"\\u{code:04x}" for code in _INVISIBLE if len(_ESCAPES[code]) == 1})


def visible(text: str) -> str:
    """``text`` with every control, line-breaking and bidi character written as an escape
    (``\\n``, ``\\x1b``, ``\\u202e``): a log's content cannot forge rows or drive the
    terminal."""
    return text.translate(_ESCAPES)


def excerpt(text: str | None, width: int = 40) -> str:
    """The start of a text on one line, cut to ``width`` characters with an ellipsis."""
    if not text:
        return ""
    line = visible(" ".join(text.split()))  # line breaks become spaces, controls escapes
    return line if len(line) <= width else line[: width - 1] + "…"


def short_time(at: datetime) -> str:
    """A time to the second, in its own offset: ``2026-03-02 09:00:00+00:00``."""
    return at.isoformat(sep=" ", timespec="seconds")


def table(
    header: Sequence[str] | None, rows: Sequence[Sequence[str]], right: Sequence[int] = ()
) -> str:
    """Rows (under a header, if given), columns padded to their widest cell; the ``right``
    columns right-aligned."""
    lines = [[visible(cell) for cell in line] for line in ([header, *rows] if header else rows)]
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
