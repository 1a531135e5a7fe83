"""The ``sessionkit`` command, run as the installed console script in a subprocess.

The numbers for ``examples/agent-log.jsonl`` follow from how the log is made (docs/replay.md
describes it): 314 lines, one of them empty, so 313 read. 8 users make 4 support visits each
(32 sessions); heidi's prompts 45 s, 45 s and 46 s apart make 2 sessions; two explicit tickets;
two webhook sessions without a header; a retried prompt (1 duplicate), a mobile client's
session, the nightly digest agent's session, a line without an event id that starts its own
session, and alice's session on day 2: 43 sessions, 305 accepted events. 7 lines are rejected:
a truncated line, a line 10 s late, an unknown event type, a time without a zone, a
``session_end`` of "maybe", and two messages for sessions already closed.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "examples" / "agent-log.jsonl"
SCRIPT = Path(sys.executable).with_name("sessionkit")

REJECTED = {
    "late": 1,
    "malformed_json": 1,
    "session_closed": 2,
    "unknown_event_type": 1,
    "wrong_type": 1,
    "zoneless_timestamp": 1,
}


def sessionkit(
    *args: str | Path, cwd: Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *map(str, args)],
        cwd=cwd,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example log replayed once into sessions.db (in a directory of its own)."""
    where = tmp_path_factory.mktemp("replayed")
    done = sessionkit(
        "replay",
        LOG,
        "--out",
        "assignments.csv",
        "--sessions-out",
        "sessions.jsonl",
        "--rejects",
        "rejects.jsonl",
        "--format",
        "json",
        cwd=where,
    )
    assert done.returncode == 0, done.stderr
    (where / "summary.json").write_text(done.stdout)
    (where / "stderr.txt").write_text(done.stderr)
    return where


