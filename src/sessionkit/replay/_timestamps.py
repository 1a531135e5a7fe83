"""Reading the times of log lines: ISO 8601 first, then RFC 2822, log formats and epoch numbers.

The forms, the order in which they are tried and the epoch-unit rule are documented in
``docs/replay.md``. The fast path — an ISO 8601 string — is one call to
:meth:`datetime.fromisoformat`; everything else is tried only when that fails.
"""

from __future__ import annotations

import enum
import math
import re
import sys
import warnings
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from dateutil import parser as dateutil_parser

from sessionkit import EARLIEST, LATEST, LogLineError

__all__ = ["EpochUnit", "TimestampParser", "json_type", "load_zone"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class EpochUnit(enum.Enum):
    """The unit of a number of time since 1970-01-01T00:00:00Z."""

    #: seconds
    SECONDS = "s"
    #: milliseconds
    MILLISECONDS = "ms"
    #: microseconds
    MICROSECONDS = "us"
    #: nanoseconds (OpenTelemetry's ``*UnixNano``); kept to the microsecond, rounding down
    NANOSECONDS = "ns"


#: Microseconds per unit (nanoseconds are divided instead: see ``_from_number``).
_PER_UNIT = {EpochUnit.SECONDS: 1_000_000, EpochUnit.MILLISECONDS: 1_000, EpochUnit.MICROSECONDS: 1}

#: Detecting the unit from the magnitude: below each bound, the unit beside it. A number of
#: seconds below 10**11 is a time before the year 5138; so is a number of milliseconds below 10**14,
#: of microseconds below 10**17 and of nanoseconds below 10**20. Milliseconds before 1973-03-03
#: (below 10**11) read as seconds.
_MAGNITUDES = (
    (10**11, EpochUnit.SECONDS),
    (10**14, EpochUnit.MILLISECONDS),
    (10**17, EpochUnit.MICROSECONDS),
    (10**20, EpochUnit.NANOSECONDS),
)

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
#: Common Log Format (Apache, nginx): 10/Oct/2025:13:55:36 -0700
_CLF = re.compile(r"\d{1,2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}")
_RFC2822_START = re.compile(r"([A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s")
# Python 3.10's fromisoformat reads only what isoformat writes: no "Z", no compact forms.
_ISO_Z = sys.version_info < (3, 11)


def load_zone(name: str) -> tzinfo:
    """The time zone ``name``: ``UTC`` or any IANA zone (``Europe/Paris``).

    Raises :class:`ValueError` naming the zone when it is not known.
    """
    if name.upper() in {"UTC", "Z"}:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown time zone {name!r} (expected an IANA name such as UTC or Europe/Paris)"
        ) from error


