"""Identity verification accuracy on ``data/faces`` (22 people, 58 photos): every same-person and
different-person pair, scored the way the engine uses them.

Protocol: each photo in turn is the enrolment photo (``proctor.identity.enrol_photo``: checks, 10 jittered
chips) and every other photo is a live face (one plain chip, as ``verify`` does it); a trial's score is the
distance between the two. All ordered pairs: 204 same-person and 3,102 different-person trials (each
unordered pair of the set both ways round). For comparison the plain ``face_recognition`` recipe (one plain
chip on both sides, 102 / 1,551 unordered pairs) is scored from the same detections.

EER: over every threshold between two adjacent scores, the one where |FAR - FRR| is smallest; the EER is
(FAR + FRR) / 2 there, the EER threshold the middle of the interval of thresholds that reach it.
A trial is a match when distance <= threshold; FAR = impostor trials matched / impostor trials,
FRR = same-person trials not matched / same-person trials.

``python benchmarks/identity_eval.py [DATA_DIR]`` prints the figures (JSON).
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from proctor.identity import CALIBRATED_THRESHOLD, FaceEncoder, default_encoder, enrol_photo  # noqa: E402
from proctor.media import MediaError, load_image  # noqa: E402

Trial = tuple[float, str, str]  # (distance, enrolment photo, live photo)


def face_photos(data_dir: Path) -> list[tuple[str, str]]:
    """(relative path, person) of every identity photo in the manifest, in manifest order."""
    manifest = json.loads((Path(data_dir) / "manifest.json").read_text())
    return [(f["path"], f["person"]) for f in manifest["files"]
            if f.get("type") == "face_identity" and f.get("path", "").startswith("faces/") and f.get("person")]


def encode_faces(data_dir: Path, encoder: FaceEncoder | None = None) -> dict[str, dict[str, Any]]:
    """path -> {person, enrol (128,), live (128,), face_px, sharpness} or {person, error} if it could not enrol."""
    enc = encoder or default_encoder()
    out: dict[str, dict[str, Any]] = {}
    for path, person in face_photos(data_dir):
        try:
            done = enrol_photo(load_image(Path(data_dir) / path), enc)
        except (ValueError, MediaError) as exc:  # an unusable or unreadable photo: counted, not fatal
            out[path] = {"person": person, "error": str(exc)}
            continue
        out[path] = {"person": person, "enrol": done.embedding, "live": enc.describe([done.chip])[0],
                     "face_px": done.box.side, "sharpness": done.sharpness}
    return out


def trials(faces: dict[str, dict[str, Any]], enrol_key: str = "enrol", live_key: str = "live",
           ordered: bool = True) -> tuple[list[Trial], list[Trial]]:
    """(same-person, different-person) trials between the photos that enrolled."""
    ok = [p for p, f in faces.items() if "error" not in f]
    pairs = itertools.permutations(ok, 2) if ordered else itertools.combinations(ok, 2)
    genuine: list[Trial] = []
    impostor: list[Trial] = []
    for a, b in pairs:
        d = float(np.linalg.norm(faces[a][enrol_key] - faces[b][live_key]))
        (genuine if faces[a]["person"] == faces[b]["person"] else impostor).append((d, a, b))
    return genuine, impostor


def rates(genuine: list[Trial], impostor: list[Trial], threshold: float) -> tuple[float, float]:
    g = np.array([t[0] for t in genuine])
    i = np.array([t[0] for t in impostor])
    return float((i <= threshold).mean()), float((g > threshold).mean())


def equal_error(genuine: list[Trial], impostor: list[Trial]) -> dict[str, float]:
    g = np.array([t[0] for t in genuine])
    i = np.array([t[0] for t in impostor])
    scores = np.unique(np.concatenate([g, i]))
    cands = np.concatenate([[scores[0] - 1e-3], (scores[:-1] + scores[1:]) / 2, [scores[-1] + 1e-3]])
    far = (i[None, :] <= cands[:, None]).mean(axis=1)
    frr = (g[None, :] > cands[:, None]).mean(axis=1)
    gap = np.abs(far - frr)
    best = np.flatnonzero(gap == gap.min())
    k = best[0]
    # the interval of thresholds with this operating point: between the scores around the chosen candidates
    lo_idx = np.searchsorted(scores, cands[best[0]]) - 1
    hi_idx = np.searchsorted(scores, cands[best[-1]])
    lo = float(scores[lo_idx]) if lo_idx >= 0 else float(cands[best[0]])
    hi = float(scores[hi_idx]) if hi_idx < len(scores) else float(cands[best[-1]])
    return {"eer": float((far[k] + frr[k]) / 2), "far": float(far[k]), "frr": float(frr[k]),
            "threshold": (lo + hi) / 2, "interval": [lo, hi]}


def threshold_for_far(impostor: list[Trial], far_target: float) -> dict[str, Any]:
    """The interval of thresholds whose FAR is at most ``far_target`` (at its largest) and its middle."""
    i = np.sort(np.array([t[0] for t in impostor]))
    allowed = int(np.floor(far_target * len(i) + 1e-9))
    lo = float(i[allowed - 1]) if allowed > 0 else float(i[0]) - 0.05
    hi = float(i[allowed]) if allowed < len(i) else float(i[-1]) + 0.05
    return {"threshold": (lo + hi) / 2, "interval": [lo, hi], "far_target": far_target}


def multi_photo(faces: dict[str, dict[str, Any]], k: int, threshold: float) -> dict[str, Any]:
    """Enrol with every k-subset of a person's photos, live = each other photo (the mean distance rule)."""
    ok = [p for p, f in faces.items() if "error" not in f]
    by_person: dict[str, list[str]] = defaultdict(list)
    for p in ok:
        by_person[faces[p]["person"]].append(p)
    genuine: list[Trial] = []
    impostor: list[Trial] = []
    for person, photos in by_person.items():
        if len(photos) < k + 1:
            continue
        for subset in itertools.combinations(photos, k):
            emb = np.vstack([faces[p]["enrol"] for p in subset])
            for q in ok:
                if q in subset:
                    continue
                d = float(np.linalg.norm(emb - faces[q]["live"][None, :], axis=1).mean())
                (genuine if faces[q]["person"] == person else impostor).append((d, "+".join(subset), q))
    far, frr = rates(genuine, impostor, threshold)
    return {"photos": k, "genuine_trials": len(genuine), "impostor_trials": len(impostor), "far": far, "frr": frr,
            "eer": equal_error(genuine, impostor)["eer"]}


