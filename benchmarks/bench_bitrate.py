"""How far down the proctoring holds on a poor uplink: the shared clips re-encoded as the browser sends them.

    .venv/bin/python benchmarks/bench_bitrate.py [--data DIR] [--clips a,b] [--json OUT]

Each clip of ``data/video`` (the 640x480 MJPEG copies, 25 fps) is resampled to the page's 15 fps, encoded with
VP8 (libvpx through PyAV, real-time deadline, constant bit rate, no look-ahead: what a browser's encoder does)
at each uplink variant, and decoded back, as the server decodes it. The clip is played twice in a row (Chromium
loops its fake camera the same way) and only the second pass is measured, so the encoder's rate control has
settled. The engine (:class:`proctor.pipeline.SessionAnalyzer`, the live 5 fps grid, decoded frames at the
size they arrive) runs on the clean frames and on each variant, and the figures compare the two at the same
instants:

- **faces agree**: share of analysed frames where the variant sees as many faces as the clean clip;
- **face kept**: of the frames where the clean clip has a face, the share where the variant has one too;
- **identity distance**: once a second, the dlib descriptor of the largest face on the variant's frame against
  the descriptor of the same face on the clean frame (what an identity check adds to the distance it makes on
  clean video; the engine's threshold is 0.51) and the share of those checks a clean enrolment would still match;
- **yaw error**: mean |yaw(variant) - yaw(clean)| over frames where both have a face.

Variants: 500, 300 and 150 kbit/s at 640x480 and 15 fps (the page's camera unchanged), then what the page
does when the uplink is poor: 150 kbit/s at 320x240 (``scaleResolutionDownBy: 2``) and 150 kbit/s at 640x480
with 7.5 fps (``maxFramerate``), and 100 kbit/s at 320x240 and 7.5 fps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
CLIPS = ("webcam_glasses_man", "head_motion_woman", "headpose_sweep_pointing04_p03", "two_people_dinner",
         "hamilton_stage_and_audience")
SEND_FPS = 15
ANALYSE_FPS = 5
IDENTITY_EVERY_S = 1.0
MATCH_THRESHOLD = 0.51  # the engine's identity.threshold default


@dataclass(frozen=True)
class Variant:
    name: str
    kbps: int
    scale: int = 1  # scaleResolutionDownBy
    fps: float = SEND_FPS  # maxFramerate


VARIANTS = (
    Variant("500k 640x480 15fps", 500),
    Variant("300k 640x480 15fps", 300),
    Variant("150k 640x480 15fps", 150),
    Variant("150k 320x240 15fps", 150, scale=2),
    Variant("150k 640x480 7.5fps", 150, fps=7.5),
    Variant("100k 320x240 7.5fps", 100, scale=2, fps=7.5),
)


def read_clip(path: Path, fps: float = SEND_FPS) -> tuple[list[np.ndarray], list[float]]:
    """RGB frames of the clip on a ``fps`` grid (nearest earlier frame), with their times."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        rate = float(s.average_rate or 25)
        src = [f.to_ndarray(format="rgb24") for f in c.decode(s)]
    duration = len(src) / rate
    n = int(duration * fps)
    times = [k / fps for k in range(n)]
    return [src[min(len(src) - 1, int(t * rate + 1e-6))] for t in times], times


