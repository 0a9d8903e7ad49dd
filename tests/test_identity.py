"""Identity enrolment and verification on the real corpus (../shared/data).

Bounds are the figures measured with benchmarks/identity_eval.py (see proctor/identity.py) plus a small margin
for floating-point differences between machines; they are not timings.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from proctor.identity import (
    CALIBRATED_THRESHOLD,
    ENROL_MIN_FACE_PX,
    Enrolment,
    EnrolmentError,
    FaceEncoder,
    best_match,
    enrol,
    enrolment_distance,
    verify,
)
from proctor.media import iter_video_frames, load_image
from proctor.model_files import model_path
from proctor.settings import EngineSettings
from proctor.signals import FaceBox, IdentityCheck

REPO = Path(__file__).resolve().parent.parent


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("identity_eval", REPO / "benchmarks" / "identity_eval.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("identity_eval", mod)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


identity_eval = _load_benchmark()


@pytest.fixture(scope="session")
def encoder() -> FaceEncoder:
    return FaceEncoder()


@pytest.fixture(scope="session")
def faces(data_dir: Path, encoder: FaceEncoder) -> dict:
    """Enrolment and live descriptors of every photo of faces/ (the costly part: computed once)."""
    return identity_eval.encode_faces(data_dir, encoder)


@pytest.fixture(scope="session")
def result(data_dir: Path, faces: dict) -> dict:
    return identity_eval.evaluate_identity(data_dir, faces=faces)


@pytest.fixture(scope="session")
def enrolments(faces: dict, encoder: FaceEncoder) -> dict[str, Enrolment]:
    """Every person enrolled with their first (up to) three photos, as enrol() would make it."""
    by_person: dict[str, list[np.ndarray]] = {}
    for path in sorted(faces):
        by_person.setdefault(faces[path]["person"], []).append(faces[path]["enrol"])
    return {p: Enrolment(np.vstack(e[:3]), len(e[:3]), encoder.model_version) for p, e in by_person.items()}


@pytest.fixture(scope="session")
def detect_faces():
    """MediaPipe full-range face detector (the engine's live detector), boxes as FaceBox."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.FaceDetectorOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_detector_full_range"))),
        min_detection_confidence=0.5)
    detector = vision.FaceDetector.create_from_options(opts)

    def detect(rgb: np.ndarray) -> list[FaceBox]:
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        out = []
        for d in detector.detect(image).detections:
            b = d.bounding_box
            out.append(FaceBox(float(b.origin_x), float(b.origin_y), float(b.width), float(b.height),
                               float(d.categories[0].score)))
        return out

    yield detect
    detector.close()


# --- accuracy over every pair ------------------------------------------------------------------------------
def test_every_photo_enrols_and_every_pair_is_scored(result, manifest_files):
    photos = [f for p, f in manifest_files.items() if p.startswith("faces/") and f["type"] == "face_identity"]
    per_person = Counter(f["person"] for f in photos)
    assert result["failed_to_enrol"] == {}
    assert result["photos"] == len(photos) == 58
    same = sum(n * (n - 1) for n in per_person.values())
    assert result["genuine_trials"] == same == 204  # 102 pairs, both ways round
    assert result["impostor_trials"] == len(photos) * (len(photos) - 1) - same == 3102
    assert set(result["per_person"]) == set(per_person)


def test_eer_beats_the_plain_recipe(result):
    # measured: EER 0.49% at 0.575 (plain face_recognition recipe on the same detections: 0.81%)
    assert result["eer"] <= 0.006
    assert result["plain_recipe"]["eer"] > result["eer"]
    assert 0.55 <= result["eer_threshold"] <= 0.60


def test_calibrated_threshold_is_the_far_target_point(result):
    lo, hi = result["far_0.1%"]["interval"]
    assert lo < CALIBRATED_THRESHOLD < hi
    assert result["threshold"] == CALIBRATED_THRESHOLD
    # measured at 0.51: FAR 0.097% (3 of 3,102), FRR 4.4% (9 of 204)
    assert result["far"] <= 0.001
    assert result["frr"] <= 0.05
    assert len(result["false_accepts"]) == round(result["far"] * result["impostor_trials"])
    assert len(result["false_rejects"]) == round(result["frr"] * result["genuine_trials"])
    errors = sum(p["false_rejects"] for p in result["per_person"].values())
    assert errors == len(result["false_rejects"])
    # the errors are confined to a few people, not spread over the set
    assert sum(1 for p in result["per_person"].values() if p["false_rejects"] or p["false_accepts"]) <= 8