def evaluate_identity(data_dir: str | Path, encoder: FaceEncoder | None = None,
                      faces: dict[str, dict[str, Any]] | None = None,
                      threshold: float = CALIBRATED_THRESHOLD) -> dict[str, Any]:
    """Score every same-person and different-person pair of ``data_dir/faces``.

    Returns the EER and its threshold, FAR/FRR at ``threshold`` (default: the calibrated one), the trials
    in error there, per-person errors, other operating points, multi-photo enrolment figures and the plain
    recipe's figures. ``faces`` (from :func:`encode_faces`) skips the encoding.
    """
    started = time.perf_counter()
    if faces is None:
        faces = encode_faces(Path(data_dir), encoder)
    encode_s = time.perf_counter() - started
    genuine, impostor = trials(faces)
    eer = equal_error(genuine, impostor)
    far, frr = rates(genuine, impostor, threshold)

    per_person: dict[str, dict[str, int]] = {}
    for f in faces.values():
        per_person.setdefault(f["person"], {"photos": 0, "genuine_trials": 0, "false_rejects": 0,
                                            "impostor_trials": 0, "false_accepts": 0})["photos"] += 1
    for d, a, _ in genuine:
        per_person[faces[a]["person"]]["genuine_trials"] += 1
        per_person[faces[a]["person"]]["false_rejects"] += int(d > threshold)
    for d, a, b in impostor:  # an impostor error counts for both people (enrolled and live)
        for p in {faces[a]["person"], faces[b]["person"]}:
            per_person[p]["impostor_trials"] += 1
            per_person[p]["false_accepts"] += int(d <= threshold)

    def short(t: Trial) -> dict[str, Any]:
        return {"distance": round(t[0], 4), "enrolled": t[1], "live": t[2]}

    plain_g, plain_i = trials(faces, "live", "live", ordered=False)
    plain = equal_error(plain_g, plain_i)
    p_far, p_frr = rates(plain_g, plain_i, 0.6)
    points = []
    for t in sorted({0.45, 0.50, 0.55, 0.60, round(threshold, 4), round(eer["threshold"], 4)}):
        a, r = rates(genuine, impostor, t)
        points.append({"threshold": round(t, 4), "far": a, "frr": r})
    at_far = threshold_for_far(impostor, 0.001)
    at_far["far"], at_far["frr"] = rates(genuine, impostor, at_far["threshold"])
    return {
        "protocol": "enrolment photo (10 jitters) vs live photo (1 plain chip), all ordered pairs",
        "photos": len(faces),
        "failed_to_enrol": {p: f["error"] for p, f in faces.items() if "error" in f},
        "genuine_trials": len(genuine),
        "impostor_trials": len(impostor),
        "eer": eer["eer"],
        "eer_threshold": eer["threshold"],
        "eer_interval": eer["interval"],
        "eer_far": eer["far"],
        "eer_frr": eer["frr"],
        "threshold": threshold,
        "far": far,
        "frr": frr,
        "false_accepts": [short(t) for t in sorted(impostor) if t[0] <= threshold],
        "false_rejects": [short(t) for t in sorted(genuine, reverse=True) if t[0] > threshold],
        "per_person": per_person,
        "operating_points": points,
        "far_0.1%": at_far,
        "multi_photo": [multi_photo(faces, k, threshold) for k in (2, 3)],
        "plain_recipe": {"eer": plain["eer"], "eer_threshold": plain["threshold"], "far_at_0.6": p_far,
                         "frr_at_0.6": p_frr, "genuine_trials": len(plain_g), "impostor_trials": len(plain_i)},
        "encode_s": round(encode_s, 1),
    }


