"""Camera checks on the real clips: normal pictures pass; darkened, covered, blurred and repeated frames
(derived from the same real frames) are caught."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from proctor.media import iter_video_frames
from proctor.settings import EngineSettings
from proctor.signals import CameraObservation
from proctor.vision.camera import COVERED, DARK, FROZEN, CameraCheck, classify, measure, small_grey

# Thresholds calibrated on every frame (5 fps) of every clip in video/: the darkest real frame has mean luma
# 12.0 (a dim stage, letterboxed), so dark_mean must stay below it.
CALIBRATED = EngineSettings()
FPS = 5.0


@pytest.fixture(scope="module")
def clip_frames(data_dir: Path) -> dict[str, list]:
    """Every clip in video/ at 5 fps: name -> list of (t, rgb)."""
    clips = sorted(p for p in (data_dir / "video").iterdir() if p.suffix in (".mp4", ".mjpeg", ".y4m"))
    assert len(clips) >= 5
    return {p.name: [(f.t, f.rgb) for f in iter_video_frames(p, fps=FPS, max_width=640)] for p in clips}


@pytest.fixture(scope="module")
def clip_observations(clip_frames) -> dict[str, list[CameraObservation]]:
    out = {}
    for name, frames in clip_frames.items():
        check = CameraCheck()
        out[name] = [check.analyze(rgb) for _, rgb in frames]
    return out


def _samples(clip_frames, per_clip: int = 3):
    """A few frames of each clip, spread over its length."""
    for name, frames in clip_frames.items():
        for i in np.linspace(0, len(frames) - 1, per_clip).astype(int):
            yield name, frames[i][1]


def test_observation_fields_are_measured(clip_frames):
    rgb = clip_frames["webcam_glasses_man_640x480.mjpeg"][10][1]
    check = CameraCheck()
    first = check.analyze(rgb)
    assert first.change == -1.0
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    assert first.brightness == pytest.approx(grey.mean(), abs=1.0)  # the downscale keeps the mean
    assert 0.6 * grey.std() < first.contrast <= grey.std() + 1.0
    assert first.sharpness > 0
    second = check.analyze(clip_frames["webcam_glasses_man_640x480.mjpeg"][11][1])
    assert second.change > 0


def test_no_real_frame_is_dark_or_covered(clip_observations):
    lowest = {"brightness": 255.0, "contrast": 255.0}
    for name, observations in clip_observations.items():
        for i, obs in enumerate(observations):
            state = classify(obs, CALIBRATED)
            assert state in (None, FROZEN), f"{name} frame {i}: {state} ({obs})"
            lowest["brightness"] = min(lowest["brightness"], obs.brightness)
            lowest["contrast"] = min(lowest["contrast"], obs.contrast)
    # the calibration leaves a margin below the real frames
    assert lowest["brightness"] > CALIBRATED.camera_blocked.dark_mean
    assert lowest["contrast"] > 2 * CALIBRATED.camera_blocked.flat_std


def test_real_clips_never_stay_frozen_long_enough_for_an_event(clip_observations):
    """A still picture (a slideshow still, a static shot) is "frozen" for a moment; never for min_duration_s."""
    limit = CALIBRATED.camera_blocked.min_duration_s
    frozen_somewhere = False
    for name, observations in clip_observations.items():
        run = longest = 0
        for obs in observations:
            run = run + 1 if classify(obs, CALIBRATED) == FROZEN else 0
            longest = max(longest, run)
        frozen_somewhere |= longest > 0
        assert longest / FPS < limit, f"{name}: frozen for {longest / FPS:.1f} s"
    assert frozen_somewhere  # the slideshow clip holds each still 0.4 s: its repeats are seen as frozen


def test_live_motion_clips_are_never_frozen(clip_observations):
    for name in ("webcam_glasses_man_640x480.mjpeg", "head_motion_woman.mp4", "two_people_dinner_640x480.mjpeg"):
        states = [classify(o, CALIBRATED) for o in clip_observations[name]]
        assert FROZEN not in states, name


def test_darkened_frames_are_dark(clip_frames):
    for name, rgb in _samples(clip_frames):
        dark = (rgb.astype(np.float32) * 0.05).astype(np.uint8)
        obs = CameraCheck().analyze(dark)
        assert classify(obs, CALIBRATED) == DARK, f"{name}: {obs}"


def test_covered_frames_are_covered(clip_frames):
    """A hand or tape on the lens: the frame's own average colour with a faint trace of the scene."""
    for name, rgb in _samples(clip_frames):
        mean_colour = rgb.reshape(-1, 3).mean(axis=0)
        covered = (0.92 * mean_colour + 0.08 * rgb.astype(np.float32)).astype(np.uint8)
        obs = CameraCheck().analyze(covered)
        if obs.brightness >= CALIBRATED.camera_blocked.dark_mean:
            assert classify(obs, CALIBRATED) == COVERED, f"{name}: {obs}"
        else:
            assert classify(obs, CALIBRATED) == DARK, f"{name}: {obs}"


