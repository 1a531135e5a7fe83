"""Reading log times (every documented form) and durations (45s, 30m, 24h)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionkit import EARLIEST, LATEST, LogLineError
from sessionkit.replay import (
    EpochUnit,
    TimestampParser,
    format_duration,
    load_zone,
    parse_duration,
)
from tests.strategies import TIME_TOKENS

UTC = timezone.utc
PLUS2 = timezone(timedelta(hours=2))
MINUS7 = timezone(timedelta(hours=-7))
WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
parse = TimestampParser()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ISO 8601 / RFC 3339: the fast path.
        ("2026-03-02T09:00:00Z", WHEN),
        ("2026-03-02T09:00:00z", WHEN),
        ("2026-03-02T09:00:00+00:00", WHEN),
        ("2026-03-02T11:00:00+02:00", WHEN),
        ("2026-03-02T09:00:00.123456Z", WHEN + timedelta(microseconds=123456)),
        ("2026-03-02T09:00:00.5Z", WHEN + timedelta(milliseconds=500)),
        ("2026-03-02 09:00:00Z", WHEN),
        ("20260302T090000Z", WHEN),
        ("2026-03-02T09:00:00+0000", WHEN),
        # RFC 2822 (e-mail, HTTP).
        ("Mon, 02 Mar 2026 09:00:00 +0000", WHEN),
        ("Mon, 02 Mar 2026 11:00:00 +0200", WHEN),
        ("2 Mar 2026 09:00:00 GMT", WHEN),
        ("Mon, 02 Mar 2026 02:00:00 PDT", WHEN - timedelta(hours=0)),
        # Common Log Format (Apache, nginx).
        ("02/Mar/2026:02:00:00 -0700", WHEN),
        # Other forms dateutil reads.
        ("March 2, 2026 9:00 AM UTC", WHEN),
        ("2026/03/02 10:00:00 +01:00", WHEN),
        ("2026-03-02 09:00:00,000 UTC", WHEN),
    ],
)
def test_text_forms(text: str, expected: datetime) -> None:
    """Each documented textual form gives the right instant, with a zone."""
    at = parse(text)
    assert at == expected
    assert at.utcoffset() is not None


def test_the_given_offset_is_kept() -> None:
    """Times keep the offset they were written with (the instant is what compares)."""
    assert parse("2026-03-02T11:00:00+02:00").utcoffset() == timedelta(hours=2)
    assert parse("02/Mar/2026:02:00:00 -0700").utcoffset() == timedelta(hours=-7)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (1_772_442_000, WHEN),  # seconds
        (1_772_442_000.25, WHEN + timedelta(milliseconds=250)),
        (1_772_442_000_000, WHEN),  # milliseconds
        (1_772_442_000_123_456, WHEN + timedelta(microseconds=123456)),  # microseconds
        ("1772442000", WHEN),  # numbers written as strings
        ("1772442000123", WHEN + timedelta(milliseconds=123)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (-86_400, datetime(1969, 12, 31, tzinfo=UTC)),
    ],
)
def test_epoch_numbers_detected_by_magnitude(number: object, expected: datetime) -> None:
    """Seconds below 10**11, milliseconds below 10**14, microseconds below 10**17; UTC."""
    at = parse(number)
    assert at == expected
    assert at.tzinfo is UTC


def test_the_magnitude_bounds_exactly() -> None:
    """10**11 - 1 is seconds, 10**11 milliseconds; 10**14 microseconds; 10**17 nanoseconds;
    10**20 is refused."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert parse(10**11 - 1) == epoch + timedelta(seconds=10**11 - 1)
    assert parse(10**11) == epoch + timedelta(milliseconds=10**11)
    assert parse(10**14 - 1) == epoch + timedelta(milliseconds=10**14 - 1)
    assert parse(10**14) == epoch + timedelta(microseconds=10**14)
    assert parse(10**17 - 1) == epoch + timedelta(microseconds=10**17 - 1)
    assert parse(10**17) == epoch + timedelta(microseconds=10**14)
    with pytest.raises(LogLineError, match="too large") as caught:
        parse(10**20)
    assert caught.value.reason == "bad_timestamp"


