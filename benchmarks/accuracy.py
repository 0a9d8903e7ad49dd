"""Accuracy over a media corpus laid out like ../shared/data (driven by its manifest.json).

    .venv/bin/python -m benchmarks.accuracy [--data DIR] [--only identity,groups,headpose,audio]

Prints one line per figure and ends with one JSON line holding all figures. Works on any folder whose
manifest.json uses the same schema (entries typed face_identity, group, special, headpose, audio, video); entries
it cannot use (a missing or unreadable file, a head-pose image without numeric pan/tilt, a group photo whose face
count is not a number) are skipped and counted under ``skipped``, never fatal.

Honest calibration: every parameter that was chosen on this data is reported twice, in-sample (the shipped value
on all of the data) and cross-validated (chosen again on all but one person / photo / file / clip from a small
grid by the same criterion, then scored on the one left out; the held-out scores pooled):

- identity threshold (FAR <= 0.1 % on all pairs): leave one person out;
- the photo face-count margins (full-range score, HOG margin, HOG agreement margin): leave one photo out;
- the 3 s identity span (``identity.min_duration_s``): leave one clip scenario out (the dinner clip enrolled as
  one boy, whose 2.5 s cut to another boy must not be a swap; the webcam clip enrolled as strangers, which must);
- the audio parameters (speech threshold and hangover): leave one file out (benchmarks/audio_eval.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from numbers import Real
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"


def load_manifest(data: Path) -> list[dict[str, Any]]:
    return json.loads((data / "manifest.json").read_text())["files"]


def _num(v: Any) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(float(v))


MARGIN_GRID = [(ms, hm, ha) for ms in (0.4, 0.5, 0.6, 0.7) for hm in (-0.25, 0.0, 0.25, 0.5)
               for ha in (-0.5, -0.25, 0.0) if ha <= hm]


def _image(data: Path, f: dict[str, Any]) -> Any:
    """The manifest entry's image as RGB, or None when it cannot be read (the caller counts it as skipped)."""
    from proctor.media import MediaError, load_image

    try:
        return load_image(data / f["path"])
    except (MediaError, KeyError, OSError):
        return None


def _count_with(cand: dict[str, list], w: int, h: int, min_score: float, hog_min: float, hog_agree: float,
                min_px: float) -> int:
    """How many faces the engine's count_faces_in_photo finds with its margins as arguments, on a photo's
    cached candidates (the same clustering and decision: it is the engine's function, run on what
    photo_candidates found once)."""
    from unittest import mock

    import numpy as np

    from proctor.settings import EngineSettings
    from proctor.vision import faces as vf

    s = EngineSettings()
    s = s.model_copy(update={"faces": s.faces.model_copy(update={"detector_min_score": min_score,
                                                                 "min_face_px": min_px})})
    with mock.patch.object(vf, "photo_candidates", lambda _rgb: cand), \
            mock.patch.object(vf, "HOG_MIN_MARGIN", hog_min), mock.patch.object(vf, "HOG_AGREE_MARGIN", hog_agree):
        # only the photo's size is read: the candidates stand for its pixels (np.zeros maps no memory until used)
        return len(vf.count_faces_in_photo(np.zeros((h, w, 3), np.uint8), s))