def test_more_enrolment_photos_do_not_hurt(result):
    one = result["frr"]
    two, three = result["multi_photo"]
    assert (two["photos"], three["photos"]) == (2, 3)
    # measured: FAR 0% for both, FRR 2.0% (2 photos) and 1.1% (3 photos)
    for m in (two, three):
        assert m["far"] <= 0.001
        assert m["frr"] <= one
    assert three["frr"] <= two["frr"]


# --- verification ------------------------------------------------------------------------------------------
def test_verify_same_and_different_person(data_dir, encoder, enrolments):
    live = load_image(data_dir / "faces/barack_obama/04.jpg")
    same = verify(enrolments["barack_obama"], live, None, encoder=encoder)
    other = verify(enrolments["matt_damon"], live, None, encoder=encoder)
    assert isinstance(same, IdentityCheck)
    assert same.match and same.distance < CALIBRATED_THRESHOLD == same.threshold
    assert not other.match and other.distance > CALIBRATED_THRESHOLD
    assert same.face_px > ENROL_MIN_FACE_PX
    # an explicit box (no detection) gives the same decision; settings carry the threshold
    box = encoder.find_faces(live)[0]
    strict = EngineSettings().with_overrides({"identity": {"threshold": 0.2}})
    check = verify(enrolments["barack_obama"], live, box, settings=strict, encoder=encoder)
    assert check.threshold == 0.2 and not check.match
    assert abs(check.distance - same.distance) < 1e-6


def test_enrolment_round_trip_and_model_check(enrolments, encoder, data_dir):
    e = enrolments["angelina_jolie"]
    data = json.loads(json.dumps(e.to_dict()))
    back = Enrolment.from_dict(data)
    assert back.photos == 3 and back.embeddings.shape == (3, 128)
    assert np.array_equal(back.embeddings, e.embeddings)
    assert back.model_version == encoder.model_version
    stale = Enrolment(e.embeddings, 3, "some_other_model")
    with pytest.raises(ValueError, match="enrol again"):
        verify(stale, load_image(data_dir / "faces/angelina_jolie/01.jpg"), None, encoder=encoder)
    with pytest.raises(ValueError):
        Enrolment.from_dict({"embeddings": [[0.0] * 5], "model": "x"})


# --- enrolment errors --------------------------------------------------------------------------------------
def _enrol_error(photos, encoder) -> EnrolmentError:
    with pytest.raises(EnrolmentError) as info:
        enrol(photos, encoder)
    return info.value


def test_enrol_from_one_to_three_photos(data_dir, encoder):
    paths = sorted((data_dir / "faces/mark_zuckerberg").glob("*.jpg"))[:3]
    e = enrol([load_image(p) for p in paths], encoder)
    assert e.photos == 3 and e.embeddings.shape == (3, 128)
    e1 = enrol([paths[0].read_bytes()], encoder)  # encoded bytes work too
    assert e1.photos == 1
    with pytest.raises(ValueError, match="1 to 3"):
        enrol([], encoder)
    err = _enrol_error([load_image(paths[0])] * 4, encoder)
    assert (err.photo_index, err.reason) == (3, "too_many_photos") and "1 to 3" in str(err)


def test_enrol_dogs_photo_has_no_face(data_dir, encoder):
    good = load_image(data_dir / "faces/barack_obama/01.jpg")
    err = _enrol_error([good, load_image(data_dir / "special/no_human_face_dogs.jpg")], encoder)
    assert (err.photo_index, err.reason) == (1, "no_face")
    assert "photo 2 of 2" in str(err) and "no face" in str(err)


def test_enrol_group_photo_has_two_faces(data_dir, encoder):
    err = _enrol_error([load_image(data_dir / "groups/obama_biden_side_by_side.jpg")], encoder)
    assert (err.photo_index, err.reason) == (0, "multiple_faces")
    assert "photo 1 of 1" in str(err) and "two or more faces" in str(err)


def test_enrol_unreadable_photo(data_dir, encoder, tmp_path):
    good = load_image(data_dir / "faces/barack_obama/01.jpg")
    err = _enrol_error([good, good, b"this is not an image"], encoder)
    assert (err.photo_index, err.reason) == (2, "unreadable")
    assert "photo 3 of 3" in str(err)
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    assert _enrol_error([text], encoder).reason == "unreadable"
    assert _enrol_error([good, np.zeros((100, 100), np.float32)], encoder).photo_index == 1


