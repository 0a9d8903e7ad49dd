"""Room-scan accuracy and cost on the room-scan clips (../shared/data/roomscan).

    python benchmarks/bench_roomscan.py [--data DIR] [--formats mp4,mjpeg] [--lenses 640,480] [--faces]

Per clip and format it prints:
- turn: estimated camera-axis range (max - min yaw) and its error against the truth (deg);
- fov: estimated field-of-view union over all frames (coverage_any) against the truth (deg), and the usable
  coverage (frames not too fast / blurred) that the verdict uses;
- yaw MAE / max: per-frame yaw error against the CSV (relative to the first frame, deg);
- verdict against the manifest's expected check, frames too fast / blurred, unmatched pairs;
- lens: the field of view the tracker used and where it came from (``estimated`` from the scan, or the
  ``setting``). ``--lenses 640,480`` runs every clip as it is (65 deg) and through a narrower lens: the centre
  crop of 480x360 px of each 640x480 frame is exactly the view of a 51.1 deg pinhole (same focal length);
- ms/frame: time in ``RoomScanTracker.update`` only (decoding not included), and decode ms/frame.
With ``--faces`` a third pass on the MP4s runs face detection too and lists the faces found.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from proctor.media import iter_video_frames  # noqa: E402
from proctor.roomscan import RoomScanTracker  # noqa: E402


def _truth(scan_dir: Path, clip: dict, fmt: str) -> np.ndarray:
    with open(scan_dir / clip["files"]["ground_truth_csv"]) as f:
        rows = list(csv.DictReader(f))
    if fmt == "mp4":
        rows = [r for r in rows if r["mp4_frame"]]
    yaw = np.array([float(r["yaw_unwrapped_deg"]) for r in rows])
    return yaw - yaw[0]


def run_clip(scan_dir: Path, clip: dict, fmt: str, faces: bool, crop_w: int = 640) -> dict:
    path = scan_dir / clip["files"][fmt]
    tracker = RoomScanTracker(detect_faces=faces)
    focal = float(json.loads((scan_dir / "manifest_roomscan.json").read_text())["camera_model"]["focal_px"])
    spent = 0.0
    decode = 0.0
    n = 0
    t_dec = time.perf_counter()
    try:
        for frame in iter_video_frames(path):
            rgb = frame.rgb
            if crop_w < rgb.shape[1]:  # a narrower lens: the centre crop of the pinhole frame
                h, w = rgb.shape[:2]
                ch = round(h * crop_w / w)
                rgb = np.ascontiguousarray(rgb[(h - ch) // 2 : (h - ch) // 2 + ch, (w - crop_w) // 2 : (w + crop_w) // 2])
            t0 = time.perf_counter()
            decode += t0 - t_dec
            tracker.update(rgb, frame.t)
            t_dec = time.perf_counter()
            spent += t_dec - t0
            n += 1
        r = tracker.result()
    finally:
        tracker.close()
    truth = _truth(scan_dir, clip, fmt)
    est = np.array([p["yaw_deg"] for p in r.per_frame])
    m = min(len(est), len(truth))
    err = np.abs(est[:m] - truth[:m])
    expected_pass = clip["expected_full_360_check"].startswith("PASS")
    lens = 2 * math.degrees(math.atan(min(crop_w, 640) / 2 / focal))
    fov_true = (clip["coverage_fov_union_deg"] if crop_w >= 640
                else min(360.0, clip["coverage_camera_axis_deg"] + lens))  # union of the narrower views
    return {
        "clip": clip["id"], "fmt": fmt, "frames": n, "lens_true": lens, "lens": r.fov_deg, "lens_source": r.fov_source,
        "turn": r.total_turn_deg, "turn_true": clip["coverage_camera_axis_deg"],
        "turn_err": r.total_turn_deg - clip["coverage_camera_axis_deg"],
        "fov": r.coverage_any_deg, "fov_true": fov_true,
        "fov_err": r.coverage_any_deg - fov_true,
        "usable_cov": r.coverage_deg,
        "yaw_mae": float(err.mean()), "yaw_max": float(err.max()),
        "passed": r.passed, "verdict_ok": r.passed == expected_pass,
        "too_fast": len(r.too_fast_frames), "blurred": len(r.blurred_frames), "unmatched": r.unmatched_pairs,
        "pitch": r.pitch_deg, "pitch_true": clip["mean_pitch_deg"],
        "ms": 1000 * spent / max(1, n), "decode_ms": 1000 * decode / max(1, n),
        "faces": r.faces, "reasons": r.reasons,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                    help="the shared data folder (holding roomscan/) or the roomscan folder itself")
    ap.add_argument("--formats", default="mp4,mjpeg", help="comma-separated: mp4 (15 fps), mjpeg (30 fps)")
    ap.add_argument("--lenses", default="640,480",
                    help="comma-separated crop widths of the 640 px frames: 640 = the 65 deg clips, 480 = 51.1 deg")
    ap.add_argument("--faces", action="store_true", help="also run with face detection on the MP4s")
    args = ap.parse_args(argv)
    scan_dir = args.data if (args.data / "manifest_roomscan.json").is_file() else args.data / "roomscan"
    manifest_path = scan_dir / "manifest_roomscan.json"
    if not manifest_path.is_file():
        print(f"no manifest_roomscan.json in {args.data} or {args.data / 'roomscan'}", file=sys.stderr)
        return 2
    clips = json.loads(manifest_path.read_text())["clips"]

    passes = [(fmt, False, int(c)) for c in args.lenses.split(",") if c for fmt in args.formats.split(",") if fmt]
    if args.faces:
        passes.append(("mp4", True, 640))
    for fmt, faces, crop_w in passes:
        print(f"\n== {fmt}{' + faces' if faces else ''}, {crop_w} px of 640 "
              f"({2 * math.degrees(math.atan(crop_w / 2 / 502.3)):.1f} deg lens)")
        print(f"{'clip':20} {'turn':>6} {'true':>6} {'err':>6} | {'fov':>5} {'true':>5} {'err':>6} {'usable':>6} | "
              f"{'yawMAE':>6} {'max':>5} | {'verdict':10} {'fast':>4} {'blur':>4} {'unm':>3} {'pitch':>6} | "
              f"{'lens':>5} {'source':9} | {'ms/f':>5} {'dec':>4}")
        rows = []
        for clip in clips:
            row = run_clip(scan_dir, clip, fmt, faces, crop_w)
            rows.append(row)
            verdict = ("pass" if row["passed"] else "fail") + (" ok" if row["verdict_ok"] else " WRONG")
            pitch = "-" if row["pitch"] is None else f"{row['pitch']:.1f}"
            print(f"{row['clip']:20} {row['turn']:6.1f} {row['turn_true']:6.1f} {row['turn_err']:+6.1f} | "
                  f"{row['fov']:5.0f} {row['fov_true']:5.0f} {row['fov_err']:+6.1f} {row['usable_cov']:6.0f} | "
                  f"{row['yaw_mae']:6.2f} {row['yaw_max']:5.1f} | {verdict:10} {row['too_fast']:4d} "
                  f"{row['blurred']:4d} {row['unmatched']:3d} {pitch:>6} | {row['lens']:5.1f} {row['lens_source']:9} | "
                  f"{row['ms']:5.1f} {row['decode_ms']:4.1f}")
            if faces:
                for f in row["faces"]:
                    print(f"{'':22}face t={f['t']:.2f}s angle={f['angle_deg']:.0f} score={f['score']:.2f} "
                          f"frames={f['frames']} confirmed={f['confirmed']}")
        normal = [r for r in rows if "fast" not in r["clip"]]
        fast = [r for r in rows if "fast" in r["clip"]]
        print(f"-- normal sweeps: |turn err| mean {np.mean([abs(r['turn_err']) for r in normal]):.1f} "
              f"max {max(abs(r['turn_err']) for r in normal):.1f} deg; per-frame yaw MAE "
              f"{np.mean([r['yaw_mae'] for r in normal]):.2f} deg")
        if fast:
            print(f"-- fast sweeps:   |turn err| max {max(abs(r['turn_err']) for r in fast):.1f} deg")
        print(f"-- verdicts right: {sum(r['verdict_ok'] for r in rows)}/{len(rows)}; "
              f"update() {np.mean([r['ms'] for r in rows]):.1f} ms/frame (mean over clips), "
              f"decode {np.mean([r['decode_ms'] for r in rows]):.1f} ms/frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
