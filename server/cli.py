"""The server's subcommand of the ``proctor`` command: ``proctor serve``. The engine's CLI finds it through the
``proctor.commands`` entry-point group (``pyproject.toml``), so the engine never imports the server."""

from __future__ import annotations

import argparse
from typing import Any


def _serve(args: argparse.Namespace) -> int:
    from server.main import serve

    serve(host=args.host, port=args.port, demo=args.demo)
    return 0


def register(sub: Any) -> None:
    """Add ``serve`` to the ``proctor`` command's subparsers."""
    s = sub.add_parser("serve", help="run the exam server (SQLite and local recordings by default)")
    s.add_argument("--host", default=None, help="default: PROCTOR_SERVER_HOST, else 127.0.0.1")
    s.add_argument("--port", type=int, default=None, help="default: PROCTOR_SERVER_PORT, else 8000")
    s.add_argument("--demo", action="store_true",
                   help="seed a demo college with generated passwords (printed once); never for real exams")
    s.set_defaults(func=_serve)
