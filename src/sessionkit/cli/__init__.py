"""The ``sessionkit`` command: ``replay``, ``show``, ``diff``, ``stats``, ``serve`` (docs/cli.md).

Output that people read goes to stdout; progress and diagnostics go to stderr. Exit status: 0
when all went well, 1 when ``replay --strict`` rejected lines or ``show --session`` found no such
session, 2 for a usage error (reported in one line, never a traceback).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from sessionkit import SessionkitError, __version__
from sessionkit.cli import _diff, _replay_command, _serve, _show, _stats
from sessionkit.cli._args import ArgumentParser, UsageError

__all__ = ["main"]


def parser() -> ArgumentParser:
    """The command's argument parser."""
    command = ArgumentParser(
        prog="sessionkit",
        description="Group the events of conversations between people and AI systems into "
        "sessions: replay logs, show and compare the sessions.",
    )
    command.add_argument("--version", action="version", version=f"sessionkit {__version__}")
    commands = command.add_subparsers(
        title="commands", metavar="COMMAND", dest="command", required=True
    )
    for module in (_replay_command, _show, _diff, _stats, _serve):
        module.add_parser(commands)
    return command


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default: the process's arguments); return the exit status."""
    options = parser().parse_args(argv)
    try:
        status: int = options.run(options)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`| head`): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (UsageError, SessionkitError, OSError) as error:
        print(f"sessionkit {options.command}: error: {error}", file=sys.stderr)
        return 2
    except LookupError as error:  # what was asked for is not there
        print(f"sessionkit {options.command}: {error.args[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sessionkit {options.command}: interrupted", file=sys.stderr)
        return 130
    return status
