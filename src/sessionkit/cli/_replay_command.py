"""``sessionkit replay``: group the events of logs into sessions, accounting for every line."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from typing import Any

import attrs

from sessionkit import Rules, Sessionizer
from sessionkit.cli._args import (
    UsageError,
    add_log_options,
    add_rule_options,
    log_reader,
    positive_int,
    rules_from_options,
)
from sessionkit.cli._progress import Progress
from sessionkit.cli._text import table
from sessionkit.replay import (
    AssignmentWriter,
    EventMapper,
    LogReader,
    Placed,
    RejectedLine,
    RejectWriter,
    Replayed,
    ReplaySummary,
    SessionWriter,
    read_apart,
    replay_lean,
    replay_records,
    why_not_apart,
)
from sessionkit.storage import ClosedIdFile, SQLiteStore, Tracker

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Group the events of logs into sessions. Every non-empty line ends as accepted, duplicate, an
output sent after its event, or rejected with a reason; the summary counts them. By default the
sessions go to a SQLite file (sessions.db), to query with `sessionkit show` and `sessionkit
stats`.
"""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "replay", help="group the events of logs into sessions", description=DESCRIPTION
    )
    add_log_options(parser)
    add_rule_options(parser)
    group = parser.add_argument_group("where the results go")
    group.add_argument(
        "--db", help="the SQLite file to record into (default: sessions.db; not with Spark)"
    )
    group.add_argument("--no-db", action="store_true", help="record no SQLite file")
    existing = group.add_mutually_exclusive_group()
    existing.add_argument(
        "--append",
        action="store_true",
        help="continue an existing --db file (its rules must be the same)",
    )
    existing.add_argument(
        "--replace", action="store_true", help="delete an existing --db file and start anew"
    )
    group.add_argument(
        "--out",
        metavar="FILE",
        help="write each event's session: .csv (event_id,session_id) or .jsonl (with the rule)",
    )
    group.add_argument(
        "--sessions-out", metavar="FILE", help="write one JSON line per session (.jsonl)"
    )
    group.add_argument(
        "--rejects",
        metavar="FILE",
        help="write each rejected line as JSON: source, line, reason, detail, raw line",
    )
    _add_engine_options(parser)
    group = parser.add_argument_group("reporting")
    group.add_argument(
        "--strict", action="store_true", help="exit with status 1 if any line was rejected"
    )
    group.add_argument("--quiet", action="store_true", help="print no summary and no progress line")
    group.add_argument(
        "--format", choices=("text", "json"), default="text", help="the summary's format"
    )
    parser.set_defaults(run=run)


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("where it runs (docs/scaling.md)")
    group.add_argument(
        "--engine",
        choices=("python", "spark"),
        default="python",
        help="python (this process, the default) or spark: the same outcome on Apache Spark "
        "(needs sessionkit[spark]; writes no database)",
    )
    group.add_argument(
        "--master",
        metavar="URL",
        help="the Spark master, e.g. spark://host:7077 (default: local[*], this machine's cores)",
    )
    group.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="processes for the python engine: 1 (the default), or 2 and more to read and "
        "decode the log in a second process while this one groups (auto: 2 where the "
        "machine has 2 cores); the same outcome either way",
    )
    group.add_argument(
        "--partition",
        choices=("scope", "components"),
        default="scope",
        help="how Spark spreads the events: whole scopes (default) or buckets of linked users",
    )


def _workers(text: str) -> int:
    """``--workers``: a number of processes, or ``auto`` (the cores this process may use)."""
    if text == "auto":
        cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        return len(cores) if cores else os.cpu_count() or 1
    return positive_int(text)


@attrs.frozen
class _Replay:
    """What a replay was set up with: where events go, and where each kind of outcome goes."""

    reader: LogReader
    group: Sessionizer | Tracker
    #: events per call of ``group``: one transaction each for a store; a few dozen in memory,
    #: where large batches only keep objects alive for the garbage collector to scan
    batch: int
    sessionizer: Sessionizer
    assignments: AssignmentWriter | None
    sessions: SessionWriter | None
    rejects: RejectWriter | None


def run(options: argparse.Namespace) -> int:
    """Set the replay up, run it, and report."""
    if options.engine == "spark":
        summary, elapsed = _on_spark(options)
    else:
        if options.master is not None:
            raise UsageError("--master needs --engine spark")
        options.db = options.db or "sessions.db"
        with ExitStack() as stack:
            replay = _set_up(options, stack)
            stack.enter_context(_long_lived_state())
            summary, elapsed = _loop(replay, options)
    if not summary.balanced:  # a bug, never bad input: say so loudly
        raise RuntimeError(f"lines read and outcomes disagree: {summary.to_json()}")
    if not options.quiet:
        print(_report(summary, elapsed, options))
    if summary.lines_read and not (summary.accepted or summary.duplicates):
        reason, count = summary.rejected_by_reason.most_common(1)[0]
        print(
            f"sessionkit replay: no line was accepted: all {summary.lines_read:,} were rejected "
            f"({count:,} as {reason}; --rejects FILE writes each with its reason)",
            file=sys.stderr,
        )
        return 1
    return 1 if options.strict and summary.rejected else 0