def eval_groups(data: Path, files: list[dict[str, Any]]) -> dict[str, Any]:
    """Exact face counts on group photos (and on photos of no face / one face marked special), in-sample and with
    the margins chosen leaving each photo out."""
    from proctor.settings import EngineSettings
    from proctor.vision import faces as vf

    rows, skipped = [], 0
    cands = []
    for f in files:
        if f.get("type") == "group":
            expected = f.get("face_count")
        elif f.get("type") == "special" and f.get("category") == "no_human_face":
            expected = f.get("faces_in_image", 0)
        else:
            continue
        if not _num(expected):
            skipped += 1
            continue
        rgb = _image(data, f)
        if rgb is None:
            skipped += 1
            continue
        t0 = time.perf_counter()
        found = len(vf.count_faces_in_photo(rgb))
        ms = round(1000 * (time.perf_counter() - t0), 1)
        cands.append((vf.photo_candidates(rgb), rgb.shape[1], rgb.shape[0]))
        rows.append({"path": f["path"], "expected": int(expected), "found": found, "ms": ms,
                     "group": f.get("type") == "group"})
    s = EngineSettings()
    min_px = float(s.faces.min_face_px)
    shipped = (float(s.faces.detector_min_score), vf.HOG_MIN_MARGIN, vf.HOG_AGREE_MARGIN)
    grid = MARGIN_GRID if shipped in MARGIN_GRID else [shipped, *MARGIN_GRID]
    counts = {g: [_count_with(c, w, h, *g, min_px) for c, w, h in cands] for g in grid}
    right = {g: [c == r["expected"] for c, r in zip(counts[g], rows)] for g in grid}
    cv_found = []
    for i in range(len(rows)):
        # ties go to the detectors' own defaults (MediaPipe 0.5, dlib 0), not to the shipped margins
        best = max(grid, key=lambda g: (sum(right[g]) - right[g][i], -abs(g[0] - 0.5) - abs(g[1]) - abs(g[2])))
        cv_found.append(counts[best][i])
    groups = [r for r in rows if r["group"]]
    gi = [i for i, r in enumerate(rows) if r["group"]]
    return {
        "group_photos": len(groups),
        "group_exact": sum(r["found"] == r["expected"] for r in groups),
        "group_exact_cross_validated": sum(cv_found[i] == rows[i]["expected"] for i in gi),
        "group_count_mae": round(sum(abs(r["found"] - r["expected"]) for r in groups) / max(1, len(groups)), 3),
        "no_face_photos_clean": sum(r["found"] == 0 for r in rows if not r["group"]),
        "no_face_photos_clean_cross_validated": sum(cv_found[i] == 0 for i, r in enumerate(rows) if not r["group"]),
        "no_face_photos": sum(1 for r in rows if not r["group"]),
        "margins": {"detector_min_score": shipped[0], "hog_min_margin": shipped[1], "hog_agree_margin": shipped[2]},
        "margins_rule_reproduced": counts[shipped] == [r["found"] for r in rows],
        "skipped": skipped,
        "per_photo": rows,
    }


def eval_headpose(data: Path, files: list[dict[str, Any]], max_abs_yaw: float = 60.0) -> dict[str, Any]:
    """Yaw and pitch mean absolute error against the Pointing'04 labels, for |pan| <= max_abs_yaw."""
    from proctor.vision.faces import FaceAnalyzer

    yaw_err, pitch_err, missed, n, skipped = [], [], 0, 0, 0
    with FaceAnalyzer(video=False) as fa:
        for f in files:
            if f.get("type") != "headpose":
                continue
            if not (_num(f.get("pan_deg")) and _num(f.get("tilt_deg"))):
                skipped += 1  # no numeric pose label
                continue
            if abs(f["pan_deg"]) > max_abs_yaw:
                continue
            rgb = _image(data, f)
            if rgb is None:
                skipped += 1
                continue
            n += 1
            faces = [o for o in fa.analyze(rgb) if o.pose is not None]
            if not faces:
                missed += 1
                continue
            pose = faces[0].pose
            yaw_err.append(abs(pose.yaw - f["pan_deg"]))
            if abs(f["tilt_deg"]) <= 30:
                pitch_err.append(abs(pose.pitch - f["tilt_deg"]))
    mean = lambda v: round(sum(v) / len(v), 2) if v else None  # noqa: E731
    return {"headpose_images": n, "headpose_no_face": missed, "yaw_mae_deg": mean(yaw_err),
            "pitch_mae_deg_tilt_le_30": mean(pitch_err), "skipped": skipped,
            "calibration": "none chosen on these images (pose from the landmarker's transformation matrix)"}


