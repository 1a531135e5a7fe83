"""Command-line arguments shared by the commands: durations, rule sets, zones, log options."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timedelta, timezone
from typing import NoReturn

import attrs

from sessionkit import (
    IncompatibleStoreError,
    InvalidRulesError,
    LogLineError,
    ParticipantKind,
    Rules,
)
from sessionkit.replay import (
    FORMATS,
    KIND_NAMES,
    MAX_DEPTH,
    MAX_LINE_BYTES,
    PRESETS,
    EpochUnit,
    LogReader,
    TimestampParser,
    load_zone,
    parse_duration,
)
from sessionkit.storage import SQLiteStore

__all__ = [
    "ArgumentParser",
    "UsageError",
    "add_log_options",
    "add_rule_options",
    "duration",
    "log_reader",
    "open_readonly",
    "positive_int",
    "query_time",
    "rules_from_options",
    "rules_from_spec",
]


class UsageError(Exception):
    """A mistake in how a command was called: reported in one line, exit status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with usage errors reported in one line (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def duration(text: str) -> timedelta:
    """An argparse type: ``45s``, ``30m``, ``24h``, ``1h30m``."""
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def header_kinds(text: str) -> frozenset[ParticipantKind]:
    """An argparse type: participant kinds separated by commas (``user,agent``)."""
    kinds = set()
    for part in text.replace("+", ",").split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name not in KIND_NAMES:
            raise argparse.ArgumentTypeError(
                f"unknown participant kind {name!r} (kinds: {', '.join(KIND_NAMES)})"
            )
        kinds.add(KIND_NAMES[name])
    return frozenset(kinds)


def add_rule_options(parser: argparse.ArgumentParser) -> None:
    """``--join-window``, ``--idle-timeout`` and ``--header-kinds``."""
    group = parser.add_argument_group("rules (docs/rules.md)")
    group.add_argument(
        "--join-window",
        type=duration,
        default=Rules().join_window,
        metavar="DURATION",
        help="a user's next prompt within this joins their session (default: 45s)",
    )
    group.add_argument(
        "--idle-timeout",
        type=duration,
        default=Rules().idle_timeout,
        metavar="DURATION",
        help="a session closes after this long without input (default: 24h)",
    )
    group.add_argument(
        "--header-kinds",
        type=header_kinds,
        default=Rules().header_kinds,
        metavar="KINDS",
        help="whose first event is a session's header (default: user,agent)",
    )


def rules_from_options(options: argparse.Namespace) -> Rules:
    """The rules that ``add_rule_options`` read."""
    try:
        return Rules(options.join_window, options.idle_timeout, options.header_kinds)
    except InvalidRulesError as error:
        raise UsageError(str(error)) from None


#: The names a rule set spec (``diff --a``) may use, with the option each stands for.
_SPEC_KEYS = {"join-window": "join_window", "idle-timeout": "idle_timeout", "header-kinds": ""}


def rules_from_spec(spec: str) -> Rules:
    """A rule set written as ``join-window=2m,idle-timeout=12h,header-kinds=user,agent``.

    Settings left out keep their defaults; a comma-separated value continues the setting before
    it (so ``header-kinds=user,agent`` works). Raises :class:`UsageError`.
    """
    settings: dict[str, str] = {}
    key = ""
    for part in spec.split(","):
        name, equals, value = part.partition("=")
        if equals:
            key = name.strip().replace("_", "-")
            if key not in _SPEC_KEYS:
                raise UsageError(
                    f"unknown setting {key!r} in rule set {spec!r} "
                    f"(settings: {', '.join(_SPEC_KEYS)})"
                )
            settings[key] = value.strip()
        elif key == "header-kinds":
            settings[key] += "," + part.strip()
        elif part.strip():
            raise UsageError(f"cannot read {part!r} in rule set {spec!r}: write setting=value")
    try:
        defaults = Rules()
        return Rules(
            parse_duration(settings["join-window"])
            if "join-window" in settings
            else defaults.join_window,
            parse_duration(settings["idle-timeout"])
            if "idle-timeout" in settings
            else defaults.idle_timeout,
            header_kinds(settings["header-kinds"])
            if "header-kinds" in settings
            else defaults.header_kinds,
        )
    except (ValueError, argparse.ArgumentTypeError) as error:
        raise UsageError(f"rule set {spec!r}: {error}") from None


def add_log_options(parser: argparse.ArgumentParser) -> None:
    """The options that say how to read logs."""
    parser.add_argument(
        "logs",
        nargs="+",
        metavar="LOG",
        help="log files (JSON Lines or CSV, plain or gzip); - reads standard input",
    )
    group = parser.add_argument_group("reading logs (docs/replay.md)")
    group.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        help="the layout of a known tool's logs: aiceberg (the default), otel (OpenTelemetry "
        "GenAI spans), openinference, langfuse, langsmith; --field and --kind adjust it",
    )
    group.add_argument(
        "--log-format",
        choices=FORMATS,
        help="the logs' format: jsonl, csv, json (an array of records) or otlp (OpenTelemetry "
        "JSON); by default .csv files are CSV, .json files arrays, files that start an OTLP "
        "export request OTLP, others JSON Lines",
    )
    group.add_argument(
        "--time-field",
        metavar="NAME",
        help="the field holding each event's time (default: timestamp, created_at or time)",
    )
    group.add_argument(
        "--field",
        action="append",
        default=[],
        metavar="FIELD=NAME",
        help="read FIELD from NAME (dotted for nested JSON; NAME,NAME for alternatives), e.g. "
        "--field user_id=account or --field initiator.type=role; repeat for more",
    )
    group.add_argument(
        "--kind",
        action="append",
        default=[],
        metavar="VALUE=KIND",
        help="read VALUE of the initiator's type field as participant KIND, e.g. "
        "--kind assistant=llm --kind system=init; repeat for more",
    )
    _add_time_options(group)
    _add_bound_options(group)