def _set_up(options: argparse.Namespace, stack: ExitStack) -> _Replay:
    """Open the input, the grouper (a Tracker on the --db file, or a Sessionizer whose closed
    ids go to a temporary file) and the output files; ``stack`` closes them."""
    rules = rules_from_options(options)
    reader = log_reader(options)
    if options.no_db:
        # Closed ids go to a temporary file: memory must not grow with the log.
        closed_ids = stack.enter_context(ClosedIdFile())
        sessionizer = Sessionizer(rules, closed_sessions=closed_ids)
        group: Sessionizer | Tracker = sessionizer
        batch = 50
    else:
        tracker = stack.enter_context(_open_tracker(options, rules))
        sessionizer, group, batch = tracker.sessionizer, tracker, 1000
    try:
        assignments = stack.enter_context(AssignmentWriter(options.out)) if options.out else None
    except ValueError as error:
        raise UsageError(str(error)) from None
    sessions = SessionWriter(options.sessions_out) if options.sessions_out else None
    rejects = RejectWriter(options.rejects) if options.rejects else None
    for output in (sessions, rejects):
        if output is not None:
            stack.enter_context(output)
    replay = _Replay(reader, group, batch, sessionizer, assignments, sessions, rejects)
    options.processes, options.one_process_because = _processes(replay, options)
    return replay


@contextmanager
def _long_lived_state() -> Iterator[None]:
    """Spare the garbage collector the replay's long-lived state: what set-up made is frozen,
    and so is whatever survives a young collection (``_freeze_survivors``), so each object is
    scanned once, while it is new and in the cache, and never again as the sessions being
    grouped pile up (docs/performance.md). Cycles that die young are still collected; no line
    of a replay leaves one behind (tests/test_cli.py). The command owns the process; both are
    undone at the end."""
    gc.collect()
    gc.freeze()
    gc.callbacks.append(_freeze_survivors)
    try:
        yield
    finally:
        gc.callbacks.remove(_freeze_survivors)
        gc.unfreeze()


def _freeze_survivors(phase: str, info: dict[str, int]) -> None:
    """After a young collection, freeze what survived it (``gc.freeze`` only moves lists)."""
    if phase == "stop" and info["generation"] == 0:
        gc.freeze()


def _loop(replay: _Replay, options: argparse.Namespace) -> tuple[ReplaySummary, float]:
    """Replay every line, writing each outcome where it goes; the summary and the seconds.
    With the reader's own mapper, the lean replay runs (the same outcomes, built from each
    line's fields)."""
    summary = ReplaySummary()
    progress = Progress(replay.reader, sys.stderr, enabled=not options.quiet)
    started = time.perf_counter()
    if isinstance(replay.reader.mapper, EventMapper):
        _write_lean(replay, options, summary, progress)
    else:
        _write(replay, options, summary, progress)
    elapsed = time.perf_counter() - started
    progress.done()
    if replay.sessions is not None:
        for session in replay.sessionizer.open_sessions():
            replay.sessions.write(session)
    summary.lines_read = replay.reader.lines_read
    return summary, elapsed


def _write(
    replay: _Replay, options: argparse.Namespace, summary: ReplaySummary, progress: Progress
) -> None:
    """Replay with :func:`replay_records`, writing each outcome where it goes."""
    outcomes = replay_records(
        replay.reader, replay.group, max_lateness=options.max_lateness, batch_size=replay.batch
    )
    for count, outcome in enumerate(outcomes, 1):
        summary.add(outcome)
        if not count % Progress.EVERY:
            progress.tick(count)
        if type(outcome) is not Replayed:
            if replay.rejects is not None and type(outcome) is RejectedLine:
                replay.rejects.write(outcome)
            continue
        if replay.assignments is not None:
            replay.assignments.write(outcome)
        if replay.sessions is not None:
            for closed in outcome.assignment.closed:
                replay.sessions.write(closed)


def _write_lean(
    replay: _Replay, options: argparse.Namespace, summary: ReplaySummary, progress: Progress
) -> None:
    """Replay with the lean replay (:func:`replay_lean`): what :func:`_write` does. With
    ``--workers``, a child process reads the log."""
    records = read_apart(replay.reader) if options.processes > 1 else replay.reader.lean_records()
    with closing(records):
        outcomes = replay_lean(
            records, replay.group, max_lateness=options.max_lateness, batch_size=replay.batch
        )
        _write_outcomes(replay, summary, progress, outcomes)