def test_heavily_blurred_frames_are_covered(clip_frames):
    for name, rgb in _samples(clip_frames):
        blurred = cv2.GaussianBlur(rgb, (0, 0), 8)
        obs = CameraCheck().analyze(blurred)
        if obs.brightness >= CALIBRATED.camera_blocked.dark_mean:
            assert classify(obs, CALIBRATED) == COVERED, f"{name}: {obs}"


def test_repeated_frame_is_frozen_and_first_frame_is_not(clip_frames):
    for name, rgb in _samples(clip_frames, per_clip=1):
        check = CameraCheck()
        first = check.analyze(rgb)
        assert first.change == -1.0
        assert classify(first, CALIBRATED) != FROZEN
        again = check.analyze(rgb.copy())
        assert again.change == 0.0
        if classify(first, CALIBRATED) is None:
            assert classify(again, CALIBRATED) == FROZEN, name


def test_reset_and_size_change_restart_change(clip_frames):
    rgb = clip_frames["two_people_dinner_640x480.mjpeg"][5][1]
    check = CameraCheck()
    check.analyze(rgb)
    # frames are compared at the analysis width: a stream that changes resolution keeps its "change" ...
    assert 0.0 <= check.analyze(cv2.resize(rgb, (1280, 960))).change < 1.0
    # ... a new shape has no previous frame
    assert check.analyze(np.ascontiguousarray(rgb[:, 80:560])).change == -1.0
    check.reset()
    assert check.analyze(rgb).change == -1.0


def test_classify_takes_settings_or_rule_and_orders_states():
    obs = CameraObservation(brightness=5.0, contrast=2.0, sharpness=0.5, change=0.0)
    assert classify(obs) == DARK  # default settings
    assert classify(obs, EngineSettings().camera_blocked) == DARK
    flat = CameraObservation(brightness=120.0, contrast=3.0, sharpness=50.0, change=0.0)
    assert classify(flat, CALIBRATED) == COVERED
    still = CameraObservation(brightness=120.0, contrast=40.0, sharpness=300.0, change=0.1)
    assert classify(still, CALIBRATED) == FROZEN
    assert classify(still, CALIBRATED.with_overrides({"camera_blocked": {"frozen_diff": 0.05}})) is None


def test_bad_input_is_a_clear_error():
    check = CameraCheck()
    with pytest.raises(ValueError, match="RGB uint8"):
        check.analyze(np.zeros((48, 64), dtype=np.uint8))
    with pytest.raises(ValueError, match="RGB uint8"):
        check.analyze(np.zeros((48, 64, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="RGB uint8"):
        check.analyze("frame.jpg")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="too small"):
        small_grey(np.zeros((1, 1, 3), dtype=np.uint8))
    assert measure(np.full((10, 10), 7, dtype=np.uint8)).contrast == 0.0
