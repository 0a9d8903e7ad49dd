"""Accuracy over a media corpus laid out like ../shared/data (driven by its manifest.json).

    .venv/bin/python -m benchmarks.accuracy [--data DIR] [--only identity,groups,headpose,audio]

Prints one line per figure and ends with one JSON line holding all figures. Works on any folder whose
manifest.json uses the same schema (entries typed face_identity, group, special, headpose, audio).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"


def load_manifest(data: Path) -> list[dict[str, Any]]:
    return json.loads((data / "manifest.json").read_text())["files"]


def eval_groups(data: Path, files: list[dict[str, Any]]) -> dict[str, Any]:
    """Exact face counts on group photos (and on photos of no face / one face marked special)."""
    from proctor.media import load_image
    from proctor.vision.faces import count_faces_in_photo

    rows = []
    for f in files:
        if f.get("type") == "group":
            expected = int(f["face_count"])
        elif f.get("type") == "special" and f.get("category") == "no_human_face":
            expected = int(f.get("faces_in_image", 0))
        else:
            continue
        t0 = time.perf_counter()
        found = len(count_faces_in_photo(load_image(data / f["path"])))
        rows.append({"path": f["path"], "expected": expected, "found": found,
                     "ms": round(1000 * (time.perf_counter() - t0), 1), "group": f.get("type") == "group"})
    groups = [r for r in rows if r["group"]]
    return {
        "group_photos": len(groups),
        "group_exact": sum(r["found"] == r["expected"] for r in groups),
        "group_count_mae": round(sum(abs(r["found"] - r["expected"]) for r in groups) / max(1, len(groups)), 3),
        "no_face_photos_clean": sum(r["found"] == 0 for r in rows if not r["group"]),
        "no_face_photos": sum(1 for r in rows if not r["group"]),
        "per_photo": rows,
    }


def eval_headpose(data: Path, files: list[dict[str, Any]], max_abs_yaw: float = 60.0) -> dict[str, Any]:
    """Yaw and pitch mean absolute error against the Pointing'04 labels, for |pan| <= max_abs_yaw."""
    from proctor.media import load_image
    from proctor.vision.faces import FaceAnalyzer

    yaw_err, pitch_err, missed, n = [], [], 0, 0
    with FaceAnalyzer(video=False) as fa:
        for f in files:
            if f.get("type") != "headpose" or abs(f["pan_deg"]) > max_abs_yaw:
                continue
            n += 1
            faces = [o for o in fa.analyze(load_image(data / f["path"])) if o.pose is not None]
            if not faces:
                missed += 1
                continue
            pose = faces[0].pose
            yaw_err.append(abs(pose.yaw - f["pan_deg"]))
            if abs(f["tilt_deg"]) <= 30:
                pitch_err.append(abs(pose.pitch - f["tilt_deg"]))
    mean = lambda v: round(sum(v) / len(v), 2) if v else None  # noqa: E731
    return {"headpose_images": n, "headpose_no_face": missed, "yaw_mae_deg": mean(yaw_err),
            "pitch_mae_deg_tilt_le_30": mean(pitch_err)}


def eval_identity(data: Path) -> dict[str, Any]:
    from benchmarks.identity_eval import evaluate_identity

    return evaluate_identity(data)


def eval_audio(data: Path) -> dict[str, Any]:
    from benchmarks.audio_eval import evaluate_audio

    return evaluate_audio(data)


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--only", default="identity,groups,headpose,audio")
    args = ap.parse_args(argv)
    if not (args.data / "manifest.json").is_file():
        print(f"no manifest.json in {args.data}", file=sys.stderr)
        return 2
    files = load_manifest(args.data)
    figures: dict[str, Any] = {"data": str(args.data)}
    parts = args.only.split(",")
    if "identity" in parts:
        r = eval_identity(args.data)
        figures["identity"] = r
        for k in ("same_pairs", "different_pairs", "eer", "eer_threshold", "threshold", "far", "frr"):
            if k in r:
                print(f"identity {k}: {r[k]}")
    if "groups" in parts:
        r = eval_groups(args.data, files)
        figures["groups"] = {k: v for k, v in r.items() if k != "per_photo"}
        for row in r["per_photo"]:
            print(f"faces {row['path']}: expected {row['expected']} found {row['found']} ({row['ms']} ms)")
        print(f"group photos counted exactly: {r['group_exact']} / {r['group_photos']}")
        print(f"no-face photos with no face found: {r['no_face_photos_clean']} / {r['no_face_photos']}")
    if "headpose" in parts:
        r = eval_headpose(args.data, files)
        figures["headpose"] = r
        print(f"head pose (|yaw| <= 60): yaw MAE {r['yaw_mae_deg']} deg, pitch MAE {r['pitch_mae_deg_tilt_le_30']} deg "
              f"(|tilt| <= 30) over {r['headpose_images']} images, {r['headpose_no_face']} without a face found")
    if "audio" in parts:
        r = eval_audio(args.data)
        figures["audio"] = r
        for path, f in r["files"].items():
            print(f"audio {path}: recall {_fmt(f['recall'])}, non-speech windows called speech "
                  f"{_fmt(f['false_positive_share'])} (webrtcvad alone: {_fmt(f['webrtcvad_false_positive_share'])})")
        p, b = r["pooled"], r["baseline_webrtcvad"]
        print(f"audio speech frames: precision {p['precision']:.3f}, recall {p['recall']:.3f}, F1 {p['f1']:.3f} "
              f"(webrtcvad alone: F1 {b['f1']:.3f})")
    print(json.dumps(figures, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
