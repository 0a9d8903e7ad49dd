"""``proctor roomscan VIDEO [--out DIR]``: check a 360° room-scan video offline.

Prints the result as one JSON object (without the per-frame series). With ``--out DIR`` it also writes
``roomscan.json`` (the whole result), ``roomscan_frames.csv`` (per-frame yaw estimates) and
``roomscan_strip.jpg`` (the room as seen, one thumbnail every 30 degrees).
Exit status: 0 the scan covered the room, 1 it did not, 2 the video or the options could not be used.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

EXIT_COMPLETED, EXIT_INCOMPLETE, EXIT_ERROR = 0, 1, 2
FRAME_COLUMNS = ["i", "t", "yaw_deg", "ok", "quality", "speed_deg_s", "usable", "too_fast", "blurred", "dark"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="proctor roomscan",
        description="Check a 360° room-scan video: how far the camera turned, what was seen, and whether "
                    "that is the whole room. Exit status 0 = completed, 1 = incomplete, 2 = error.",
    )
    p.add_argument("video", help="the scan video (MP4, WebM, MKV, MJPEG …); every frame is analysed")
    p.add_argument("--out", metavar="DIR",
                   help="write roomscan.json, roomscan_frames.csv and roomscan_strip.jpg here")
    p.add_argument("--fov", type=float, default=None, metavar="DEG",
                   help="horizontal field of view of the camera in degrees, used when the scan does not show it "
                        "(default: the room_scan.fov_deg setting, 65)")
    p.add_argument("--no-faces", action="store_true", help="do not look for faces (no model files needed)")
    p.add_argument("--settings", metavar="JSON",
                   help='room-scan setting overrides, e.g. \'{"min_coverage_deg": 330, "max_speed_deg_s": 80}\'')
    return p


def _write_outputs(result, out: Path) -> dict[str, str]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "result": out / "roomscan.json",
        "frames_csv": out / "roomscan_frames.csv",
        "strip": out / "roomscan_strip.jpg",
    }
    paths["result"].write_text(json.dumps(result.to_dict(), indent=1))
    with open(paths["frames_csv"], "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FRAME_COLUMNS)
        w.writeheader()
        for row in result.per_frame:
            w.writerow({k: row[k] for k in FRAME_COLUMNS})
    if result.strip_jpeg:
        paths["strip"].write_bytes(result.strip_jpeg)
    else:
        paths.pop("strip")
    return {k: str(v) for k, v in paths.items()}


def roomscan_main(argv: list[str]) -> int:
    from proctor.media import MediaError
    from proctor.model_files import ModelFileError
    from proctor.roomscan import RoomScanSettings, analyze_room_scan

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help exits 0, bad options 2
        return int(exc.code or 0)

    def fail(msg: str) -> int:
        print(f"proctor roomscan: error: {msg}", file=sys.stderr)
        return EXIT_ERROR

    settings = RoomScanSettings()
    if args.settings:
        try:
            overrides = json.loads(args.settings)
            if not isinstance(overrides, dict):
                raise ValueError("expected a JSON object")
            unknown = sorted(set(overrides) - set(RoomScanSettings.model_fields))
            if unknown:
                raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
            settings = RoomScanSettings.model_validate({**settings.model_dump(), **overrides})
        except ValueError as exc:  # json.JSONDecodeError and pydantic.ValidationError are ValueErrors
            return fail(f"--settings: {exc}")
    try:
        result = analyze_room_scan(Path(args.video), settings=settings, fov_deg=args.fov,
                                   detect_faces=not args.no_faces)
    except MediaError as exc:
        return fail(str(exc))
    except ModelFileError as exc:
        return fail(f"{exc} (or run with --no-faces)")
    except ValueError as exc:
        return fail(str(exc))

    summary = result.to_dict(per_frame=False)
    if args.out:
        try:
            summary["files"] = _write_outputs(result, Path(args.out))
        except OSError as exc:
            print(json.dumps(summary))
            return fail(f"could not write to {args.out}: {exc}")
    print(json.dumps(summary))
    return EXIT_COMPLETED if result.passed else EXIT_INCOMPLETE


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(roomscan_main(sys.argv[1:]))