def _add_time_options(group: argparse._ArgumentGroup) -> None:
    """How times are read, and how late an event may come."""
    group.add_argument(
        "--epoch-unit",
        choices=[unit.value for unit in EpochUnit],
        help="the unit of numeric times (default: detected from their magnitude)",
    )
    group.add_argument(
        "--assume-tz",
        metavar="ZONE",
        help="the time zone of times written without one, e.g. UTC or Europe/Paris "
        "(default: such times are rejected)",
    )
    group.add_argument(
        "--max-lateness",
        type=duration,
        default=timedelta(0),
        metavar="DURATION",
        help="reorder events up to this much out of order; later ones are rejected as late "
        "(default: 0, strict order)",
    )


def _add_bound_options(group: argparse._ArgumentGroup) -> None:
    """The bounds of a line, beyond which it is rejected."""
    group.add_argument(
        "--max-line-bytes",
        type=positive_int,
        default=MAX_LINE_BYTES,
        metavar="N",
        help="reject longer JSON Lines lines as line_too_long (default: 8 MiB)",
    )
    group.add_argument(
        "--max-depth",
        type=positive_int,
        default=MAX_DEPTH,
        metavar="N",
        help=f"reject records nested deeper as too_deep (default: {MAX_DEPTH})",
    )


def _pairs(items: list[str], option: str, shape: str) -> dict[str, str]:
    """``A=B`` option values as a mapping. Raises :class:`UsageError` naming the option."""
    pairs = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key.strip() or not value.strip():
            raise UsageError(f"{option} {item!r}: write {shape}")
        pairs[key.strip()] = value.strip()
    return pairs


def log_reader(options: argparse.Namespace, stdin_ok: bool = True) -> LogReader:
    """The reader that ``add_log_options`` describe. Raises :class:`UsageError`."""
    for path in options.logs:
        if path == "-":  # standard input
            if not stdin_ok:
                raise UsageError("this command cannot read standard input")
            continue
        if not os.path.isfile(path):
            raise UsageError(f"{path}: no such file")
    fields = _pairs(options.field, "--field", "FIELD=NAME, e.g. user_id=account")
    if options.time_field:
        fields["time"] = options.time_field
    kinds = _pairs(options.kind, "--kind", "VALUE=KIND, e.g. assistant=llm")
    preset = PRESETS[options.preset] if options.preset else PRESETS["aiceberg"]
    assume_tz = options.assume_tz or preset.assume_tz
    try:
        base = preset.layout.with_fields(fields)
        layout = attrs.evolve(base, kinds={**dict(base.kinds), **kinds})
        zone = load_zone(assume_tz) if assume_tz else None
    except ValueError as error:
        raise UsageError(str(error)) from None
    unit = EpochUnit(options.epoch_unit) if options.epoch_unit else None
    return LogReader(
        options.logs,
        format=options.log_format,
        layout=layout,
        timestamps=TimestampParser(zone, unit),
        stdin=sys.stdin.buffer,
        max_line_bytes=options.max_line_bytes,
        max_depth=options.max_depth,
    )


def query_time(text: str) -> datetime:
    """An argparse type for ``--since``/``--until``: a time as logs write it; UTC if zoneless."""
    try:
        return TimestampParser(timezone.utc)(text)
    except LogLineError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return value


def open_readonly(path: str) -> SQLiteStore:
    """A store file opened for queries. Raises :class:`UsageError` if it is not one."""
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such file")
    try:
        return SQLiteStore(path, readonly=True)
    except IncompatibleStoreError as error:
        raise UsageError(str(error)) from None