def eval_identity(data: Path) -> dict[str, Any]:
    """Verification figures (benchmarks/identity_eval.py) plus the threshold chosen leaving each person out."""
    from benchmarks.identity_eval import encode_faces, evaluate_identity, threshold_for_far, trials

    faces = encode_faces(data)
    genuine, impostor = trials(faces)
    if not genuine or not impostor:
        return {"skipped": f"{len(faces)} identity photo(s): no same-person and different-person pairs to score"}
    r = evaluate_identity(data, faces=faces)
    person = {p: f["person"] for p, f in faces.items()}
    fa = fr = n_imp = n_gen = 0
    chosen = []
    for who in sorted(set(person.values())):
        train_imp = [t for t in impostor if who not in (person[t[1]], person[t[2]])]
        if not train_imp:
            continue
        thr = threshold_for_far(train_imp, 0.001)["threshold"]  # the shipped threshold's criterion
        chosen.append(thr)
        held_gen = [t for t in genuine if person[t[1]] == who]
        held_imp = [t for t in impostor if who in (person[t[1]], person[t[2]])]
        fr += sum(t[0] > thr for t in held_gen)
        fa += sum(t[0] <= thr for t in held_imp)
        n_gen += len(held_gen)
        n_imp += len(held_imp)
    r["cross_validated"] = {
        "protocol": "leave one person out: threshold at FAR <= 0.1% on the trials of the others, scored on the "
                    "left-out person's trials (an impostor trial is scored in both its people's folds)",
        "far": fa / n_imp if n_imp else None, "frr": fr / n_gen if n_gen else None,
        "threshold_range": [round(min(chosen), 4), round(max(chosen), 4)] if chosen else None,
    }
    r["skipped"] = len(r.get("failed_to_enrol", {}))
    return r


def eval_identity_span(data: Path, files: list[dict[str, Any]], strangers: int = 6) -> dict[str, Any]:
    """The identity span (``identity.min_duration_s``, 3 s): in-sample and chosen leaving one scenario out.

    Scenarios, each run through SessionAnalyzer with identity on: the dinner clip enrolled as the boy it opens
    on (a cut to another boy for a moment: no identity_mismatch wanted), and the webcam clip enrolled as each
    of ``strangers`` people of faces/ (a stranger all along: identity_mismatch wanted)."""
    from proctor.events import fold_events
    from proctor.identity import enrol
    from proctor.media import MediaError, iter_video_frames, load_image
    from proctor.pipeline import SessionAnalyzer
    from proctor.settings import EngineSettings

    by_path = {f["path"]: f for f in files}
    dinner, webcam = "video/two_people_dinner_640x480.mjpeg", "video/webcam_glasses_man_640x480.mjpeg"
    people: dict[str, list[str]] = {}
    for f in files:
        if f.get("type") == "face_identity" and "person" in f:
            people.setdefault(f["person"], []).append(f["path"])
    scenarios: list[tuple[str, str, str, bool]] = []  # (name, clip, person, mismatch wanted)
    if dinner in by_path and "tvshow_eddie" in people:
        scenarios.append(("dinner clip as tvshow_eddie", dinner, "tvshow_eddie", False))
    if webcam in by_path:
        for who in sorted(people)[:strangers]:
            scenarios.append((f"webcam clip as {who}", webcam, who, True))
    if not scenarios:
        return {"scenarios": 0, "skipped": "the dinner / webcam clips or their people are not in this data"}
    spans = [1.0, 2.0, 3.0, 4.0, 5.0]
    shipped = float(EngineSettings().identity.min_duration_s)
    spans = sorted(set(spans) | {shipped})
    fps = EngineSettings().analysis_fps
    frames_of: dict[str, list] = {}
    outcome: dict[str, dict[float, bool]] = {}
    skipped = 0
    for name, clip, who, _ in scenarios:
        try:
            frames = frames_of.setdefault(clip, list(iter_video_frames(data / clip, fps=fps, max_width=640)))
            enrolment = enrol([load_image(data / p) for p in sorted(people[who])[:1]])
        except (MediaError, ValueError, OSError):
            skipped += 1
            continue
        outcome[name] = {}
        for span in spans:
            settings = EngineSettings().with_overrides({"identity": {"min_duration_s": span}})
            records = []
            with SessionAnalyzer(settings, enrolment=enrolment) as sa:
                for f in frames:
                    records += [e.to_record() for e in sa.process_frame(f.rgb, f.t, f.index).events]
                records += [e.to_record() for e in sa.finish(frames[-1].t + 0.2)]
            outcome[name][span] = any(e["kind"] == "identity_mismatch" for e in fold_events(records))
    want = {name: w for name, _, _, w in scenarios if name in outcome}
    right = {sp: {n: outcome[n][sp] == want[n] for n in outcome} for sp in spans}
    cv_right = 0
    for n in outcome:
        # ties go to the shortest span (the most sensitive), not to the shipped one
        best = max(spans, key=lambda sp: (sum(v for m, v in right[sp].items() if m != n), -sp))
        cv_right += right[best][n]
    return {"scenarios": len(outcome), "span_s": shipped, "right": sum(right[shipped].values()),
            "right_cross_validated": cv_right, "per_span_right": {str(sp): sum(right[sp].values()) for sp in spans},
            "skipped": skipped}


