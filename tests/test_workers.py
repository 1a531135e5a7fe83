"""Reading a log in a second process (``replay --workers``) changes no outcome: the records a
child reads replay exactly as those read here, and the command writes the same files with one,
two or three workers."""

from __future__ import annotations

import fcntl
import gzip
import io
import json
import multiprocessing
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import sessionkit.replay._workers as workers
from sessionkit import Sessionizer
from sessionkit.cli import main
from sessionkit.replay import (
    KeptFields,
    LogLayout,
    LogReader,
    read_apart,
    replay_lean,
    why_not_apart,
)
from sessionkit.testing.synth import generate

from .test_fast import HOSTILE
from .test_lean import EXAMPLE, REPEATS, SKIPPED, normal

ROOT = Path(__file__).resolve().parent.parent


def outcomes(records: Iterable[Any], reader: LogReader, lateness: float) -> list[object]:
    sessionizer = Sessionizer()
    got = list(normal(replay_lean(records, sessionizer, max_lateness=timedelta(seconds=lateness))))
    return [*got, reader.lines_read, reader.bytes_read, sessionizer.snapshot()]


def both(make: Any, lateness: float = 0) -> tuple[list[object], list[object]]:
    """The outcomes of a replay of the reader ``make()`` gives, read here and read apart."""
    here, apart = make(), make()
    return outcomes(here.lean_records(), here, lateness), outcomes(
        read_apart(apart), apart, lateness
    )


def stdin(data: bytes) -> Any:
    return lambda: LogReader(["-"], stdin=io.BytesIO(data), stdin_name="log")


@pytest.mark.parametrize("lateness", [0, 3, 30])
def test_repeats_hostile_lines_and_the_example_read_apart_the_same(lateness: float) -> None:
    lines = [*(item.encode() for item in REPEATS), *HOSTILE, *SKIPPED]
    data = b"".join(line + b"\n" for line in lines) + EXAMPLE.read_bytes()
    here, apart = both(stdin(data), lateness)
    assert apart == here
    reasons = {getattr(o, "reason", None) for o in here}
    assert {"conflicting_duplicate", "session_closed", "malformed_json"} <= reasons
    assert ("late" in reasons) == (lateness < 5)  # q5 comes 5 s behind the newest


def test_a_synthetic_log_in_several_files_reads_apart_the_same(tmp_path: Path) -> None:
    """More than one message's worth of records, in a plain and a gzip file."""
    lines = [json.dumps(record) + "\n" for record in generate(5000, 60, 3)]
    (tmp_path / "a.jsonl").write_text("".join(lines[:2500]))
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress("".join(lines[2500:]).encode()))
    paths = [tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz"]
    here, apart = both(lambda: LogReader(paths))
    assert apart == here
    assert here[-3] == 5000


def test_events_of_one_block_in_several_zones_and_sources_read_apart_the_same(
    tmp_path: Path,
) -> None:
    """Events go to this process a block of columns at a time: a block whose times are in UTC
    and at other offsets alike, whose initiators are new halfway, and that two sources and an
    output sent alone cut, comes back event by event as read here."""
    records = [_parsed(line) for line in EXAMPLE.read_text().splitlines()[:120]]
    for n, record in enumerate(records):
        if type(record) is dict and n % 3 == 1 and str(record.get("timestamp")).endswith("Z"):
            record["timestamp"] = record["timestamp"][:-1] + "+02:00"
    lines = [json.dumps(record) + "\n" for record in records]
    lines.insert(30, json.dumps({"event_id": "x1", "timestamp": "2026-03-02T09:00:00Z",
                                 "output": "set alone"}) + "\n")  # fmt: skip
    (tmp_path / "a.jsonl").write_text("".join(lines[:60]))
    (tmp_path / "b.jsonl").write_text("".join(lines[60:]))
    here, apart = both(lambda: LogReader([tmp_path / "a.jsonl", tmp_path / "b.jsonl"]), 3600)
    assert apart == here
    kept = [r for r in read_apart(LogReader([tmp_path / "a.jsonl"])) if type(r) is KeptFields]
    assert {r.fields[1].utcoffset() for r in kept} == {timedelta(0), timedelta(hours=2)}
    assert len({r.fields[2] for r in kept}) > 3


def _parsed(line: str) -> Any:
    """A line's record; a line that is no JSON (the example's truncated one) as a string."""
    try:
        return json.loads(line)
    except ValueError:
        return line


def test_spans_of_a_document_read_apart_the_same() -> None:
    layout = LogLayout.preset("otel")
    here, apart = both(lambda: LogReader([ROOT / "examples" / "traces.json"], layout=layout))
    assert apart == here
    assert len(here) > 10


def test_events_come_as_kept_fields_and_map_again_to_their_event() -> None:
    data = EXAMPLE.read_bytes()
    here = [
        r for r in LogReader(["-"], stdin=io.BytesIO(data)).lean_records() if hasattr(r, "fields")
    ]
    apart = [
        r for r in read_apart(LogReader(["-"], stdin=io.BytesIO(data))) if hasattr(r, "fields")
    ]
    assert {type(r) for r in apart} == {KeptFields}
    assert [r.event() for r in apart] == [r.event() for r in here]  # type: ignore[union-attr]


def test_an_error_in_the_child_is_raised_with_its_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(record: object) -> tuple[object, ...]:
        raise OSError("the disk went away")

    monkeypatch.setattr(workers, "_row", broken)  # the forked child has it too
    with pytest.raises(RuntimeError, match=r"(?s)child process.*the disk went away"):
        list(read_apart(LogReader(["-"], stdin=io.BytesIO(EXAMPLE.read_bytes()))))


def test_closing_early_ends_the_child() -> None:
    lines = "".join(json.dumps(record) + "\n" for record in generate(5000, 60, 4)).encode()
    before = set(multiprocessing.active_children())
    records = read_apart(LogReader(["-"], stdin=io.BytesIO(lines)))
    assert next(records).line == 1
    assert len(set(multiprocessing.active_children()) - before) == 1
    records.close()  # the child, blocked sending the rest, is ended
    assert set(multiprocessing.active_children()) <= before


@pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="a pipe's size is Linux's")
def test_the_pipe_holds_two_messages() -> None:
    receiving, sending = multiprocessing.Pipe(duplex=False)
    with receiving, sending:
        assert fcntl.fcntl(sending.fileno(), fcntl.F_GETPIPE_SZ) < 1 << 20
        workers._widen(sending)
        assert fcntl.fcntl(sending.fileno(), fcntl.F_GETPIPE_SZ) == 1 << 20