class TestReplay:
    def test_the_summary_accounts_for_every_line(self, replayed: Path) -> None:
        summary = json.loads((replayed / "summary.json").read_text())
        assert summary["lines_read"] == 313
        assert (summary["accepted"], summary["duplicates"], summary["rejected"]) == (305, 1, 7)
        assert summary["rejected_by_reason"] == REJECTED
        assert summary["sessions"] == 43
        assert (summary["explicit_sessions"], summary["implicit_sessions"]) == (2, 41)
        assert summary["headerless_sessions"] == 2

    def test_nothing_on_stderr_when_it_is_not_a_terminal(self, replayed: Path) -> None:
        """No progress line on a pipe."""
        assert (replayed / "stderr.txt").read_text() == ""

    def test_files_written(self, replayed: Path) -> None:
        """The database, the assignments CSV, one line per session, one per rejected line."""
        assert (replayed / "sessions.db").stat().st_size > 0
        with (replayed / "assignments.csv").open() as file:
            rows = list(csv.reader(file))
        assert rows[0] == ["event_id", "session_id"]
        assert len(rows) == 1 + 305
        assert len({row[1] for row in rows[1:]}) == 43
        sessions = [json.loads(x) for x in (replayed / "sessions.jsonl").read_text().splitlines()]
        assert len(sessions) == 43
        assert sum(s["status"] == "open" for s in sessions) == 7
        assert sum(s["event_count"] for s in sessions) == 305
        rejects = [json.loads(x) for x in (replayed / "rejects.jsonl").read_text().splitlines()]
        assert {r["reason"] for r in rejects} == set(REJECTED)
        assert all(LOG.read_text().splitlines()[r["line"] - 1] == r["raw"] for r in rejects)

    def test_the_collector_is_given_back_as_it_was(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The command tunes the garbage collector for its loop (it owns the process) and
        undoes it, also when called in-process."""
        import gc

        from sessionkit.cli import main

        before, callbacks = gc.get_threshold(), list(gc.callbacks)
        assert main(["replay", str(LOG), "--no-db", "--quiet"]) == 0
        assert gc.get_threshold() == before
        assert gc.callbacks == callbacks
        assert gc.get_freeze_count() == 0
        assert capsys.readouterr().err == ""

    def test_what_survives_a_young_collection_is_frozen(self) -> None:
        """While replaying, what outlives a young collection is never scanned again; a cycle
        that dies young is still collected."""
        import gc
        import weakref

        from sessionkit.cli._replay_command import _long_lived_state

        class Node:
            partner: object = None

        with _long_lived_state():
            kept = Node()
            dying = Node()
            dying.partner = dying  # a cycle, dropped before any collection
            gone = weakref.ref(dying)
            del dying
            frozen = gc.get_freeze_count()
            gc.collect(0)
            assert gone() is None
            assert gc.get_freeze_count() > frozen
            assert not any(o is kept for o in gc.get_objects())  # frozen: in no generation
        assert gc.get_freeze_count() == 0

    @pytest.mark.parametrize(
        "options",
        [
            ["--no-db", "--out", "a.csv"],
            ["--no-db", "--out", "a.csv", "--workers", "2"],
            ["--no-db", "--out", "a.csv", "--max-lateness", "1m", "--sessions", "s.jsonl"],
            ["--db", "sessions.db", "--rejects", "r.jsonl"],
        ],
    )
    def test_a_replay_makes_no_reference_cycles_per_line(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: list[str]
    ) -> None:
        """Frozen survivors are never collected, so no line may leave a cycle behind: refused,
        rejected, repeated and late lines included (a refusal's error once held its
        traceback, and so the frames holding the error). What the collector finds while the
        command runs (at Python's defaults, nothing frozen) is the same for two lines as for
        four hundred: set-up's alone."""
        import gc

        from sessionkit.cli import _replay_command

        lines = LOG.read_text().splitlines()
        closed = [{"event_id": f"x{n}", "timestamp": "2026-03-05T00:00:00Z",
                   "event_type": "user_agent", "initiator": {"type": "user", "name": "u"},
                   "session_id": "ticket", "session_end": n == 0, "input": "hi"}
                  for n in range(50)]  # fmt: skip
        monkeypatch.setattr(_replay_command, "_freeze_survivors", lambda *_: None)
        monkeypatch.setattr(gc, "freeze", lambda: None)
        monkeypatch.chdir(tmp_path)
        short = _cycles_left(tmp_path / "short.jsonl", lines[:2], options)
        long = _cycles_left(
            tmp_path / "long.jsonl", [*lines, *lines[:40], *map(json.dumps, closed)], options
        )
        assert long == short

    def test_the_text_summary(self, tmp_path: Path) -> None:
        done = sessionkit("replay", LOG, "--no-db", cwd=tmp_path)
        assert done.returncode == 0
        lines = done.stdout.splitlines()
        assert lines[0].split() == ["lines", "read", "313"]
        assert lines[4].split() == ["late", "1"]
        assert "events/s" in lines[-1]
        assert not (tmp_path / "sessions.db").exists()

    def test_strict_exits_1_when_lines_were_rejected(self, tmp_path: Path) -> None:
        done = sessionkit("replay", LOG, "--no-db", "--strict", "--quiet", cwd=tmp_path)
        assert (done.returncode, done.stdout, done.stderr) == (1, "", "")

    def test_assume_tz_accepts_the_zoneless_line(self, tmp_path: Path) -> None:
        done = sessionkit(
            "replay", LOG, "--no-db", "--assume-tz", "UTC", "--format", "json", cwd=tmp_path
        )
        assert json.loads(done.stdout)["rejected"] == 6

    def test_max_lateness_takes_the_late_line_back(self, tmp_path: Path) -> None:
        done = sessionkit(
            "replay", LOG, "--no-db", "--max-lateness", "10s", "--format", "json", cwd=tmp_path
        )
        assert "late" not in json.loads(done.stdout)["rejected_by_reason"]

    def test_standard_input_and_python_m(self, tmp_path: Path) -> None:
        """`-` reads standard input; `python -m sessionkit` is the same command."""
        done = subprocess.run(
            [sys.executable, "-m", "sessionkit", "replay", "-", "--no-db", "--format", "json"],
            input=LOG.read_bytes(),
            capture_output=True,
            cwd=tmp_path,
            check=False,
        )
        assert done.returncode == 0
        assert json.loads(done.stdout)["lines_read"] == 313

    def test_an_existing_database_needs_append_or_replace(self, tmp_path: Path) -> None:
        """A second replay into the same file is refused; --append continues it (the same
        lines are then all earlier than the store's time); --replace starts anew."""
        assert sessionkit("replay", LOG, "--quiet", cwd=tmp_path).returncode == 0
        again = sessionkit("replay", LOG, cwd=tmp_path)
        assert again.returncode == 2
        assert again.stderr.count("\n") == 1
        assert "--append" in again.stderr
        appended = sessionkit("replay", LOG, "--append", "--format", "json", cwd=tmp_path)
        assert json.loads(appended.stdout)["accepted"] == 0
        replaced = sessionkit("replay", LOG, "--replace", "--format", "json", cwd=tmp_path)
        assert json.loads(replaced.stdout)["accepted"] == 305

    def test_other_rules_on_append_are_a_usage_error(self, tmp_path: Path) -> None:
        assert sessionkit("replay", LOG, "--quiet", cwd=tmp_path).returncode == 0
        done = sessionkit("replay", LOG, "--append", "--join-window", "2m", cwd=tmp_path)
        assert done.returncode == 2
        assert "rules" in done.stderr

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["replay", "missing.jsonl"], "missing.jsonl: no such file"),
            (["replay", LOG, "--join-window", "5"], "cannot read duration '5'"),
            (["replay", LOG, "--idle-timeout", "0"], "idle_timeout must be positive"),
            (["replay", LOG, "--assume-tz", "Mars/Olympus"], "unknown time zone"),
            (["replay", LOG, "--out", "a.txt"], "must end in .csv or .jsonl"),
            (["replay", LOG, "--field", "user_id"], "write FIELD=NAME"),
            (["replay", LOG, "--field", "user=account"], "unknown field 'user'"),
            (["replay", LOG, "--header-kinds", "user,robot"], "unknown participant kind"),
            (["replay", LOG, "--append", "--replace"], "not allowed with argument"),
            (["replay"], "the following arguments are required: LOG"),
            (["show", "nothing.db"], "nothing.db: no such file"),
            (["show", LOG], "not a SQLite database"),
            (["stats", "nothing.db"], "nothing.db: no such file"),
            (["diff", LOG, "--a", "window=2m", "--b", ""], "unknown setting 'window'"),
            (["frobnicate"], "invalid choice: 'frobnicate'"),
        ],
    )
    def test_usage_errors_exit_2_in_one_line(
        self, tmp_path: Path, args: list[str | Path], message: str
    ) -> None:
        done = sessionkit(*args, cwd=tmp_path)
        assert done.returncode == 2
        assert message in done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert done.stdout == ""

    @pytest.mark.parametrize("command", [[], ["replay"], ["show"], ["diff"], ["stats"]])
    def test_help_everywhere(self, tmp_path: Path, command: list[str]) -> None:
        done = sessionkit(*command, "--help", cwd=tmp_path)
        assert done.returncode == 0
        assert done.stdout.startswith("usage: sessionkit")