@pytest.mark.parametrize(
    ("nanoseconds", "expected_us"),
    [
        ("1772442000123456789", 1772442000123456),  # OTLP's string of nanoseconds
        (1772442000123456999, 1772442000123456),  # kept to the microsecond, rounding down
        (-1, -1),  # before 1970, down too
    ],
)
def test_nanoseconds_are_kept_to_the_microsecond(nanoseconds: object, expected_us: int) -> None:
    """Nanosecond epochs (detected, or --epoch-unit ns) read exactly, floored to the µs."""
    expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=expected_us)
    assert TimestampParser(epoch_unit=EpochUnit.NANOSECONDS)(nanoseconds) == expected
    if isinstance(nanoseconds, str):
        assert parse(nanoseconds) == expected


@pytest.mark.parametrize(
    ("unit", "number", "expected"),
    [
        (EpochUnit.SECONDS, 1_772_442_000, WHEN),
        (EpochUnit.MILLISECONDS, 5, datetime(1970, 1, 1, 0, 0, 0, 5000, tzinfo=UTC)),
        (EpochUnit.MICROSECONDS, 1_772_442_000_000_000, WHEN),
    ],
)
def test_a_given_epoch_unit_overrides_the_magnitude(
    unit: EpochUnit, number: int, expected: datetime
) -> None:
    """With ``epoch_unit`` the number is read in that unit, whatever its size."""
    assert TimestampParser(epoch_unit=unit)(number) == expected


def test_an_epoch_beyond_year_9999_is_refused() -> None:
    """Milliseconds read as seconds land after 9999: refused, not wrapped."""
    with pytest.raises(LogLineError, match="in seconds is out of range") as caught:
        TimestampParser(epoch_unit=EpochUnit.SECONDS)(1_772_442_000_000)
    assert caught.value.reason == "bad_timestamp"


@pytest.mark.parametrize(
    "text", ["2026-03-02T09:00:00", "2026-03-02 09:00", "Mon, 02 Mar 2026 09:00:00 -0000"]
)
def test_a_time_without_a_zone_is_refused(text: str) -> None:
    """Guessing a zone would shift sessions by hours: zoneless times are rejected."""
    with pytest.raises(LogLineError, match="no time zone") as caught:
        parse(text)
    assert caught.value.reason == "zoneless_timestamp"


def test_assume_tz_gives_zoneless_times_an_iana_zone() -> None:
    """--assume-tz Europe/Paris: 10:00 in Paris in March is 09:00 UTC; in July 08:00 UTC."""
    parser = TimestampParser(assume_tz=load_zone("Europe/Paris"))
    assert parser("2026-03-02T10:00:00") == WHEN
    assert parser("2026-07-02T10:00:00") == datetime(2026, 7, 2, 8, 0, tzinfo=UTC)
    assert parser("2026-03-02T09:00:00Z") == WHEN  # a written zone wins
    # at the zone's offset then: a fixed offset, so times compare and add as instants
    assert parser("2026-03-02T10:00:00").tzinfo == timezone(timedelta(hours=1))
    assert parser("2026-07-02T10:00:00").tzinfo == timezone(timedelta(hours=2))
    assert parser("2026-10-25T02:30:00").utcoffset() == timedelta(hours=2)  # the first 02:30


def test_load_zone() -> None:
    """UTC and IANA names load; anything else is a clear ValueError."""
    assert load_zone("UTC") is UTC
    assert load_zone("utc") is UTC
    assert load_zone("America/New_York") == ZoneInfo("America/New_York")
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        load_zone("Mars/Olympus")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "not a date and time"),
        ("yesterday", "not a date and time"),
        ("09:00 UTC", "does not give a full date"),
        ("March 2026", "does not give a full date"),
        ("2026-03-02 09:00 XYZT", "XYZT"),
        ("2026-13-45T09:00:00Z", "not a date and time"),
        (True, "not a boolean"),
        (None, "not null"),
        ({"at": 1}, "not an object"),
        ([1], "not an array"),
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
    ],
)
def test_unreadable_times_are_refused_with_the_value(value: object, message: str) -> None:
    """Refusals are LogLineError('bad_timestamp') and say what was wrong."""
    with pytest.raises(LogLineError, match=message) as caught:
        parse(value)
    assert caught.value.reason == "bad_timestamp"


def test_no_clock_is_read_for_partial_dates() -> None:
    """A time of day alone would need today's date: it is refused, not completed."""
    with pytest.raises(LogLineError, match="full date"):
        TimestampParser(assume_tz=UTC)("09:00")


