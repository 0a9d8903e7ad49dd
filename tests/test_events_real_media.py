"""Events raised from real frames of ../shared/data/video (and not raised on a calm clip).

The frames are real; where a test needs a situation the corpus does not film (a covered or dark camera, a student
leaning out of the picture, eyes held off-screen), it is made from the real frames: darkened, covered (blurred
and dimmed to the flat smear of a finger on the lens), shifted, or real frames of a held glance repeated.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from proctor.events import fold_events
from proctor.media import iter_video_frames
from proctor.pipeline import SessionAnalyzer
from proctor.settings import EngineSettings

CALM = "video/webcam_glasses_man_640x480.mjpeg"  # near-frontal man at a webcam, small nods: a calm exam
GAZE = "video/head_motion_woman_640x480.mjpeg"  # woman at a plain wall; glances aside at ~6.6-6.8 s


@lru_cache(maxsize=4)
def _frames(path: str) -> tuple:
    return tuple(iter_video_frames(path, fps=EngineSettings().analysis_fps, max_width=640))


def _run(rgbs: list[np.ndarray], fps: float = 5.0) -> tuple[list[dict], list]:
    records, signals = [], []
    with SessionAnalyzer(EngineSettings()) as sa:
        for i, rgb in enumerate(rgbs):
            r = sa.process_frame(rgb, i / fps, i)
            signals.append(r.signals)
            records += [e.to_record() for e in r.events]
        records += [e.to_record() for e in sa.finish(len(rgbs) / fps + 0.2)]
    return fold_events(records), signals


def _kinds(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["kind"] == kind]


def _reason(event: dict) -> str | None:
    """What the rule gave as the reason (kept in the event's evidence details)."""
    ev = event.get("evidence") or {}
    return (ev.get("details") or {}).get("reason", ev.get("reason"))


def _covers(events: list[dict], kind: str, lo: float, hi: float) -> float:
    return sum(max(0.0, min(hi, e["end"]) - max(lo, e["start"])) for e in _kinds(events, kind))


@pytest.fixture(scope="module")
def calm(data_dir: Path) -> list[np.ndarray]:
    return [f.rgb for f in _frames(str(data_dir / CALM))]


@pytest.fixture(scope="module")
def calm_events(calm) -> list[dict]:
    return _run(calm)[0]


def test_calm_clip_raises_none_of_these_events(calm_events):
    for kind in ("camera_blocked", "body_movement", "looking_away"):
        assert not _kinds(calm_events, kind), (kind, calm_events)


def _covered(rgb: np.ndarray) -> np.ndarray:
    """A finger over the lens: the picture's light smeared flat and dimmed."""
    smear = cv2.GaussianBlur(rgb, (0, 0), 60)
    return (0.35 * smear).astype(np.uint8)


@pytest.mark.parametrize("how", ["covered", "dark"])
def test_camera_blocked_on_covered_and_dark_real_frames(calm, how):
    change = _covered if how == "covered" else (lambda rgb: (rgb * 0.03).astype(np.uint8))  # lights out
    rgbs = [change(rgb) if 15 <= i < 35 else rgb for i, rgb in enumerate(calm)]  # 3 s .. 7 s
    events, _ = _run(rgbs)
    assert _covers(events, "camera_blocked", 3.0, 7.0) >= 3.0, events
    assert _covers(events, "camera_blocked", 0.0, 2.8) == 0.0
    assert {_reason(e) for e in _kinds(events, "camera_blocked")} == {how}, events
    assert not _kinds(events, "body_movement")


def test_body_movement_when_the_student_leans_out_and_back(calm):
    # 3 s .. 6 s: the real picture slides 200 px to the side and back (the student leaning out of the
    # picture and back), about once a second
    rgbs = []
    for i, rgb in enumerate(calm):
        if 15 <= i < 30:
            dx = int(200 * np.sin(np.pi * (i - 15) / 5.0) ** 2)
            rgb = np.roll(rgb, dx, axis=1)
        rgbs.append(rgb)
    events, signals = _run(rgbs)
    assert _covers(events, "body_movement", 3.0, 6.5) >= 1.5, (events, [s.body for s in signals[12:32]])
    assert _covers(events, "body_movement", 0.0, 2.8) == 0.0


def test_looking_away_through_the_gaze_branch(data_dir):
    frames = _frames(str(data_dir / GAZE))
    sa_settings = EngineSettings()
    # which real frames show the eyes off-screen while the head faces the camera
    with SessionAnalyzer(sa_settings) as sa:
        sig = [sa.analyze_frame(f.rgb, f.t, f.index) for f in frames]
    aside = [i for i, s in enumerate(sig) if s.primary is not None and s.primary.gaze is not None
             and s.primary.gaze.off_screen and s.primary.pose is not None and abs(s.primary.pose.yaw) < 15]
    calm = [i for i, s in enumerate(sig) if s.primary is not None and s.primary.gaze is not None
            and not s.primary.gaze.off_screen and s.primary.pose is not None and abs(s.primary.pose.yaw) < 10]
    assert len(aside) >= 2 and len(calm) >= 10, (aside, calm)
    # 6 s of her real frames looking at the screen (the neutral pose is measured here), then 4 s of her real
    # glances aside, held (the glance frames taken in turn, so the picture is not frozen)
    seq = [frames[calm[k % len(calm)]].rgb for k in range(30)] + [frames[aside[k % len(aside)]].rgb for k in range(20)]
    events, _ = _run(seq)
    away = _kinds(events, "looking_away")
    assert away and _covers(events, "looking_away", 6.0, 10.0) >= 2.0, events
    assert {_reason(e) for e in away} == {"gaze"}, away  # the gaze branch, not the head pose, raised it
    assert _covers(events, "looking_away", 0.0, 5.8) == 0.0
    # the same calm frames alone: nothing
    events, _ = _run(seq[:30])
    assert not _kinds(events, "looking_away")