class TestShow:
    def test_the_sessions_table(self, replayed: Path) -> None:
        done = sessionkit("show", "sessions.db", "--limit", "100", cwd=replayed)
        assert done.returncode == 0
        lines = done.stdout.splitlines()
        assert lines[0].split() == [
            "STARTED",
            "SESSION",
            "HEADER",
            "OR",
            "FIRST",
            "EVENT",
            "INITIATOR",
            "EVENTS",
            "STATUS",
        ]
        assert len(lines) == 1 + 43
        assert sum("(no header)" in line for line in lines) == 2
        assert any("ticket-4417" in line and "closed (ended)" in line for line in lines)

    def test_filters_limit_and_json(self, replayed: Path) -> None:
        heidi = sessionkit(
            "show", "sessions.db", "--user", "heidi", "--format", "json", cwd=replayed
        )
        rows = json.loads(heidi.stdout)
        assert [row["event_count"] for row in rows] == [3, 1]
        assert {row["initiator"]["id"] for row in rows} == {"heidi"}
        limited = sessionkit("show", "sessions.db", "--limit", "5", cwd=replayed)
        assert len(limited.stdout.splitlines()) == 1 + 5 + 1
        assert "more" in limited.stdout.splitlines()[-1]
        later = sessionkit(
            "show", "sessions.db", "--since", "2026-03-03", "--format", "json", cwd=replayed
        )
        assert [row["header_id"] for row in json.loads(later.stdout)] == ["q-069"]
        events = sessionkit("show", "sessions.db", "--events", "--user", "ivan", cwd=replayed)
        assert len(events.stdout.splitlines()) == 1 + 13

    def test_one_session_as_a_tree(self, replayed: Path) -> None:
        """Indented by depth: prompts under the header, tool calls under the plan."""
        done = sessionkit("show", "sessions.db", "--session", "ticket-4417", cwd=replayed)
        lines = done.stdout.splitlines()
        assert lines[0] == "session ticket-4417"
        assert "explicit, header q-063, 13 events" in lines[1]
        assert "closed (ended)" in lines[1]
        assert "  user ivan  q-063: My invoice 4417 is wrong." in lines[2]
        assert "    agent support-agent  plan-059:" in lines[3]
        assert "      agent support-agent  tool-087:" in lines[4]
        tree = sessionkit(
            "show", "sessions.db", "--session", "ticket-4417", "--format", "json", cwd=replayed
        )
        events = json.loads(tree.stdout)["events"]
        assert [e["depth"] for e in events[:5]] == [0, 1, 2, 2, 1]
        assert events[2]["thread_parent_id"] == "plan-059"

    def test_an_unknown_session_exits_1(self, replayed: Path) -> None:
        done = sessionkit("show", "sessions.db", "--session", "nope", cwd=replayed)
        assert (done.returncode, done.stdout) == (1, "")
        assert "no session 'nope'" in done.stderr


