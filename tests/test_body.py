"""Body movement on the real clips, and on real frames shifted, cropped or patched to make the body move."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from proctor.media import iter_video_frames
from proctor.model_files import model_path
from proctor.signals import BodyObservation, FaceBox
from proctor.settings import EngineSettings
from proctor.vision.body import (
    NONE_BELOW,
    POSE_GATE,
    POSE_DETECTOR_MEMBER,
    POSE_LANDMARKS_MEMBER,
    BodyAnalyzer,
    body_regions,
    build_pose_bundle,
    pose_bundle_bytes,
)

FPS = 5.0
STILL = "webcam_glasses_man_640x480.mjpeg"  # still webcam, a still person (small nods)
HEAD_ONLY = "head_motion_woman_640x480.mjpeg"  # moves her head, body still (and mostly out of the picture)
MOVING = "hamilton_stage_and_audience_640x480.mjpeg"  # a performer gesturing, camera cuts
TWO = "two_people_dinner_640x480.mjpeg"


@pytest.fixture(scope="module")
def face_detector():
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.FaceDetectorOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_detector_full_range"))),
        min_detection_confidence=0.5,
    )
    detector = vision.FaceDetector.create_from_options(options)
    yield detector
    detector.close()


@pytest.fixture(scope="module")
def find_face(face_detector):
    import mediapipe as mp

    def find(rgb: np.ndarray) -> FaceBox | None:
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        detections = face_detector.detect(image).detections
        if not detections:
            return None
        b = max(detections, key=lambda d: d.bounding_box.width * d.bounding_box.height).bounding_box
        return FaceBox(float(b.origin_x), float(b.origin_y), float(b.width), float(b.height), 1.0)

    return find


@pytest.fixture(scope="module")
def clips(data_dir: Path, find_face) -> dict[str, list[tuple[int, np.ndarray, FaceBox | None]]]:
    """name -> [(timestamp_ms, rgb, face box)] at 5 fps."""
    out = {}
    for name in (STILL, HEAD_ONLY, MOVING, TWO):
        out[name] = [
            (int(round(f.t * 1000)), f.rgb, find_face(f.rgb))
            for f in iter_video_frames(data_dir / "video" / name, fps=FPS, max_width=640)
        ]
    return out


@pytest.fixture(scope="module")
def pose_analyzer_factory():
    made = []

    def make(every: int | None = 1) -> BodyAnalyzer:
        # the pose method itself is tested on every frame; ``None``: the default cadence (tested below)
        over = {} if every is None else {"pose_every_n_frames": every, "pose_still_every_n_frames": every}
        settings = EngineSettings().with_overrides({"body_movement": over})
        analyzer = BodyAnalyzer(settings, use_pose=True)
        made.append(analyzer)
        return analyzer

    yield make
    for a in made:
        a.close()


def shifted(rgb: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The real frame moved by (dx, dy) pixels; the uncovered edge repeats the frame's border."""
    h, w = rgb.shape[:2]
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def run(analyzer: BodyAnalyzer, frames) -> list[BodyObservation]:
    return [analyzer.analyze(rgb, box, ts) for ts, rgb, box in frames]


# --- the pose bundle ------------------------------------------------------------------------------------------


def test_pose_bundle_is_reproducible_and_complete(tmp_path: Path):
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    det, lm = model_path("pose_detector"), model_path("pose_landmarks_full")
    first = pose_bundle_bytes(det, lm)
    assert pose_bundle_bytes(det, lm) == first  # same inputs, same bytes (a sha256 can be pinned)
    out = build_pose_bundle(det, lm, tmp_path / "pose_landmarker_full.task")
    assert out.read_bytes() == first
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert z.namelist() == [POSE_DETECTOR_MEMBER, POSE_LANDMARKS_MEMBER]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        assert z.read(POSE_DETECTOR_MEMBER) == det.read_bytes()  # it already carries its metadata
        landmarks = z.read(POSE_LANDMARKS_MEMBER)
    model = tfl.Model.GetRootAsModel(landmarks, 0)
    names = [model.Metadata(i).Name() for i in range(model.MetadataLength())]
    assert b"TFLITE_METADATA" in names
    assert model.Subgraphs(0).OutputsLength() == 5  # landmarks, presence, segmentation, heatmap, world


