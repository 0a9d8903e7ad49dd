"""The ``proctor`` command: model set-up, offline analysis and room scan; other packages add commands.

A package adds a subcommand by registering, in the entry-point group ``proctor.commands``, a function that
takes the subparsers object and adds its parser (with ``set_defaults(func=...)``): the server adds ``serve``
this way (``server.cli.register``, declared in ``pyproject.toml``), so the engine names no server module.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any


def _models(args: argparse.Namespace) -> int:
    from proctor import model_files

    if args.action == "fetch":
        model_files.fetch(log=lambda m: print(f"models: {m}"))
        return 0
    if args.action == "check":
        for path in model_files.verify_all():
            print(f"ok {path}")
        return 0
    for spec in model_files.manifest().values():
        print(f"{spec.name:28} {spec.file:45} {spec.package:32} {spec.licence}")
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from proctor.analyze import analyze_file

    overrides = json.loads(args.settings) if args.settings else None
    result = analyze_file(
        Path(args.video), Path(args.out), references=[Path(p) for p in args.reference or []],
        audio=Path(args.audio) if args.audio else None, overrides=overrides, progress=not args.quiet,
    )
    print(json.dumps(result, indent=None))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from proctor.verify import ExportError, KeyError_, load_export, report_lines, verify_export

    try:
        keys = [Path(k).read_text() if Path(k).is_file() else k for k in args.public_key] if args.public_key else None
        result = verify_export(load_export(args.export), keys)
    except (ExportError, KeyError_) as exc:
        print(f"proctor: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.to_dict(), indent=1) if args.json else "\n".join(report_lines(result)))
    return 0 if result.verified else 1


def _roomscan(args: argparse.Namespace) -> int:
    from proctor.roomscan_cli import roomscan_main

    return roomscan_main(args.rest)


COMMANDS_GROUP = "proctor.commands"


def _add_registered_commands(sub: Any) -> None:
    """The subcommands other installed packages register (see the module docstring)."""
    for ep in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        try:
            register = ep.load()
        except ImportError as exc:  # a broken install of that package must not take the engine's commands down
            print(f"proctor: the command {ep.name!r} is unavailable: {exc}", file=sys.stderr)
            continue
        register(sub)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="proctor", description="Online exam proctoring engine")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    m = sub.add_parser("models", help="put the model files in place (fetch), check them, or list them")
    m.add_argument("action", choices=["fetch", "check", "list"])
    m.set_defaults(func=_models)

    a = sub.add_parser("analyze", help="analyse a recorded exam video offline")
    a.add_argument("video", help="video file (MP4, WebM, MKV, MJPEG, Y4M …)")
    a.add_argument("--reference", action="append", metavar="PHOTO",
                   help="enrolment photo of the student (1 to 3; repeat the option)")
    a.add_argument("--audio", metavar="WAV", help="audio to analyse instead of the video's own track")
    a.add_argument("--out", required=True, metavar="DIR", help="where events.json and report.html go")
    a.add_argument("--settings", metavar="JSON", help='per-exam overrides, e.g. \'{"looking_away": {"yaw_deg": 40}}\'')
    a.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    a.set_defaults(func=_analyze)

    v = sub.add_parser("verify", help="check an exported session offline: chain, signatures, recording, evidence")
    v.add_argument("export", help="the session's evidence export (ZIP or its unpacked folder)")
    v.add_argument("--public-key", action="append", metavar="KEY",
                   help="the server's public key (PEM file, or base64/hex); repeat for retired keys")
    v.add_argument("--json", action="store_true", help="the result as JSON")
    v.set_defaults(func=_verify)

    r = sub.add_parser("roomscan", help="check a 360° room-scan video offline", add_help=False)
    r.add_argument("rest", nargs=argparse.REMAINDER)
    r.set_defaults(func=_roomscan)

    _add_registered_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from proctor.identity import EnrolmentError
    from proctor.media import MediaError
    from proctor.model_files import ModelFileError

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format='{"level":"%(levelname)s","logger":"%(name)s","msg":"%(message)s"}')
    try:
        return int(args.func(args) or 0)
    except (MediaError, EnrolmentError, ModelFileError) as exc:
        print(f"proctor: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