def measure_check_ms(data_dir: str | Path, repeats: int = 30, encoder: FaceEncoder | None = None) -> dict[str, float]:
    """Cost of one live check (``verify`` with a given box: landmarks, chip, one network pass, distance) on a
    640x480 webcam frame, and of enrolling one photo. Run under ``taskset -c 0`` for one core."""
    from proctor.identity import enrol, verify
    from proctor.media import iter_video_frames

    enc = encoder or default_encoder()
    frame = next(iter(iter_video_frames(Path(data_dir) / "video/webcam_glasses_man_640x480.mjpeg", fps=1.0))).rgb
    box = enc.find_faces(frame)[0]
    photo = load_image(Path(data_dir) / "faces/barack_obama/01.jpg")
    t0 = time.perf_counter()
    enrolment = enrol([photo], enc)
    enrol_ms = (time.perf_counter() - t0) * 1e3
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        verify(enrolment, frame, box, encoder=enc)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"check_ms_median": float(np.median(times)), "check_ms_min": float(np.min(times)),
            "enrol_one_photo_ms": enrol_ms, "face_px": box.side}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    data_dir = Path(argv[0]) if argv else REPO_ROOT.parent / "shared" / "data"
    result = evaluate_identity(data_dir)
    result["speed"] = measure_check_ms(data_dir)
    print(json.dumps(result, indent=1))
    print(f"EER {result['eer']:.2%} at {result['eer_threshold']:.4f} (interval {result['eer_interval'][0]:.4f}"
          f"..{result['eer_interval'][1]:.4f}); FAR <= 0.1% up to {result['far_0.1%']['interval'][1]:.4f} "
          f"(middle {result['far_0.1%']['threshold']:.4f}); at the calibrated {result['threshold']}: "
          f"FAR {result['far']:.3%}, FRR {result['frr']:.2%}; plain recipe EER {result['plain_recipe']['eer']:.2%}; "
          f"one check {result['speed']['check_ms_median']:.1f} ms (median), enrolling a photo "
          f"{result['speed']['enrol_one_photo_ms']:.0f} ms", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