def vp8_roundtrip(frames: list[np.ndarray], v: Variant, loops: int = 2) -> tuple[list[np.ndarray], float]:
    """Encode the frames (played ``loops`` times, every ``SEND_FPS / v.fps``-th frame sent) with VP8 at the
    variant's bit rate and size; decode them back. Returns the last loop's decoded frames, one per sent frame,
    held (as the receiver holds the last frame) for the frames not sent, and the last loop's bit rate (kbit/s)."""
    import av

    h, w = frames[0].shape[:2]
    ow, oh = w // v.scale, h // v.scale
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = ow, oh, "yuv420p"
    codec.time_base = Fraction(1, SEND_FPS)
    codec.framerate = Fraction(SEND_FPS)
    codec.bit_rate = v.kbps * 1000
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0", "error-resilient": "1",
                     "minrate": str(v.kbps * 1000), "maxrate": str(v.kbps * 1000), "bufsize": str(v.kbps * 1000),
                     "g": str(SEND_FPS * 10), "static-thresh": "0", "undershoot-pct": "95", "overshoot-pct": "5"}
    decoder = av.CodecContext.create("libvpx", "r")
    step = SEND_FPS / v.fps
    out: list[np.ndarray] = []
    total = len(frames) * loops
    next_send = 0.0
    last: np.ndarray | None = None
    sent_idx: list[int] = []
    decoded: list[np.ndarray] = []
    last_loop_bytes = [0]
    first_of_last_loop = total - len(frames)

    def _decode(packets: list[Any], k: int) -> None:
        for p in packets:
            if k >= first_of_last_loop:
                last_loop_bytes[0] += p.size
            for f in decoder.decode(p):
                decoded.append(f.to_ndarray(format="rgb24"))

    for k in range(total):
        if k + 1e-6 >= next_send:
            next_send += step
            frame = av.VideoFrame.from_ndarray(frames[k % len(frames)], format="rgb24")
            if v.scale != 1:
                frame = frame.reformat(width=ow, height=oh)
            frame = frame.reformat(format="yuv420p")
            frame.pts = k
            _decode(codec.encode(frame), k)
            sent_idx.append(k)
    _decode(codec.encode(None), total)
    if len(decoded) != len(sent_idx):
        raise RuntimeError(f"{v.name}: {len(sent_idx)} frames sent, {len(decoded)} decoded")
    by_k = dict(zip(sent_idx, decoded))
    for k in range(total):
        last = by_k.get(k, last)
        if k >= total - len(frames):
            out.append(last)
    return out, last_loop_bytes[0] * 8 / 1000 / (len(frames) / SEND_FPS)


def analyse(frames: list[np.ndarray], times: list[float]) -> list[dict[str, Any]]:
    """The engine on a 5 fps grid: faces, largest face's box and yaw per analysed frame."""
    from proctor.pipeline import SessionAnalyzer

    rows = []
    grid = SEND_FPS / ANALYSE_FPS
    with SessionAnalyzer() as sa:
        for k in range(0, len(frames), int(grid)):
            sig = sa.analyze_frame(frames[k], times[k])
            p = sig.primary
            rows.append({"k": k, "t": times[k], "faces": sig.face_count, "box": p.box if p else None,
                         "yaw": None if p is None or p.pose is None else p.pose.yaw})
    return rows


def identity_distances(clean: list[np.ndarray], degraded: list[np.ndarray], clean_rows: list[dict[str, Any]],
                       rows: list[dict[str, Any]], encoder: Any) -> list[float]:
    """Once a second: the distance between the largest face's descriptor on the degraded frame and on the
    clean frame (each with the box its own analysis found)."""
    out = []
    next_t = 0.0
    for c, d in zip(clean_rows, rows):
        if c["t"] + 1e-6 < next_t or c["box"] is None or d["box"] is None:
            continue
        next_t = c["t"] + IDENTITY_EVERY_S
        ref = encoder.encode(clean[c["k"]], c["box"])
        got = encoder.encode(degraded[d["k"]], d["box"])
        out.append(float(np.linalg.norm(ref - got)))
    return out


def compare(clean_rows: list[dict[str, Any]], rows: list[dict[str, Any]]) -> dict[str, float | None]:
    agree = sum(1 for c, d in zip(clean_rows, rows) if c["faces"] == d["faces"]) / len(rows)
    with_face = [(c, d) for c, d in zip(clean_rows, rows) if c["faces"] > 0]
    kept = sum(1 for _c, d in with_face if d["faces"] > 0) / len(with_face) if with_face else None
    yaw = [abs(c["yaw"] - d["yaw"]) for c, d in zip(clean_rows, rows) if c["yaw"] is not None and d["yaw"] is not None]
    return {"faces_agree": agree, "face_kept": kept, "yaw_err_deg": statistics.fmean(yaw) if yaw else None,
            "frames": len(rows)}


