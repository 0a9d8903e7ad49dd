"""The ``proctor`` command: model set-up, offline analysis, room scan, and the exam server."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


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


def _roomscan(args: argparse.Namespace) -> int:
    from proctor.roomscan_cli import roomscan_main

    return roomscan_main(args.rest)


def _serve(args: argparse.Namespace) -> int:
    # The server is a separate package that puts the engine and the store together; the engine never imports it.
    from server.main import serve

    serve(host=args.host, port=args.port, demo=args.demo)
    return 0


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

    r = sub.add_parser("roomscan", help="check a 360° room-scan video offline", add_help=False)
    r.add_argument("rest", nargs=argparse.REMAINDER)
    r.set_defaults(func=_roomscan)

    s = sub.add_parser("serve", help="run the exam server (SQLite and local recordings by default)")
    s.add_argument("--host", default=None, help="default: PROCTOR_SERVER_HOST, else 127.0.0.1")
    s.add_argument("--port", type=int, default=None, help="default: PROCTOR_SERVER_PORT, else 8000")
    s.add_argument("--demo", action="store_true",
                   help="seed a demo college with generated passwords (printed once); never for real exams")
    s.set_defaults(func=_serve)
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
