"""Face-stage figures: per-frame cost on one core, head-pose accuracy, photo face counts, video face counts.

    taskset -c 0 .venv/bin/python -m benchmarks.bench_faces [--data DIR] [--only speed,headpose,groups,video]

Speed is timed on 640x480 frames of a single-face webcam clip (and of the two-face dinner clip), per stage:
full-range detection, landmarks (Face Landmarker on the largest face's crop, VIDEO mode, read as the analyser
reads it), head pose (PnP) and gaze, and the whole ``FaceAnalyzer.analyze`` (on the dinner clip: two faces). Wall time and process CPU time are both printed (on a shared machine the CPU
time is the steadier figure; MediaPipe runs its graphs on its own threads, whose CPU time is included).
The helpers (:func:`headpose_errors`, :func:`photo_counts`, :func:`video_segment_counts`) are used by the tests.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"

SPEED_CLIPS = ("video/webcam_glasses_man_640x480.mjpeg", "video/two_people_dinner_640x480.mjpeg")

# Face counts expected per time segment of the MJPEG clips (from the corpus manifest's segment notes).
VIDEO_SEGMENTS: dict[str, list[tuple[float, float, int, int]]] = {
    "video/two_people_dinner_640x480.mjpeg": [(0.0, 7.0, 2, 2), (7.0, 8.9, 1, 1), (8.9, 9.5, 2, 2)],
    "video/hamilton_stage_and_audience_640x480.mjpeg": [(0.0, 1.5, 1, 1), (1.5, 3.5, 1, 1), (3.5, 7.7, 1, 1),
                                                        (7.7, 10.1, 3, 5)],
    "video/webcam_glasses_man_640x480.mjpeg": [(0.0, 10.1, 1, 1)],
    "video/head_motion_woman_640x480.mjpeg": [(0.0, 10.1, 1, 1)],
}


def _stats(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    return {"mean_ms": round(statistics.fmean(s), 2), "median_ms": round(statistics.median(s), 2),
            "p95_ms": round(s[int(0.95 * (len(s) - 1))], 2), "n": len(s)}


def _timed(fn, items) -> tuple[dict[str, float], dict[str, float]]:
    wall, cpu = [], []
    for it in items:
        t0, c0 = time.perf_counter(), time.process_time()
        fn(it)
        wall.append(1000 * (time.perf_counter() - t0))
        cpu.append(1000 * (time.process_time() - c0))
    return _stats(wall), _stats(cpu)


def bench_speed(data: Path, frames_n: int = 150) -> dict[str, Any]:
    from proctor.media import iter_video_frames
    from proctor.vision.faces import FaceAnalyzer, _detections, _make_detector, _make_landmarker, _mp_image, _run_landmarker
    from proctor.vision.gaze import gaze_from_blendshapes
    from proctor.vision.head_pose import head_pose_from_landmarks

    out: dict[str, Any] = {"cpu_affinity": sorted(os.sched_getaffinity(0))}
    for clip in SPEED_CLIPS:
        frames = [f.rgb for f in iter_video_frames(data / clip)][:frames_n]
        fig: dict[str, Any] = {"frames": len(frames), "shape": list(frames[0].shape)}
        # the whole stage, warm
        with FaceAnalyzer(video=True) as fa:
            ts = iter(range(33, 10**9, 33))
            fa.analyze(frames[0], 0)
            wall, cpu = _timed(lambda im: fa.analyze(im, next(ts)), frames)
            fig["analyze"] = {"wall": wall, "cpu": cpu}
            faces = [fa.analyze(im, next(ts)) for im in frames[:1]]
        fig["faces_first_frame"] = len(faces[0])
        # the parts
        det = _make_detector(0.5)
        wall, cpu = _timed(lambda im: _detections(det, im), frames)
        fig["detect_full_range"] = {"wall": wall, "cpu": cpu}
        boxes = [sorted(_detections(det, im), key=lambda b: b.area, reverse=True) for im in frames]
        det.close()
        lm = _make_landmarker(video=True)
        first = next(b[0] for b in boxes if b)
        side = 2.0 * max(first.w, first.h)
        cx, cy = first.x + first.w / 2, first.y + first.h / 2
        h, w = frames[0].shape[:2]
        x0, y0, x1, y1 = max(0, int(cx - side / 2)), max(0, int(cy - side / 2)), min(w, int(cx + side / 2)), min(h, int(cy + side / 2))
        ts2 = iter(range(0, 10**9, 33))
        results = []
        wall, cpu = _timed(lambda im: results.append(_run_landmarker(lm, _mp_image(im[y0:y1, x0:x1]), next(ts2))), frames)
        fig["landmarks_crop_video"] = {"wall": wall, "cpu": cpu}
        lm.close()
        found = [r for r in results if r is not None]
        if found:
            import numpy as np

            r0 = found[0]
            px = np.column_stack([r0.points[:, 0] * (x1 - x0) + x0, r0.points[:, 1] * (y1 - y0) + y0])
            wall, cpu = _timed(lambda _: head_pose_from_landmarks(px, w, h), range(300))
            fig["head_pose_pnp"] = {"wall": wall, "cpu": cpu}
            wall, cpu = _timed(lambda _: gaze_from_blendshapes(r0.blendshapes or {}, 0.6), range(300))
            fig["gaze"] = {"wall": wall, "cpu": cpu}
        out[clip] = fig
    return out


def headpose_errors(data: Path, files: list[dict[str, Any]], max_abs_pan: float = 60.0) -> dict[str, Any]:
    """Yaw MAE over |pan| <= max_abs_pan, pitch MAE over those with |tilt| <= 30, and the misses."""
    from proctor.media import load_image
    from proctor.vision.faces import FaceAnalyzer

    yaw, pitch, no_face, no_pose, n = [], [], [], [], 0
    pairs = []
    with FaceAnalyzer(video=False) as fa:
        for f in files:
            if f.get("type") != "headpose" or abs(f["pan_deg"]) > max_abs_pan:
                continue
            n += 1
            faces = fa.analyze(load_image(data / f["path"]))
            if not faces:
                no_face.append(f["path"])
                continue
            pose = faces[0].pose
            if pose is None:
                no_pose.append(f["path"])
                continue
            yaw.append(abs(pose.yaw - f["pan_deg"]))
            pairs.append((f["pan_deg"], pose.yaw))
            if abs(f["tilt_deg"]) <= 30:
                pitch.append(abs(pose.pitch - f["tilt_deg"]))
    mean = lambda v: round(statistics.fmean(v), 2) if v else None  # noqa: E731
    slope = None
    if len(pairs) > 2:
        import numpy as np

        a = np.array(pairs, dtype=float)
        slope = round(float(np.polyfit(a[:, 0], a[:, 1], 1)[0]), 3)
    return {"images": n, "no_face": no_face, "no_pose": no_pose, "yaw_mae_deg": mean(yaw), "yaw_n": len(yaw),
            "pitch_mae_deg_tilt_le_30": mean(pitch), "pitch_n": len(pitch), "yaw_slope": slope}


def photo_counts(data: Path, files: list[dict[str, Any]], kinds=("group", "special", "face_identity")) -> list[dict[str, Any]]:
    from proctor.media import load_image
    from proctor.vision.faces import count_faces_in_photo

    rows = []
    for f in files:
        if f.get("type") not in kinds or f.get("media") != "image":
            continue
        expected = f.get("face_count", f.get("faces_in_image"))
        if expected is None:
            continue
        t0 = time.perf_counter()
        found = len(count_faces_in_photo(load_image(data / f["path"])))
        rows.append({"path": f["path"], "type": f["type"], "expected": int(expected), "found": found,
                     "ms": round(1000 * (time.perf_counter() - t0), 1)})
    return rows


def video_segment_counts(data: Path, clip: str, fps: float = 5.0) -> list[dict[str, Any]]:
    """Per segment of ``clip``: how many sampled frames had a face count in the expected range."""
    from proctor.media import iter_video_frames
    from proctor.vision.faces import FaceAnalyzer

    counts: list[tuple[float, int, bool]] = []
    with FaceAnalyzer(video=True) as fa:
        for fr in iter_video_frames(data / clip, fps=fps):
            faces = fa.analyze(fr.rgb, int(round(fr.t * 1000)))
            counts.append((fr.t, len(faces), bool(faces) and faces[0].pose is not None))
    rows = []
    for a, b, lo, hi in VIDEO_SEGMENTS[clip]:
        seg = [c for c in counts if a <= c[0] < b]
        rows.append({"clip": clip, "start_s": a, "end_s": b, "expected": f"{lo}-{hi}" if lo != hi else str(lo),
                     "frames": len(seg), "right": sum(lo <= c[1] <= hi for c in seg),
                     "share_right": round(sum(lo <= c[1] <= hi for c in seg) / max(1, len(seg)), 3),
                     "counts": dict(sorted(Counter(c[1] for c in seg).items())),
                     "primary_with_pose": sum(c[2] for c in seg)})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--only", default="speed,headpose,groups,video")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--fps", type=float, default=10.0, help="sampling rate for the video face counts")
    args = ap.parse_args(argv)
    files = json.loads((args.data / "manifest.json").read_text())["files"]
    parts = args.only.split(",")
    fig: dict[str, Any] = {}
    if "speed" in parts:
        fig["speed"] = s = bench_speed(args.data, args.frames)
        print(f"cpu affinity: {s['cpu_affinity']}")
        for clip in SPEED_CLIPS:
            for k, v in s[clip].items():
                if isinstance(v, dict) and "wall" in v:
                    print(f"{clip} {k}: wall mean {v['wall']['mean_ms']} median {v['wall']['median_ms']} ms; "
                          f"cpu mean {v['cpu']['mean_ms']} median {v['cpu']['median_ms']} ms")
    if "headpose" in parts:
        fig["headpose"] = r = headpose_errors(args.data, files)
        print(f"head pose |pan|<=60: yaw MAE {r['yaw_mae_deg']} deg (n={r['yaw_n']}, slope {r['yaw_slope']}), pitch MAE "
              f"{r['pitch_mae_deg_tilt_le_30']} deg (|tilt|<=30, n={r['pitch_n']}); of {r['images']} images "
              f"{len(r['no_face'])} without a face, {len(r['no_pose'])} without landmarks")
    if "groups" in parts:
        rows = photo_counts(args.data, files)
        fig["photos"] = rows
        for r in rows:
            if r["type"] != "face_identity" or r["found"] != r["expected"]:
                print(f"faces {r['path']}: expected {r['expected']} found {r['found']} ({r['ms']} ms)")
        g = [r for r in rows if r["type"] == "group"]
        ones = [r for r in rows if r["type"] == "face_identity"]
        print(f"group photos exact: {sum(r['found'] == r['expected'] for r in g)} / {len(g)}; face photos with exactly "
              f"one face: {sum(r['found'] == 1 for r in ones)} / {len(ones)}")
    if "video" in parts:
        fig["video"] = []
        for clip in VIDEO_SEGMENTS:
            for r in video_segment_counts(args.data, clip, args.fps):
                fig["video"].append(r)
                print(f"{clip} {r['start_s']}-{r['end_s']} s expect {r['expected']}: {r['right']}/{r['frames']} "
                      f"({r['share_right']:.0%}) counts {r['counts']}, primary face with pose {r['primary_with_pose']}")
    print(json.dumps(fig, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
