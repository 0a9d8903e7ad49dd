"""Speed: milliseconds per 640x480 frame for each stage and for the whole pipeline on one core, and the frames
per second of ``proctor analyze`` on a 10 s clip.

    .venv/bin/python -m benchmarks.speed [--data DIR] [--frames N]

The process pins itself to one CPU core (and asks the ML runtimes for one thread) before loading anything.
Prints one line per figure and ends with one JSON line of all figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
CLIP = "video/webcam_glasses_man_640x480.mjpeg"
TEN_SECOND_CLIP = "video/head_motion_woman.mp4"
ENROL = "faces/barack_obama/01.jpg"


def pin_one_core() -> int:
    core = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {core})
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TFLITE_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    return core


def timed(fn: Callable[[Any], Any], items: list[Any], warmup: int = 3) -> dict[str, float]:
    for it in items[:warmup]:
        fn(it)
    ms = []
    for it in items:
        t0 = time.perf_counter()
        fn(it)
        ms.append(1000 * (time.perf_counter() - t0))
    ms.sort()
    return {"mean_ms": round(statistics.fmean(ms), 2), "median_ms": round(statistics.median(ms), 2),
            "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2), "n": len(ms)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--frames", type=int, default=100)
    args = ap.parse_args(argv)
    core = pin_one_core()

    import numpy as np

    from proctor.analyze import analyze_file
    from proctor.audio import AudioAnalyzer, read_audio
    from proctor.identity import FaceEncoder, enrol, verify
    from proctor.media import iter_video_frames, load_image
    from proctor.pipeline import SessionAnalyzer
    from proctor.vision.body import BodyAnalyzer
    from proctor.vision.camera import CameraCheck
    from proctor.vision.faces import FaceAnalyzer

    frames = [f.rgb for f in iter_video_frames(args.data / CLIP)][: args.frames]
    assert frames[0].shape == (480, 640, 3), frames[0].shape
    fig: dict[str, Any] = {"cpu_core": core, "frame": "640x480", "clip": CLIP}

    with FaceAnalyzer(video=True) as fa:
        ts = iter(range(0, 10**9, 33))
        fig["faces_landmarks_pose"] = timed(lambda im: fa.analyze(im, next(ts)), frames)
        faces = fa.analyze(frames[0], next(ts))
    cam = CameraCheck()
    fig["camera_check"] = timed(cam.analyze, frames)
    body = BodyAnalyzer()
    ts2 = iter(range(0, 10**9, 33))
    box = faces[0].box if faces else None
    fig["body"] = timed(lambda im: body.analyze(im, box, next(ts2)), frames)
    body.close()

    encoder = FaceEncoder()
    enrolment = enrol([load_image(args.data / ENROL)], encoder=encoder)
    fig["identity_check"] = timed(lambda im: verify(enrolment, im, box, encoder=encoder), frames[:30])

    pcm = read_audio(args.data / "audio/speech_conversation_2speakers.wav")
    chunks = [pcm[i:i + 480] for i in range(0, len(pcm) - 480, 480)]
    aa = AudioAnalyzer()
    fig["audio_per_30ms"] = timed(aa.feed, chunks)

    with SessionAnalyzer() as sa:
        t = iter(i / 5 for i in range(10**6))
        fig["pipeline_no_identity"] = timed(lambda im: sa.process_frame(im, next(t)), frames)
    # enrolled as someone else: the engine's mismatch schedule (checks at 0, 2, 6, 14 s of these 20 s), more
    # checks than a matching student gets (one a minute, plus one whenever the number of faces changes)
    with SessionAnalyzer(enrolment=enrolment) as sa:
        t = iter(i / 5 for i in range(10**6))
        fig["pipeline_with_identity_mismatching"] = timed(lambda im: sa.process_frame(im, next(t)), frames)
        fig["pipeline_with_identity_mismatching"]["identity_checks"] = sa.identity_checks

    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        summary = analyze_file(args.data / TEN_SECOND_CLIP, Path(out), progress=False)
        wall = time.perf_counter() - t0
    fig["analyze_10s_clip"] = {"clip": TEN_SECOND_CLIP, "wall_s": round(wall, 2),
                               "frames_analysed": summary["frames_analysed"],
                               "analysed_fps": round(summary["frames_analysed"] / wall, 1),
                               "realtime_factor": round(summary["duration_s"] / wall, 2)}

    for k, v in fig.items():
        if isinstance(v, dict) and "mean_ms" in v:
            print(f"{k}: mean {v['mean_ms']} ms, median {v['median_ms']} ms, p95 {v['p95_ms']} ms per frame (n={v['n']})")
    a = fig["analyze_10s_clip"]
    print(f"proctor analyze on a 10 s clip: {a['analysed_fps']} analysed frames/s, {a['realtime_factor']}x real time")
    print(json.dumps(fig))
    return 0


if __name__ == "__main__":
    sys.exit(main())