def test_pose_model_finds_the_shoulders_where_they_are(clips):
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    _, rgb, _ = clips[TWO][15]  # two boys at a table, arms on it
    bundle = pose_bundle_bytes(model_path("pose_detector"), model_path("pose_landmarks_full"))
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=bundle),
        running_mode=vision.RunningMode.IMAGE,
        num_poses=2,
    )
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        result = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))
    assert len(result.pose_landmarks) >= 1
    for pose in result.pose_landmarks:
        nose, ls, rs = pose[0], pose[11], pose[12]
        assert ls.visibility > 0.5 and rs.visibility > 0.5
        assert ls.x > rs.x  # the subject's left shoulder is on the image's right
        assert ls.y > nose.y and rs.y > nose.y  # shoulders below the face
        assert abs(ls.x - rs.x) > 0.1


# --- real clips -----------------------------------------------------------------------------------------------


def test_still_person_scores_low_and_moving_clip_high(clips):
    series = {}
    for name in (STILL, HEAD_ONLY, MOVING):
        obs = run(BodyAnalyzer(use_pose=False), clips[name])
        assert all(o.source == "motion" and 0.0 <= o.motion <= 1.0 for o in obs)
        series[name] = np.array([o.motion for o in obs[1:]])
    assert series[STILL].max() < 0.1
    assert series[HEAD_ONLY].max() < 0.1  # head movement is not body movement
    assert series[MOVING].mean() > 5 * max(series[STILL].mean(), series[HEAD_ONLY].mean())
    assert series[MOVING].max() >= 0.25


def test_pose_on_a_still_person_scores_low(clips, pose_analyzer_factory):
    obs = run(pose_analyzer_factory(), clips[STILL])
    pose_obs = [o for o in obs if o.source == "pose"]
    assert len(pose_obs) > 0.8 * len(obs)
    assert all(o.shoulders_visible for o in pose_obs)
    assert max(o.motion for o in pose_obs) < 0.1