def test_enrol_tiny_inputs(data_dir, encoder):
    photo = load_image(data_dir / "faces/barack_obama/01.jpg")
    err = _enrol_error([photo[:40, :40]], encoder)
    assert (err.photo_index, err.reason) == (0, "face_too_small")
    # the whole photo at a quarter of its size: the face is found but is ~56 px wide
    small = cv2.resize(photo, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    err = _enrol_error([photo, small], encoder)
    assert (err.photo_index, err.reason) == (1, "face_too_small")
    assert "too small" in str(err)


def test_enrol_blurred_photo(data_dir, encoder):
    photo = load_image(data_dir / "faces/barack_obama/01.jpg")
    face = encoder.find_faces(photo)[0]
    # a blur of ~3 pixels of the 150-pixel face chip (the face spans ~100 of them)
    blurred = cv2.GaussianBlur(photo, (0, 0), 3.0 * face.side * 0.9 / 100)
    assert encoder.find_faces(blurred), "the blurred face should still be found"
    err = _enrol_error([blurred], encoder)
    assert (err.photo_index, err.reason) == (0, "too_blurred")
    assert "blurred" in str(err)


# --- video ------------------------------------------------------------------------------------------------
def _frames(data_dir: Path, name: str):
    return list(iter_video_frames(data_dir / "video" / name, fps=1.0, max_width=640))


def test_dinner_student_found_among_two_faces(data_dir, encoder, detect_faces):
    eddie = enrol([load_image(data_dir / "faces/tvshow_eddie/01.jpg")], encoder)
    obama = enrol([load_image(data_dir / "faces/barack_obama/01.jpg")], encoder)
    checked = 0
    for f in _frames(data_dir, "two_people_dinner.mp4"):
        boxes = detect_faces(f.rgb)
        if not boxes:
            continue
        if f.t < 7.0:  # Eddie is the boy on the left
            assert len(boxes) == 2, f"t={f.t:.1f}: two boys expected"
            index, check = best_match(eddie, f.rgb, boxes, encoder=encoder)
            assert index is not None and check.match, f"t={f.t:.1f}: Eddie not matched ({check.distance:.3f})"
            assert boxes[index].x + boxes[index].w / 2 < f.rgb.shape[1] / 2, f"t={f.t:.1f}: matched the wrong boy"
            checked += 1
        index, check = best_match(obama, f.rgb, boxes, encoder=encoder)
        assert index is None and not check.match, f"t={f.t:.1f}: matched Obama ({check.distance:.3f})"
    assert checked >= 6


def test_webcam_stranger_matches_nobody(data_dir, encoder, enrolments, detect_faces):
    recheck = EngineSettings().identity.recheck_s
    frames = _frames(data_dir, "webcam_glasses_man.mp4")
    descriptors = []
    for f in frames:
        boxes = detect_faces(f.rgb)
        assert boxes, f"t={f.t:.1f}: no face"
        descriptors.append((f.t, encoder.encode(f.rgb, max(boxes, key=lambda b: b.area))))
    assert len(enrolments) == 22
    for person, e in enrolments.items():
        d = [(t, enrolment_distance(e, x)) for t, x in descriptors]
        # the checks the pipeline makes: the first face, then recheck_s later, then backing off (2, 4, 8 s ...)
        due, scheduled = 0.0, []
        for t, dist in d:
            if t >= due:
                scheduled.append(dist)
                due = t + recheck * 2 ** (len(scheduled) - 1)
        assert len(scheduled) >= 3
        # the first two mismatch: the event is raised ~recheck_s after the stranger appears (that a chance match
        # later does not end it is the rule's job: tests/test_analyze.py checks the event covers the clip)
        assert all(x > CALIBRATED_THRESHOLD for x in scheduled[:2]), f"{person}: {scheduled}"
        # and most of the frames sampled once a second do (measured: at most 3 of 10, for the TV-show crops)
        matches = sum(x <= CALIBRATED_THRESHOLD for _, x in d)
        assert matches <= 0.4 * len(d), f"{person}: {matches} of {len(d)} frames match"


def test_engine_settings_use_the_calibrated_threshold():
    from proctor.identity import CALIBRATED_THRESHOLD
    from proctor.settings import EngineSettings

    assert EngineSettings().identity.threshold == CALIBRATED_THRESHOLD
