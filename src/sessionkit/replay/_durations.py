"""Durations as people write them on a command line: ``45s``, ``30m``, ``24h``, ``1h30m``."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "parse_duration"]

#: The units a duration may use, largest first.
UNITS = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
    "ms": timedelta(milliseconds=1),
    "us": timedelta(microseconds=1),
}

_PART = re.compile(r"\s*(\d+(?:\.\d+)?)(ms|us|d|h|m|s)\s*")


def parse_duration(text: str) -> timedelta:
    """The duration ``text`` names: one or more ``<number><unit>`` parts (units ``d``, ``h``,
    ``m``, ``s``, ``ms``, ``us``), e.g. ``45s``, ``2m``, ``1h30m``, ``1.5s``; ``0`` alone is zero.

    Raises :class:`ValueError` with a one-line explanation for anything else.
    """
    compact = text.strip()
    if compact == "0":
        return timedelta(0)
    total = timedelta(0)
    position = 0
    while position < len(compact):
        part = _PART.match(compact, position)
        if part is None:
            raise ValueError(
                f"cannot read duration {text!r}: write a number and a unit, "
                "e.g. 45s, 30m, 24h, 1h30m (units: d, h, m, s, ms, us)"
            )
        total += float(part.group(1)) * UNITS[part.group(2)]
        position = part.end()
    if position == 0:
        raise ValueError(f"cannot read duration {text!r}: it is empty")
    return total


def format_duration(duration: timedelta) -> str:
    """``duration`` written back in the units :func:`parse_duration` reads, in hours at most
    (``24h``, ``1h30m``, ``45s``)."""
    if duration == timedelta(0):
        return "0"
    sign = "-" if duration < timedelta(0) else ""
    rest = abs(duration)
    parts = []
    for unit, size in UNITS.items():
        if unit == "d":
            continue  # 24h reads better than 1d, and 36h better than 1d12h
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)