class TestStatsAndDiff:
    def test_stats(self, replayed: Path) -> None:
        stats = json.loads(
            sessionkit("stats", "sessions.db", "--format", "json", cwd=replayed).stdout
        )
        assert (stats["sessions"], stats["events"], stats["open"]) == (43, 305, 7)
        assert (stats["headerless"], stats["explicit"]) == (2, 2)
        assert stats["events_per_session"] == {"p50": 5, "p90": 13, "p99": 14, "max": 14}
        # The longest session is ticket-4417: 10:30:00 to 11:10:14.
        assert stats["duration_seconds"]["max"] == 40 * 60 + 14
        text = sessionkit("stats", "sessions.db", cwd=replayed).stdout
        assert text.splitlines()[0].split() == ["sessions", "43", "7", "open,", "36", "closed"]

    def test_diff_a_wider_window_merges_heidis_sessions(self, tmp_path: Path) -> None:
        """Heidi's prompts 46 s apart are two sessions under 45 s and one under 2 m; nothing
        else changes."""
        done = sessionkit(
            "diff",
            LOG,
            "--a",
            "join-window=45s",
            "--b",
            "join-window=2m",
            "--format",
            "json",
            cwd=tmp_path,
        )
        result = json.loads(done.stdout)
        changes = result["changes"]
        assert (changes["unchanged"]["groups"], changes["merged"]["groups"]) == (41, 1)
        assert (changes["merged"]["sessions_a"], changes["merged"]["sessions_b"]) == (2, 1)
        assert all(changes[k]["groups"] == 0 for k in ("split", "regrouped", "only_a", "only_b"))
        example = changes["merged"]["examples"][0]
        assert [ref["first_event_id"] for ref in example["a"]] == ["q-059", "q-062"]
        assert result["events"] == {"both": 305, "only_a": 0, "only_b": 0, "neither": 8}
        text = sessionkit(
            "diff", LOG, "--a", "join-window=45s", "--b", "join-window=2m", cwd=tmp_path
        )
        assert "merged" in text.stdout and "-> b" in text.stdout

    def test_diff_a_shorter_idle_timeout_refuses_the_tickets_later_turns(
        self, tmp_path: Path
    ) -> None:
        """Under a 15 m idle timeout ticket-4417 (turns 20 m apart) closes between turns: its
        later events are refused (explicit ids never reopen)."""
        done = sessionkit(
            "diff",
            LOG,
            "--a",
            "idle-timeout=24h",
            "--b",
            "idle-timeout=15m",
            "--format",
            "json",
            cwd=tmp_path,
        )
        result = json.loads(done.stdout)
        assert result["events"]["only_a"] > 0
        assert result["changes"]["regrouped"]["groups"] >= 1