def run(data: Path, clips: list[str], variants: tuple[Variant, ...] = VARIANTS) -> dict[str, Any]:
    from proctor.identity import FaceEncoder

    encoder = FaceEncoder()
    per: dict[str, dict[str, Any]] = {v.name: {"clips": {}, "dist": [], "agree": [], "kept": [], "yaw": []}
                                      for v in variants}
    for clip in clips:
        frames, times = read_clip(data / "video" / f"{clip}_640x480.mjpeg")
        clean_rows = analyse(frames, times)
        for v in variants:
            t0 = time.perf_counter()
            degraded, kbps = vp8_roundtrip(frames, v)
            rows = analyse(degraded, times)
            cmp = compare(clean_rows, rows)
            dist = identity_distances(frames, degraded, clean_rows, rows, encoder)
            cmp["id_dist_mean"] = statistics.fmean(dist) if dist else None
            cmp["id_match"] = sum(1 for x in dist if x <= MATCH_THRESHOLD) / len(dist) if dist else None
            cmp["id_checks"] = len(dist)
            cmp["kbps"] = kbps
            cmp["size"] = f"{degraded[0].shape[1]}x{degraded[0].shape[0]}"
            per[v.name]["clips"][clip] = cmp
            per[v.name]["dist"] += dist
            per[v.name]["agree"].append(cmp["faces_agree"])
            if cmp["face_kept"] is not None:
                per[v.name]["kept"].append(cmp["face_kept"])
            if cmp["yaw_err_deg"] is not None:
                per[v.name]["yaw"].append(cmp["yaw_err_deg"])
            per[v.name].setdefault("kbps", []).append(kbps)
            print(f"  {clip:<32} {v.name:<22} {kbps:5.0f} kbit/s  faces agree {cmp['faces_agree']:.2f}  face kept "
                  f"{_f(cmp['face_kept'], '.2f')}  id dist {_f(cmp['id_dist_mean'], '.3f')}  "
                  f"yaw err {_f(cmp['yaw_err_deg'], '.1f')}°  ({time.perf_counter() - t0:.1f} s)",
                  file=sys.stderr, flush=True)
    summary = {}
    for v in variants:
        p = per[v.name]
        summary[v.name] = {
            "kbps_sent": statistics.fmean(p["kbps"]), "faces_agree": statistics.fmean(p["agree"]), "face_kept": statistics.fmean(p["kept"]) if p["kept"] else None,
            "id_dist_mean": statistics.fmean(p["dist"]) if p["dist"] else None,
            "id_dist_max": max(p["dist"]) if p["dist"] else None,
            "id_match": sum(1 for x in p["dist"] if x <= MATCH_THRESHOLD) / len(p["dist"]) if p["dist"] else None,
            "yaw_err_deg": statistics.fmean(p["yaw"]) if p["yaw"] else None, "clips": p["clips"]}
    return summary


def _f(x: float | None, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def table(summary: dict[str, Any]) -> str:
    lines = ["| uplink | sent (kbit/s) | faces agree | face kept | identity distance to clean, mean (max) | "
             "checks still matching | yaw error |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, s in summary.items():
        lines.append(f"| {name} | {s['kbps_sent']:.0f} | {_f(s['faces_agree'] * 100, '.1f')} % | {_f(s['face_kept'] and s['face_kept'] * 100, '.1f')} % | "
                     f"{_f(s['id_dist_mean'], '.3f')} ({_f(s['id_dist_max'], '.3f')}) | "
                     f"{_f(s['id_match'] and s['id_match'] * 100, '.0f')} % | {_f(s['yaw_err_deg'], '.1f')}° |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--clips", default=",".join(CLIPS))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    clips = [c for c in args.clips.split(",") if c]
    summary = run(args.data, clips)
    print(table(summary))
    doc = {"clips": clips, "send_fps": SEND_FPS, "analyse_fps": ANALYSE_FPS, "summary": summary}
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1, default=str))
    print(json.dumps({k: {m: v for m, v in s.items() if m not in ("clips", "kbps")} for k, s in summary.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