def test_default_cadence_runs_the_pose_model_when_the_body_moves_and_holds_its_figure(clips, pose_analyzer_factory):
    """Once a second while the body area moves (frame differencing >= POSE_GATE since the last run), every 5 s
    while it does not; the frames between repeat the last pose observation."""
    bm = EngineSettings().body_movement
    assert (bm.pose_every_n_frames, bm.pose_still_every_n_frames) == (5, 25)

    def runs(name: str) -> tuple[BodyAnalyzer, list[BodyObservation]]:
        analyzer = pose_analyzer_factory(None)
        return analyzer, run(analyzer, clips[name])

    # the talking man's shoulders barely move (frame differencing < POSE_GATE throughout): a run every 5 s
    still, obs = runs(STILL)
    diffs = run(BodyAnalyzer(use_pose=False), clips[STILL])
    assert max(o.motion for o in diffs) < POSE_GATE
    assert still.pose_runs == -(-len(obs) // 25)
    for i, o in enumerate(obs):  # measured on frames 0, 25, ...; the frames between repeat it
        if o.source == "pose" and i % 25:
            assert o == obs[i - i % 25]
    # the performer gestures all the time: a run on every 5th frame
    moving, obs = runs(MOVING)
    assert moving.pose_runs >= 0.8 * len(obs) / 5
    # the still person's figure is as low as when measured on every frame
    every1 = run(pose_analyzer_factory(1), clips[STILL])
    assert max(o.motion for o in every1 if o.source == "pose") < 0.1


def test_identical_frames_are_no_motion(clips):
    ts, rgb, box = clips[STILL][20]
    analyzer = BodyAnalyzer(use_pose=False)
    first = analyzer.analyze(rgb, box, ts)
    assert first == BodyObservation(0.0, "none", source="motion")
    again = analyzer.analyze(rgb.copy(), box, ts + 200)
    assert again.motion == 0.0 and again.region == "none"


# --- real frames moved to simulate body movement --------------------------------------------------------------


@pytest.mark.parametrize("where", ["left", "right", "torso"])
def test_motion_region_is_where_the_pixels_moved(clips, where):
    """A real patch (from the same frame, upside down) appears in one body area: that area is named."""
    ts, rgb, box = clips[TWO][10]
    assert box is not None
    h, w = rgb.shape[:2]
    r = body_regions(box, w, h)[where]
    assert r.area > 2000
    ph, pw = (r.y1 - r.y0) // 2, (r.x1 - r.x0) // 2
    y0, x0 = r.y0 + ph // 2, r.x0 + pw // 2
    moved = rgb.copy()
    moved[y0 : y0 + ph, x0 : x0 + pw] = np.flipud(rgb)[y0 : y0 + ph, x0 : x0 + pw]
    analyzer = BodyAnalyzer(use_pose=False)
    analyzer.analyze(rgb, box, ts)
    obs = analyzer.analyze(moved, box, ts + 200)
    assert obs.region == where
    assert obs.motion >= NONE_BELOW


def test_sliding_out_of_the_picture_without_pose(clips, find_face):
    ts, rgb, _ = clips[STILL][25]
    analyzer = BodyAnalyzer(use_pose=False)
    seq = [(0, 0), (0, 0), (-160, 0), (0, 0), (300, 0), (520, 0)]
    obs = []
    for i, (dx, dy) in enumerate(seq):
        frame = shifted(rgb, dx, dy)
        obs.append(analyzer.analyze(frame, find_face(frame), ts + 200 * i))
    assert obs[1].region == "none"
    assert obs[2].motion >= 0.25 and obs[3].motion >= 0.25  # moved aside and back
    assert obs[4].motion >= 0.25 and obs[4].region == "out_of_frame"  # the face left the picture
    assert obs[5].region == "out_of_frame"


def test_pose_sees_shoulders_move_aside_and_out_of_frame(clips, find_face, pose_analyzer_factory):
    analyzer = pose_analyzer_factory()
    frames = clips[STILL][:10]
    for ts, rgb, box in frames:  # the usual place
        last = analyzer.analyze(rgb, box, ts)
    assert last.source == "pose" and last.motion < 0.1
    ts = frames[-1][0]
    base = frames[-1][1]

    def step(dx: float, dy: float) -> BodyObservation:
        nonlocal ts
        ts += 200
        frame = shifted(base, dx, dy)
        return analyzer.analyze(frame, find_face(frame), ts)

    left = step(-90, 0)  # the student moves ~0.2 shoulder widths to the image's left
    assert left.source == "pose" and left.region == "left" and left.motion >= 0.2
    back = step(0, 0)
    assert back.motion < left.motion / 2
    right = step(90, 0)
    assert right.source == "pose" and right.region == "right" and right.motion >= 0.2
    step(0, 0)
    half_out = step(-160, 0)  # the right shoulder leaves the picture
    assert half_out.region == "out_of_frame" and half_out.motion == 1.0
    step(0, 0)
    down = step(0, 200)  # slid down: both shoulders leave the picture
    assert down.source == "pose" and down.region == "out_of_frame" and down.motion == 1.0
    assert down.shoulders_visible is False


def test_timestamps_are_optional_and_may_repeat(clips, pose_analyzer_factory):
    analyzer = pose_analyzer_factory()
    for ts, rgb, box in clips[STILL][:3]:
        assert isinstance(analyzer.analyze(rgb, box), BodyObservation)
    _, rgb, box = clips[STILL][3]
    analyzer.analyze(rgb, box, 1000)
    analyzer.analyze(rgb, box, 1000)  # not rising: still accepted
    analyzer.analyze(rgb, box, 10)


def test_bad_input_is_a_clear_error():
    analyzer = BodyAnalyzer(use_pose=False)
    with pytest.raises(ValueError, match="RGB uint8"):
        analyzer.analyze(np.zeros((48, 64), dtype=np.uint8), None)
    with pytest.raises(ValueError, match="RGB uint8"):
        analyzer.analyze(np.zeros((48, 64, 3), dtype=np.float64), None)
    analyzer.close()  # closing an analyser without a pose model is fine
    analyzer.close()