aware = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([UTC, PLUS2, MINUS7, timezone(timedelta(hours=5, minutes=30))]),
)


@given(aware)
def test_iso_round_trip(at: datetime) -> None:
    """Whatever isoformat writes is read back as the same instant and offset."""
    parsed = parse(at.isoformat())
    assert parsed == at
    assert parsed.utcoffset() == at.utcoffset()


@given(st.integers(min_value=-62_135_510_400, max_value=10**11 - 1))  # from EARLIEST
def test_epoch_seconds_round_trip(seconds: int) -> None:
    """Any whole number of seconds below the bound is that many seconds after 1970."""
    assert parse(seconds) == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    assert parse(str(seconds)) == parse(seconds)


@given(st.one_of(st.text(max_size=40), st.floats(), st.integers(), st.booleans(), st.none()))
def test_any_value_is_read_or_refused_cleanly(value: object) -> None:
    """The parser returns an aware datetime or raises LogLineError: never anything else."""
    try:
        at = TimestampParser()(value)
    except LogLineError as error:
        assert error.reason in {"bad_timestamp", "zoneless_timestamp"}
    else:
        assert at.utcoffset() is not None


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("45s", timedelta(seconds=45)),
            ("30m", timedelta(minutes=30)),
            ("24h", timedelta(hours=24)),
            ("2d", timedelta(days=2)),
            ("1h30m", timedelta(hours=1, minutes=30)),
            ("1.5s", timedelta(seconds=1.5)),
            ("250ms", timedelta(milliseconds=250)),
            ("10us", timedelta(microseconds=10)),
            (" 2m 5s ", timedelta(minutes=2, seconds=5)),
            ("0", timedelta(0)),
            ("0s", timedelta(0)),
        ],
    )
    def test_forms(self, text: str, expected: timedelta) -> None:
        """Numbers with units, combined; 0 alone needs no unit."""
        assert parse_duration(text) == expected

    @pytest.mark.parametrize("text", ["", "45", "s", "5x", "-5s", "1h30", "4 5s", "1,5s"])
    def test_refused(self, text: str) -> None:
        """A number needs a unit; nothing else is read."""
        with pytest.raises(ValueError, match="cannot read duration"):
            parse_duration(text)

    @pytest.mark.parametrize(
        ("duration", "text"),
        [
            (timedelta(seconds=45), "45s"),
            (timedelta(hours=24), "24h"),
            (timedelta(hours=1, minutes=30), "1h30m"),
            (timedelta(days=2, milliseconds=5), "48h5ms"),
            (timedelta(0), "0"),
        ],
    )
    def test_format(self, duration: timedelta, text: str) -> None:
        """Written in hours at most, as people write them."""
        assert format_duration(duration) == text

    @given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)))
    def test_round_trip(self, duration: timedelta) -> None:
        """Every non-negative duration is written so that it reads back the same."""
        assert parse_duration(format_duration(duration)) == duration


@given(st.lists(st.sampled_from(TIME_TOKENS), min_size=1, max_size=8).map("".join))
def test_token_strings_are_read_or_refused(text: str) -> None:
    """Strings of time-like tokens (the fuzzer's) parse inside the range or raise LogLineError."""
    try:
        at = parse(text)
    except LogLineError:
        return
    assert at.utcoffset() is not None
    assert EARLIEST <= at <= LATEST


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-03-02T09:00:00+24:00", "bad_timestamp"),
        ("9999-12-31T12:00:00Z", "bad_timestamp"),
        ("0001-01-01T00:00:00+14:00", "bad_timestamp"),
        ("1/1/1 0:0:0 +24:00", "bad_timestamp"),
        ("x" * 10_000, "bad_timestamp"),
    ],
)
def test_values_that_crashed_the_parser_are_refused(text: str, reason: str) -> None:
    """Offsets of a day or more, times past the range, and long junk: one clean refusal."""
    with pytest.raises(LogLineError) as refused:
        parse(text)
    assert refused.value.reason == reason
    assert len(str(refused.value)) < 200  # the message shows a cut value


def test_a_digit_string_is_an_epoch_number() -> None:
    """ "20260302" is 20,260,302 seconds after 1970, as docs/replay.md says, not a date."""
    assert parse("20260302") == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=20_260_302)
    assert parse("20260302") == parse(20260302)