@attrs.frozen
class TimestampParser:
    """Turns a log's time value into a timezone-aware :class:`~datetime.datetime`.

    * ``assume_tz``: the zone of times written without one; ``None`` (the default) rejects them
      (``zoneless_timestamp``), since guessing would shift every session by hours.
    * ``epoch_unit``: the unit of numbers; ``None`` (the default) detects it from the magnitude.

    Calling it raises :class:`~sessionkit.LogLineError` (``bad_timestamp`` or
    ``zoneless_timestamp``) for a value it cannot read. It reads no clock: a value without a full
    date is refused rather than completed with today's date.
    """

    assume_tz: tzinfo | None = None
    epoch_unit: EpochUnit | None = None

    def __call__(self, value: object) -> datetime:
        if type(value) is str and not value.isdigit():  # the fast path: ISO 8601 / RFC 3339
            text = value[:-1] + "+00:00" if _ISO_Z and value[-1:] in ("Z", "z") else value
            try:
                at = datetime.fromisoformat(text)
            except ValueError:
                pass
            else:  # fixed offsets: aware exactly when a tzinfo is set
                if at.tzinfo is not None and EARLIEST <= at <= LATEST:
                    return at
        return self._total(value)

    def _total(self, value: object) -> datetime:
        """Every form, in the documented order; whatever happens, a datetime or LogLineError."""
        try:
            at = self._read(value)
            if at.tzinfo is None or at.utcoffset() is None:
                if self.assume_tz is None:
                    raise LogLineError(
                        "zoneless_timestamp",
                        f"time {_shown(value)} has no time zone (give one, or set the parser's "
                        "assume_tz)",
                    )
                at = at.replace(tzinfo=self.assume_tz)
            if type(at.tzinfo) is not timezone:  # a zone with rules: the offset it has then
                offset = at.utcoffset()  # (a zone's rules may not reach the year 9999)
                assert offset is not None
                at = at.replace(tzinfo=timezone(offset) if offset else timezone.utc, fold=0)
            in_range = EARLIEST <= at <= LATEST
        except LogLineError:
            raise
        except Exception as error:  # whatever a parser we call raises, the value is at fault
            raise LogLineError(
                "bad_timestamp",
                f"time {_shown(value)} cannot be read ({type(error).__name__}: {error})",
            ) from None
        if not in_range:
            raise LogLineError(
                "bad_timestamp",
                f"time {_shown(value)} is outside {EARLIEST.date()} to {LATEST.date()} (UTC)",
            )
        return at

    def _read(self, value: object) -> datetime:
        if type(value) is str:
            if value.isascii() and value.isdigit():  # a digit string is an epoch number
                return self._from_number(int(value), _shown(value))
            text = value[:-1] + "+00:00" if _ISO_Z and value[-1:] in ("Z", "z") else value
            try:
                return datetime.fromisoformat(text)  # the fast path: ISO 8601 / RFC 3339
            except ValueError:
                return self._parse_text(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return self._from_number(value, _shown(value))
        raise LogLineError(
            "bad_timestamp", f"time must be a string or a number, not {json_type(value)}"
        )

    def _parse_text(self, value: str) -> datetime:
        """Every form but the fast path, in the documented order."""
        text = value.strip()
        if _NUMBER.fullmatch(text):
            number: int | float = int(text) if text.lstrip("+-").isdigit() else float(text)
            return self._from_number(number, _shown(value))
        if _CLF.fullmatch(text):
            try:
                return datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z")
            except ValueError:
                pass
        if _RFC2822_START.match(text):
            try:
                return parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                pass
        try:
            return dateutil_parser.isoparse(text)
        except (ValueError, OverflowError):
            pass
        return _general(value, text)

    def _from_number(self, number: float, shown: str) -> datetime:
        if isinstance(number, float) and not math.isfinite(number):
            raise LogLineError("bad_timestamp", f"time {shown} is not a finite number")
        unit = self.epoch_unit
        if unit is None:
            magnitude = abs(number)
            for bound, candidate in _MAGNITUDES:
                if magnitude < bound:
                    unit = candidate
                    break
            else:
                raise LogLineError(
                    "bad_timestamp",
                    f"time {shown} is too large for epoch seconds, milliseconds, microseconds or "
                    "nanoseconds",
                )
        try:
            if unit is EpochUnit.NANOSECONDS:  # exact integer arithmetic, then down to the µs
                micros = number // 1000 if isinstance(number, int) else math.floor(number / 1000)
                return _EPOCH + timedelta(microseconds=micros)
            if isinstance(number, int):
                return _EPOCH + timedelta(microseconds=number * _PER_UNIT[unit])
            return _EPOCH + timedelta(microseconds=round(number * _PER_UNIT[unit]))
        except OverflowError:
            raise LogLineError(
                "bad_timestamp", f"time {shown} in {unit.name.lower()} is out of range"
            ) from None


# Two defaults that differ in every date field: a value that leaves one out parses differently.
_DEFAULTS = (datetime(2001, 1, 1), datetime(2002, 2, 2))


def _general(value: str, text: str) -> datetime:
    """dateutil's general parser, refusing partial dates and unknown zone names."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", dateutil_parser.UnknownTimezoneWarning)
            first, second = (dateutil_parser.parse(text, default=d) for d in _DEFAULTS)
    except dateutil_parser.UnknownTimezoneWarning as warning:
        raise LogLineError("bad_timestamp", f"time {_shown(value)}: {warning}") from None
    except (ValueError, OverflowError):
        raise LogLineError(
            "bad_timestamp", f"time {_shown(value)} is not a date and time"
        ) from None
    if first.date() != second.date():
        raise LogLineError("bad_timestamp", f"time {_shown(value)} does not give a full date")
    return first


def _shown(value: object, width: int = 80) -> str:
    """A value as a message shows it: its repr, cut to ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def json_type(value: object) -> str:
    """A JSON value's type as a message names it: "an object", "a number", "null", ..."""
    names = {
        dict: "an object",
        list: "an array",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)