def test_what_cannot_be_read_apart_says_why(tmp_path: Path) -> None:
    mapper = LogReader(["-"], mapper=lambda record, source, line: None)  # type: ignore[arg-type, return-value]
    assert why_not_apart(mapper) == "a mapper of your own is called in one process"
    assert why_not_apart(LogReader([tmp_path / "log.csv"])) == "CSV is read in one process"
    assert why_not_apart(LogReader([tmp_path / "log.jsonl"])) is None
    with pytest.raises(ValueError, match="CSV"):
        next(read_apart(LogReader([tmp_path / "log.csv"])))


# -- the command ----------------------------------------------------------------------------------


def replayed(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[Any]:
    """The JSON summary and the files of ``sessionkit replay --no-db``."""
    names = [tmp_path / name for name in ("out.jsonl", "sessions.jsonl", "rejects.jsonl")]
    argv = ["replay", *args, "--no-db", "--format", "json", "--out", str(names[0])]
    argv += ["--sessions-out", str(names[1]), "--rejects", str(names[2])]
    assert main(argv) in (0, 1)
    summary = json.loads(capsys.readouterr().out)
    del summary["seconds"], summary["events_per_second"]
    return [summary, *(path.read_bytes() for path in names)]


@pytest.mark.parametrize("lateness", ["0s", "2s"])
def test_the_command_writes_the_same_files_with_one_two_and_three_workers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lateness: str
) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(
        "".join(item + "\n" for item in REPEATS).encode()
        + b"".join(line + b"\n" for line in HOSTILE)
        + EXAMPLE.read_bytes()
    )
    runs = [
        replayed(tmp_path, capsys, str(log), "--max-lateness", lateness, "--workers", n)
        for n in ("1", "2", "3")
    ]
    assert [run[0].pop("processes") for run in runs] == [1, 2, 2]
    assert runs[1] == runs[0]
    assert runs[2] == runs[0]
    assert runs[0][0]["rejected"] > 0 and runs[0][0]["outputs"] > 0


def test_times_in_a_zone_with_daylight_saving_are_instants_in_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Paris moves to +02:00 on 29 March: the second prompt comes 23.5 hours after the first,
    so session s1 is still open (24 hours idle), whichever process reads the times."""
    log = tmp_path / "log.jsonl"
    prompt = '{{"event_id": "{}", "timestamp": "{}", "session_id": "s1", "input": "hi", '
    prompt += '"initiator": {{"type": "user", "name": "u"}}}}\n'
    log.write_text(
        prompt.format("a", "2026-03-28T12:00:00") + prompt.format("b", "2026-03-29T12:30:00")
    )
    runs = [
        replayed(tmp_path, capsys, str(log), "--assume-tz", "Europe/Paris", "--workers", n)
        for n in ("1", "2")
    ]
    assert [run[0].pop("processes") for run in runs] == [1, 2]
    assert runs[1] == runs[0]
    assert runs[0][0]["accepted"] == 2 and runs[0][0]["rejected"] == 0


def test_the_command_says_when_it_reads_in_one_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(EXAMPLE.read_bytes())
    db = str(tmp_path / "s.db")
    assert main(["replay", str(log), "--db", db, "--workers", "2"]) == 0
    assert "one process: a store is written by one process (--workers)" in capsys.readouterr().out
    csv = tmp_path / "log.csv"
    csv.write_text(
        "event_id,timestamp,event_type,metadata.user_id\nq1,2026-03-02T09:00:00Z,user_agent,a\n"
    )
    assert main(["replay", str(csv), "--no-db", "--workers", "2"]) == 0
    assert "one process: CSV is read in one process (--workers)" in capsys.readouterr().out
    assert main(["replay", str(log), "--no-db", "--workers", "auto"]) == 0  # the cores there are
    assert "one process" not in capsys.readouterr().out


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_workers_must_be_a_number_of_processes(value: str) -> None:
    with pytest.raises(SystemExit):
        main(["replay", "x.jsonl", "--workers", value])