def eval_audio(data: Path) -> dict[str, Any]:
    from benchmarks.audio_eval import cost, evaluate_audio

    r = evaluate_audio(data)
    r["cost"] = cost(data)
    return r


def eval_roomscan(data: Path, lenses: tuple[int, ...] = (640, 480)) -> dict[str, Any]:
    """Room-scan verdicts and turn errors on roomscan/ (benchmarks/bench_roomscan.py), at 65 deg and through the
    51.1 deg centre crop. Nothing in the room scan is chosen on these clips' truth (the field of view is
    measured from each scan), so there is no cross-validated figure beside it."""
    from benchmarks.bench_roomscan import run_clip

    scan_dir = data / "roomscan"
    manifest = scan_dir / "manifest_roomscan.json"
    if not manifest.is_file():
        return {"clips": 0, "skipped": "no roomscan/manifest_roomscan.json"}
    out: dict[str, Any] = {}
    for crop_w in lenses:
        rows = []
        for clip in json.loads(manifest.read_text())["clips"]:
            try:
                rows.append(run_clip(scan_dir, clip, "mp4", False, crop_w))
            except Exception as exc:  # noqa: BLE001 - a clip it cannot read is counted, not fatal
                rows.append({"clip": clip.get("id"), "error": str(exc)})
        ok = [r for r in rows if "error" not in r]
        slow = [r for r in ok if "fast" not in r["clip"]]
        out[f"{crop_w}px"] = {
            "lens_deg": round(ok[0]["lens_true"], 1) if ok else None,
            "verdicts_right": sum(r["verdict_ok"] for r in ok), "clips": len(ok), "skipped": len(rows) - len(ok),
            "worst_turn_err_deg": round(max(abs(r["turn_err"]) for r in slow), 1) if slow else None,
            "worst_turn_err_fast_deg": round(max((abs(r["turn_err"]) for r in ok if "fast" in r["clip"]),
                                                 default=0.0), 1),
            "per_clip": {r["clip"]: {"turn_err": round(r["turn_err"], 1), "fov": r["lens"], "fov_source": r["lens_source"],
                                     "verdict_ok": r["verdict_ok"]} for r in ok},
        }
    return out


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--only", default="identity,span,groups,headpose,audio,roomscan")
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
        if "skipped" in r and "eer" not in r:
            print(f"identity: skipped ({r['skipped']})")
    if "identity" in parts and "eer" in figures["identity"]:
        r = figures["identity"]
        for k in ("genuine_trials", "impostor_trials", "eer", "eer_threshold", "threshold", "far", "frr"):
            if k in r:
                print(f"identity {k}: {r[k]}")
        cv = r["cross_validated"]
        print(f"identity threshold: in-sample FAR {r['far']:.4f} FRR {r['frr']:.4f} at {r['threshold']}; "
              f"leave one person out FAR {_fmt(cv['far'])} FRR {_fmt(cv['frr'])} (thresholds {cv['threshold_range']}); "
              f"{r['skipped']} photo(s) skipped")
    if "span" in parts:
        r = eval_identity_span(args.data, files)
        figures["identity_span"] = r
        if r.get("scenarios"):
            print(f"identity span {r['span_s']} s: {r['right']} / {r['scenarios']} scenarios right in-sample, "
                  f"{r['right_cross_validated']} / {r['scenarios']} leaving one scenario out "
                  f"(right per span: {r['per_span_right']})")
        else:
            print(f"identity span: skipped ({r.get('skipped')})")
    if "groups" in parts:
        r = eval_groups(args.data, files)
        figures["groups"] = {k: v for k, v in r.items() if k != "per_photo"}
        for row in r["per_photo"]:
            print(f"faces {row['path']}: expected {row['expected']} found {row['found']} ({row['ms']} ms)")
        print(f"group photos counted exactly: {r['group_exact']} / {r['group_photos']} in-sample, "
              f"{r['group_exact_cross_validated']} / {r['group_photos']} with the margins chosen leaving each photo out")
        print(f"no-face photos with no face found: {r['no_face_photos_clean']} / {r['no_face_photos']} "
              f"(cross-validated {r['no_face_photos_clean_cross_validated']}); {r['skipped']} entries skipped")
    if "headpose" in parts:
        r = eval_headpose(args.data, files)
        figures["headpose"] = r
        print(f"head pose (|yaw| <= 60): yaw MAE {r['yaw_mae_deg']} deg, pitch MAE {r['pitch_mae_deg_tilt_le_30']} deg "
              f"(|tilt| <= 30) over {r['headpose_images']} images, {r['headpose_no_face']} without a face found, "
              f"{r['skipped']} skipped (no numeric label or unreadable)")
    if "audio" in parts:
        try:
            r = eval_audio(args.data)
        except ValueError as exc:  # no audio/ entries in this data
            r = {"skipped": str(exc)}
        figures["audio"] = r
        if "pooled" in r:
            for path, f in r["files"].items():
                print(f"audio {path}: recall {_fmt(f['recall'])}, non-speech windows called speech "
                      f"{_fmt(f['false_positive_share'])} (webrtcvad alone: {_fmt(f['webrtcvad_false_positive_share'])}); "
                      f"labels: {f['label_source']}")
            p, b, cv = r["pooled"], r["baseline_webrtcvad"], r["cross_validated"]["pooled"]
            print(f"audio speech frames: F1 {p['f1']:.3f} in-sample (precision {p['precision']:.3f}, recall "
                  f"{p['recall']:.3f}), F1 {cv['f1']:.3f} cross-validated (leave one file out); webrtcvad alone F1 "
                  f"{b['f1']:.3f}")
            for v, h in r["hard"].items():
                print(f"audio harder version {v}: F1 {h['f1']:.3f} (precision {h['precision']:.3f}, recall "
                      f"{h['recall']:.3f}, {h['recordings']} recordings; webrtcvad alone {h['webrtcvad_f1']:.3f})")
                h.pop("per_recording", None)
            print(f"audio noise windows called speech: {_fmt(r['noise_windows_called_speech'])} of {r['noise_windows']}; "
                  f"{r['skipped']} audio entries skipped")
            for k, v in r["cost"].items():
                print(f"audio cost {k}: {v:.2f} ms CPU per second of audio (one core)")
        else:
            print(f"audio: skipped ({r['skipped']})")
    if "roomscan" in parts:
        r = eval_roomscan(args.data)
        figures["roomscan"] = r
        for lens, x in r.items():
            if isinstance(x, dict):
                print(f"room scan {lens} ({x['lens_deg']} deg lens): verdicts {x['verdicts_right']} / {x['clips']}, "
                      f"worst turn error {x['worst_turn_err_deg']} deg (fast sweeps {x['worst_turn_err_fast_deg']} deg)")
    print(json.dumps(figures, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