def test_the_readme_shows_what_the_first_command_prints(tmp_path: Path) -> None:
    """README.md's replay summary and show rows are the real output (but for the timing)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    summary_block, show_block = (part.split("```", 1)[0] for part in readme.split("```text\n")[1:3])
    done = sessionkit(
        "replay", "examples/agent-log.jsonl", "--db", tmp_path / "sessions.db", cwd=ROOT
    )
    shown = summary_block.splitlines()
    assert done.stdout.splitlines()[:-2] == shown[:-2]
    assert shown[-2].endswith("events/s") and shown[-1] == "wrote sessions.db"
    listed = sessionkit("show", tmp_path / "sessions.db", cwd=ROOT).stdout.splitlines()
    for line in show_block.splitlines():
        assert line in listed


def test_progress_goes_to_a_terminal_only(tmp_path: Path) -> None:
    """With stderr on a terminal, a progress line (bytes of the total, events/s) is drawn and
    cleared; the summary still goes to stdout."""
    import os
    import pty

    log = tmp_path / "big.jsonl"
    subprocess.run(
        [sys.executable, "-m", "sessionkit.testing.synth", "--events", "60000", "--out", log],
        check=True,
    )
    leader, follower = pty.openpty()
    done = subprocess.run(
        [str(SCRIPT), "replay", str(log), "--no-db"],
        stdout=subprocess.PIPE,
        stderr=follower,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    assert done.returncode == 0
    assert b"MB of" in drawn and b"events/s" in drawn and drawn.endswith(b"\r")
    assert b"lines read" in done.stdout


def test_csv_gzip_and_field_mapping(tmp_path: Path) -> None:
    """A gzip CSV log with its own column names: --field maps them; --out .jsonl tells rules."""
    import gzip

    rows = [
        "id,ts,kind,account,text",
        "1,2026-03-02T09:00:00Z,user_llm,ann,hello",
        "2,2026-03-02T09:00:30Z,user_llm,ann,again",
        "3,1772442100,user_llm,bob,epoch seconds",
    ]
    log = tmp_path / "log.csv.gz"
    log.write_bytes(gzip.compress("\n".join(rows).encode()))
    done = sessionkit(
        "replay", log, "--no-db", "--out", "out.jsonl", "--format", "json",
        "--field", "event_id=id", "--time-field", "ts", "--field", "event_type=kind",
        "--field", "user_id=account", "--field", "input=text",
        cwd=tmp_path,
    )  # fmt: skip
    assert json.loads(done.stdout)["accepted"] == 3, done.stdout + done.stderr
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(o["event_id"], o["rule"], o["line"]) for o in out] == [
        ("1", "new_session", 2),
        ("2", "join_window", 3),
        ("3", "new_session", 4),
    ]
    assert out[0]["session_id"] == out[1]["session_id"] != out[2]["session_id"]


class TestHostileLogs:
    """Whatever a log holds, the command's text cannot be forged and no line stops a replay."""

    HOSTILE: ClassVar[list[dict[str, str]]] = [
        {"event_id": "x\n2026-03-02 09:00:00+00:00  fake-session", "input": "forged row"},
        {"event_id": "esc", "input": "\x1b[2J\x1b]0;owned\x07 cleared", "session_id": "a\x1b[31m"},
        {"event_id": "bidi", "input": "abc\u202edcba", "session_id": "s\u2066id\r"},
    ]

    def log(self, tmp_path: Path, *extra: str) -> Path:
        lines = [
            json.dumps(
                {
                    "timestamp": f"2026-03-02T09:00:0{n}Z",
                    "event_type": "user_agent",
                    "metadata": {"user_id": f"user{n}"},
                    **record,
                }
            )
            for n, record in enumerate(self.HOSTILE)
        ]
        path = tmp_path / "hostile.jsonl"
        path.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
        return path

    def test_show_escapes_what_would_drive_the_terminal(self, tmp_path: Path) -> None:
        """Newlines, escape sequences and bidi controls print as escapes; rows stay rows."""
        assert sessionkit("replay", self.log(tmp_path), cwd=tmp_path).returncode == 0
        for args in ([], ["--events"], ["--session", "a\x1b[31m"]):
            shown = sessionkit("show", "sessions.db", *args, cwd=tmp_path).stdout
            assert not any(char in shown for char in "\x1b\x07\r\u202e\u2066"), (
                f"raw control character in `show {args}`"
            )
        table = sessionkit("show", "sessions.db", cwd=tmp_path).stdout.splitlines()
        assert len(table) == 1 + len(self.HOSTILE)  # header + one line per session
        assert "\\x1b[31m" in sessionkit("show", "sessions.db", "--events", cwd=tmp_path).stdout

    def test_json_output_stays_exact(self, tmp_path: Path) -> None:
        """--format json keeps every character as the log gave it."""
        sessionkit("replay", self.log(tmp_path), cwd=tmp_path)
        rows = json.loads(
            sessionkit("show", "sessions.db", "--events", "--format", "json", cwd=tmp_path).stdout
        )
        assert [row["event_id"] for row in rows] == [r["event_id"] for r in self.HOSTILE]
        assert rows[1]["input"] == self.HOSTILE[1]["input"]

    def test_lines_that_once_crashed_a_replay_are_rejected(self, tmp_path: Path) -> None:
        """A time past 9999, an offset of a day, and JSON nested 100,000 deep: three rejected
        lines, counted, and the replay goes on to the end."""
        deep = "[" * 100_000 + "]" * 100_000
        extra = [
            json.dumps(
                {"event_id": "end", "timestamp": "9999-12-31T23:00:00Z", "event_type": "user_agent"}
            ),
            json.dumps(
                {
                    "event_id": "day",
                    "timestamp": "2026-03-02T09:00:00+24:00",
                    "event_type": "user_agent",
                }
            ),
            deep,
        ]
        done = sessionkit("replay", self.log(tmp_path, *extra), "--format", "json", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert summary["lines_read"] == 6 and summary["accepted"] == 3
        assert summary["rejected_by_reason"] == {"bad_timestamp": 2, "too_deep": 1}


def test_a_replay_that_accepted_nothing_exits_1_saying_why(tmp_path: Path) -> None:
    """Every line rejected is not a success: status 1, and one line naming the main reason."""
    log = tmp_path / "chat.jsonl"
    log.write_text(
        "".join(
            json.dumps({"created": 1_700_000_000 + n, "role": "user", "content": "hi"}) + "\n"
            for n in range(3)
        )
    )
    done = sessionkit("replay", log, "--no-db", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1
    assert json.loads(done.stdout)["rejected"] == 3
    assert done.stderr.strip() == (
        "sessionkit replay: no line was accepted: all 3 were rejected (3 as missing_field; "
        "--rejects FILE writes each with its reason)"
    )
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    assert sessionkit("replay", empty, "--no-db", cwd=tmp_path).returncode == 0  # nothing to read


def _cycles_left(log: Path, lines: list[str], options: list[str]) -> list[str]:
    """The kinds of object the garbage collector frees while ``sessionkit replay`` replays
    ``lines`` (written to ``log``) in-process, sorted."""
    import gc

    from sessionkit import cli

    log.write_text("\n".join(lines) + "\n")
    for name in ("a.csv", "sessions.db", "sessions.db-wal", "sessions.db-shm"):
        (log.parent / name).unlink(missing_ok=True)
    # parsed first: argparse leaves cycles of its own
    parsed = cli.parser().parse_args(["replay", str(log), "--quiet", *options])
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        assert parsed.run(parsed) == 0
        return sorted(type(o).__name__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