def _processes(replay: _Replay, options: argparse.Namespace) -> tuple[int, str | None]:
    """How many processes replay, and why only one when ``--workers`` asked for more: two
    (one reads, one groups) where the lean replay runs and the log can be read apart."""
    if options.workers < 2:
        return 1, None
    if replay.group is not replay.sessionizer:
        return 1, "a store is written by one process"
    why_not = why_not_apart(replay.reader)
    return (1, why_not) if why_not is not None else (2, None)


def _write_outcomes(
    replay: _Replay, summary: ReplaySummary, progress: Progress, outcomes: Iterator[Any]
) -> None:
    """Write what the lean replay yields where each kind of outcome goes."""
    assignments = replay.assignments
    pairs = assignments.pair_writer() if assignments is not None else None
    fields = assignments.write_fields if assignments is not None and pairs is None else None
    sessions, rejects = replay.sessions, replay.rejects
    joined = 0  # accepted events that started no session: counted here, added at the end
    for count, outcome in enumerate(outcomes, 1):
        if not count % Progress.EVERY:
            progress.tick(count)
        if type(outcome) is not tuple:  # a duplicate, an output set, a rejected line
            summary.add(outcome)
            if rejects is not None and type(outcome) is RejectedLine:
                rejects.write(outcome)
            continue
        accepted: Placed = outcome
        source, line, event_id, scope, placed = accepted
        session_id, rule, explicit, started, header, _, thread_parent, closed = placed
        if started:
            summary.add_accepted(started, explicit, header)
        else:
            joined += 1
        if pairs is not None:
            pairs(event_id, session_id)
        elif fields is not None:
            fields(
                event_id, scope, session_id, rule.value, started, header, thread_parent,
                source, line,
            )  # fmt: skip
        if sessions is not None:
            for summary_of_closed in closed:
                sessions.write(summary_of_closed)
    summary.accepted += joined


def _on_spark(options: argparse.Namespace) -> tuple[ReplaySummary, float]:
    """The replay on Spark (sessionkit.spark): the same outcomes, written in the same order."""
    if options.db is not None or options.append or options.replace:
        raise UsageError("--engine spark writes no database: leave out --db, --append, --replace")
    if options.workers > 1:
        raise UsageError("--workers is for --engine python: Spark spreads the work itself")
    options.processes, options.one_process_because = 1, None
    options.no_db = True
    rules = rules_from_options(options)
    reader = log_reader(options)
    try:
        from sessionkit.cli._spark import replay_on_spark
    except ImportError as error:
        raise UsageError(f"--engine spark needs sessionkit[spark] ({error})") from None
    started = time.perf_counter()
    summary = replay_on_spark(options, reader, rules)
    return summary, time.perf_counter() - started


def _open_tracker(options: argparse.Namespace, rules: Rules) -> Tracker:
    path = options.db
    store = SQLiteStore(path, replace=options.replace)  # deletes only once it holds the lock
    try:
        if store.stored_rules() is not None and not options.append:
            raise UsageError(
                f"{path} already holds sessions: pass --append to continue it, --replace to "
                "start anew, or --db to choose another file"
            )
        return Tracker(store, rules)
    except BaseException:
        store.close()
        raise


def _report(summary: ReplaySummary, elapsed: float, options: argparse.Namespace) -> str:
    rate = summary.accepted / elapsed if elapsed > 0 else 0.0
    if options.format == "json":
        document = summary.to_json()
        document["seconds"] = round(elapsed, 3)
        document["events_per_second"] = round(rate)
        document["processes"] = options.processes
        return json.dumps(document, indent=2)
    rows = [
        ["lines read", f"{summary.lines_read:,}"],
        ["accepted", f"{summary.accepted:,}"],
        ["duplicates", f"{summary.duplicates:,}"],
        *([["outputs sent later", f"{summary.outputs:,}"]] if summary.outputs else []),
        ["rejected", f"{summary.rejected:,}"],
    ]
    rows += [[f"  {reason}", f"{n:,}"] for reason, n in sorted(summary.rejected_by_reason.items())]
    rows += [
        ["sessions", f"{summary.sessions:,}"],
        ["  explicit", f"{summary.explicit_sessions:,}"],
        ["  implicit", f"{summary.implicit_sessions:,}"],
        ["  headerless", f"{summary.headerless_sessions:,}"],
    ]
    written = [] if options.no_db else [options.db]
    written += [path for path in (options.out, options.sessions_out, options.rejects) if path]
    lines = [table(None, rows, right=(1,))]
    processes = f", {options.processes} processes" if options.processes > 1 else ""
    lines.append(f"{elapsed:.2f} s, {rate:,.0f} events/s{processes}")
    if options.one_process_because:
        lines.append(f"one process: {options.one_process_because} (--workers)")
    if written:
        lines.append("wrote " + ", ".join(written))
    return "\n".join(lines)
