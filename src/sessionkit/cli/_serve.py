"""``sessionkit serve``: a local, read-only web page over a SQLite store (docs/viewer.md)."""

from __future__ import annotations

import argparse
import os
import sys
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from sessionkit.cli._args import open_readonly
from sessionkit.cli._text import visible
from sessionkit.cli._viewer import LOOPBACK_NAMES, Viewer
from sessionkit.storage import SessionQueries

__all__ = ["ViewerServer", "add_parser", "run", "start"]

DESCRIPTION = """\
Serve a read-only web page over a SQLite file written by `sessionkit replay`: the Monitoring list
of events with a Sessions column and filters, and each session's thread tree. It binds to
127.0.0.1 (only this machine can connect) unless --host says otherwise, and keeps working while a
writer records into the same file. Ctrl-C stops it.
"""


class ViewerServer(ThreadingMixIn, WSGIServer):
    """A WSGI server answering each request in a thread of its own."""

    daemon_threads = True
    log_requests = True


class _QuietHandler(WSGIRequestHandler):
    """Requests are logged to stderr in one line each, control characters escaped."""

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "log_requests", True):
            print(visible(f"{self.address_string()} {format % args}"), file=sys.stderr)


def start(
    store: SessionQueries,
    name: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_requests: bool = True,
) -> ViewerServer:
    """A server for ``store`` bound to ``host:port`` (port 0: any free port); call its
    ``serve_forever()``. A loopback server answers only to loopback host names."""
    loopback = host in {"127.0.0.1", "localhost", "::1"}
    app = Viewer(store, name, LOOPBACK_NAMES if loopback else None)
    server = make_server(host, port, app, server_class=ViewerServer, handler_class=_QuietHandler)
    server.log_requests = log_requests
    return server


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "serve", help="look at the sessions in a web page", description=DESCRIPTION
    )
    parser.add_argument("db", metavar="DB", help="a SQLite file written by `sessionkit replay`")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (127.0.0.1: this machine only; 0.0.0.0: every network)",
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="the port to listen on (8000; 0 picks a free one)"
    )
    parser.set_defaults(run=run)


def run(options: argparse.Namespace) -> int:
    with open_readonly(options.db) as store:
        server = start(store, os.path.basename(options.db), options.host, options.port)
        with server:
            host = options.host if ":" not in options.host else f"[{options.host}]"
            reach = (
                "only this machine can connect"
                if options.host in {"127.0.0.1", "localhost", "::1"}
                else "other machines can connect"
            )
            print(
                f"Serving {options.db} read-only at http://{host}:{server.server_port}/ "
                f"({reach}; Ctrl-C stops)",
                flush=True,
            )
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                print("sessionkit serve: stopped", file=sys.stderr)
    return 0
