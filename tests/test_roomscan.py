"""The 360° room scan on the room-scan clips of ../shared/data/roomscan (truth: manifest + per-frame CSV)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from proctor.media import MediaError, iter_video_frames
from proctor.roomscan import RoomScanSettings, RoomScanTracker, analyze_room_scan
from proctor.roomscan.coverage import CoverageMap
from proctor.roomscan_cli import roomscan_main

TOLERANCE_DEG = 20.0  # the bound for coverage estimates


@pytest.fixture(scope="module")
def scan_dir(data_dir: Path) -> Path:
    d = data_dir / "roomscan"
    if not (d / "manifest_roomscan.json").is_file():
        pytest.fail(f"room-scan clips missing from {d}")
    return d


@pytest.fixture(scope="module")
def clips(scan_dir: Path) -> dict[str, dict]:
    return {c["id"]: c for c in json.loads((scan_dir / "manifest_roomscan.json").read_text())["clips"]}


_cache: dict[tuple, object] = {}


def _result(scan_dir: Path, clip: dict, fmt: str = "mp4", faces: bool = False):
    key = (clip["id"], fmt, faces)
    if key not in _cache:
        _cache[key] = analyze_room_scan(scan_dir / clip["files"][fmt], detect_faces=faces)
    return _cache[key]


def _truth_rows(scan_dir: Path, clip: dict) -> list[dict]:
    with open(scan_dir / clip["files"]["ground_truth_csv"]) as f:
        return list(csv.DictReader(f))


def _circ(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


# --- accuracy and verdict on the real clips -------------------------------------------------------------------

@pytest.mark.parametrize("clip_id", ["gallery_full360", "lab_full360", "gallery_partial150", "lab_partial150"])
def test_coverage_and_turn_within_tolerance(scan_dir, clips, clip_id):
    clip = clips[clip_id]
    r = _result(scan_dir, clip)
    assert abs(r.coverage_deg - clip["coverage_fov_union_deg"]) <= TOLERANCE_DEG, r.coverage_deg
    assert abs(r.total_turn_deg - clip["coverage_camera_axis_deg"]) <= TOLERANCE_DEG, r.total_turn_deg
    expected_dir = "right" if clip["direction"].startswith("right") else "left"
    assert r.direction == expected_dir
    assert r.unmatched_pairs <= 0.05 * r.frames


def _crop_lens(scan_dir: Path, clip: dict, crop_w: int) -> list[tuple[np.ndarray, float]]:
    """The clip through a narrower lens: a centre crop of the 65 deg pinhole frames (480 of 640 px: 51.1 deg)."""
    out = []
    for fr in iter_video_frames(scan_dir / clip["files"]["mp4"]):
        h, w = fr.rgb.shape[:2]
        crop_h = round(h * crop_w / w)
        y0, x0 = (h - crop_h) // 2, (w - crop_w) // 2
        out.append((np.ascontiguousarray(fr.rgb[y0 : y0 + crop_h, x0 : x0 + crop_w]), fr.t))
    return out


@pytest.mark.parametrize("crop_w", [640, 480])
@pytest.mark.parametrize("clip_id", ["gallery_full360", "lab_full360", "gallery_partial150", "lab_partial150"])
def test_field_of_view_is_measured_from_the_scan(scan_dir, clips, clip_id, crop_w):
    clip = clips[clip_id]
    true_fov = 2 * math.degrees(math.atan(crop_w / 2 / clip_focal(scan_dir)))
    r = analyze_room_scan(_crop_lens(scan_dir, clip, crop_w), detect_faces=False)
    assert r.fov_source == "estimated"
    assert abs(r.fov_deg - true_fov) <= 2.0, (r.fov_deg, true_fov)
    assert abs(r.total_turn_deg - clip["coverage_camera_axis_deg"]) <= 10.0, r.total_turn_deg
    # with the 65 deg setting instead, the narrower lens's turn is a third too long
    if crop_w == 480:
        fixed = analyze_room_scan(_crop_lens(scan_dir, clip, crop_w), settings=RoomScanSettings(estimate_fov=False),
                                  detect_faces=False)
        assert fixed.fov_source == "setting" and fixed.fov_deg == 65.0
        assert fixed.total_turn_deg > 1.2 * clip["coverage_camera_axis_deg"]


def clip_focal(scan_dir: Path) -> float:
    return float(json.loads((scan_dir / "manifest_roomscan.json").read_text())["camera_model"]["focal_px"])


def test_wide_lens_is_measured_on_a_synthetic_turn():
    yaws = [3.0 * k for k in range(0, 51)]  # 150 deg to the right through an 80 deg lens
    frames = _render_views(yaws, fov=80.0, seed=2)
    r = analyze_room_scan([(rgb, k / 15.0) for k, rgb in enumerate(frames)], detect_faces=False)
    assert r.fov_source == "estimated"
    assert r.fov_deg == pytest.approx(80.0, abs=3.0)
    assert r.total_turn_deg == pytest.approx(150.0, abs=5.0)


def test_field_of_view_falls_back_to_the_setting():
    grey = np.full((240, 320, 3), 128, np.uint8)
    r = analyze_room_scan([grey] * 20, fps=15.0, detect_faces=False)  # nothing to measure the lens on
    assert r.fov_source == "setting" and r.fov_deg == 65.0
    r = analyze_room_scan([grey] * 20, fps=15.0, detect_faces=False, settings=RoomScanSettings(fov_deg=75.0))
    assert r.fov_source == "setting" and r.fov_deg == 75.0
    assert r.to_event("e1").thresholds["fov_source"] == "setting"


@pytest.mark.parametrize("clip_id", ["gallery_full360", "lab_full360", "gallery_pause360", "lab_pause360"])
def test_full_sweeps_pass(scan_dir, clips, clip_id):
    r = _result(scan_dir, clips[clip_id])
    assert r.passed and r.kind == "room_scan_completed", r.reasons
    assert r.coverage_deg >= 345 and r.gaps == [] and r.reasons == []
    assert not r.too_fast_frames
    assert 25 <= r.mean_speed_deg_s <= 60


@pytest.mark.parametrize("clip_id", ["gallery_partial150", "lab_partial150"])
def test_partial_sweeps_fail_with_the_gap(scan_dir, clips, clip_id):
    r = _result(scan_dir, clips[clip_id])
    assert not r.passed and r.kind == "room_scan_incomplete"
    assert any(x.startswith("coverage:") for x in r.reasons)
    assert not any(x.startswith("too_fast") for x in r.reasons)
    # one gap of about 360 - 218 = 142 degrees, opposite the start
    assert len(r.gaps) == 1
    a, b = r.gaps[0]
    width = (b - a) % 360.0
    assert abs(width - (360.0 - clips[clip_id]["coverage_fov_union_deg"])) <= TOLERANCE_DEG


@pytest.mark.parametrize("clip_id", ["gallery_fast360", "lab_fast360"])
def test_fast_sweeps_are_reported_too_fast(scan_dir, clips, clip_id):
    clip = clips[clip_id]
    r = _result(scan_dir, clip)
    assert not r.passed
    assert any(x.startswith("too_fast:") for x in r.reasons), r.reasons
    assert r.peak_speed_deg_s > 120
    assert len(r.too_fast_frames) >= 0.5 * sum(1 for p in r.per_frame if p["speed_deg_s"] > 20)
    assert r.blurred_frames
    # the camera did sweep the room (the geometry is right), but too little of it could be seen
    assert r.coverage_any_deg >= 340
    assert r.coverage_deg < 200
    assert abs(r.total_turn_deg - clip["coverage_camera_axis_deg"]) <= TOLERANCE_DEG


def test_pause_is_reported(scan_dir, clips):
    clip = clips["gallery_pause360"]
    r = _result(scan_dir, clip)
    assert len(r.pauses) == 1
    p = r.pauses[0]
    truth = clip["pause"]
    assert abs(p["t_start"] - truth["t_start_s"]) < 0.6 and abs(p["t_end"] - truth["t_end_s"]) < 0.6


def test_per_frame_yaw_follows_the_truth(scan_dir, clips):
    clip = clips["lab_full360"]
    r = _result(scan_dir, clip)
    rows = {int(row["mp4_frame"]): float(row["yaw_unwrapped_deg"]) for row in _truth_rows(scan_dir, clip)
            if row["mp4_frame"]}
    start = rows[0]
    errors = [abs(p["yaw_deg"] - (rows[p["i"]] - start)) for p in r.per_frame]
    assert len(errors) == len(rows)
    assert max(errors) < 10.0, max(errors)
    assert float(np.median(errors)) < 4.0


def test_thirty_fps_mjpeg(scan_dir, clips):
    """The raw 30 fps stream Chromium's fake camera plays gives the same answers."""
    for clip_id, passed in (("lab_partial150", False), ("gallery_full360", True)):
        clip = clips[clip_id]
        r = _result(scan_dir, clip, fmt="mjpeg")
        assert r.passed is passed
        assert abs(r.total_turn_deg - clip["coverage_camera_axis_deg"]) <= TOLERANCE_DEG
        assert abs(r.coverage_deg - clip["coverage_fov_union_deg"]) <= TOLERANCE_DEG


def test_faces_seen_during_the_scan(scan_dir, clips):
    lab = clips["lab_full360"]
    r = _result(scan_dir, lab, faces=True)
    manifest = json.loads((scan_dir / "manifest_roomscan.json").read_text())
    person = next(p for p in manifest["sources"]["lab"]["persons"] if p["id"] == "p2_crouching_at_rack")
    start_yaw = float(_truth_rows(scan_dir, lab)[0]["yaw_deg"])
    expected = (person["yaw_deg_of_head"] - start_yaw) % 360.0  # room angle relative to the first frame
    confirmed = [f for f in r.faces if f["confirmed"]]
    assert confirmed, r.faces
    # the confirmed face sits where the crouching man is, at a time he is in view
    f = confirmed[0]
    assert _circ(f["angle_deg"], expected) <= 15.0, (f, expected)
    person = next(p for p in lab["persons"] if p["id"] == "p2_crouching_at_rack")
    vis = person["visible_intervals"][0]
    assert vis["t_start_s"] - 0.2 <= f["t"] <= vis["t_end_s"] + 0.2
    assert any(w.startswith("faces_seen") for w in r.warnings)
    assert r.passed  # faces are evidence, not a coverage failure

    gallery = _result(scan_dir, clips["gallery_full360"], faces=True)  # an empty hall
    assert not [f for f in gallery.faces if f["confirmed"]]


def test_evidence_strip(scan_dir, clips):
    r = _result(scan_dir, clips["gallery_partial150"])
    img = cv2.imdecode(np.frombuffer(r.strip_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    n = round(360 / r.strip_step_deg)
    assert img.shape[1] == n * 160
    # the camera pointed at 0..153 deg: tiles aimed farther than half a step from that are "not seen" (flat grey)
    tile_w = 160
    th = img.shape[0] - 18
    stds = [float(img[:th, i * tile_w:(i + 1) * tile_w].std()) for i in range(n)]
    flat = [i for i, s in enumerate(stds) if s < 12]
    lo, hi = 0.0, r.total_turn_deg
    should_be_flat = [i for i in range(n) if not (lo - r.strip_step_deg / 2 <= i * r.strip_step_deg
                                                  <= hi + r.strip_step_deg / 2)]
    assert flat == should_be_flat, (flat, stds)


# --- streaming ----------------------------------------------------------------------------------------------

def test_streaming_guide(scan_dir, clips):
    tracker = RoomScanTracker(detect_faces=False)
    states = [tracker.update(f.rgb, f.t) for f in iter_video_frames(scan_dir / clips["gallery_fast360"]["files"]["mp4"])]
    assert any(s["slow_down"] for s in states)
    assert any(s["direction"] == "right" for s in states)
    assert all(s["direction"] != "left" for s in states)
    assert states[-1]["turn_direction"] == "right"
    assert states[-1]["remaining_deg"] > 100
    r = tracker.result()
    assert not r.passed and r.per_frame[-1]["yaw_deg"] == pytest.approx(states[-1]["yaw_deg"], abs=1.0)

    tracker = RoomScanTracker(detect_faces=False)
    states = [tracker.update(f.rgb, f.t) for f in iter_video_frames(scan_dir / clips["lab_full360"]["files"]["mp4"])]
    remaining = [s["remaining_deg"] for s in states]
    assert remaining[0] > 250 and remaining[-1] == 0
    assert all(b <= a + 1e-6 for a, b in zip(remaining, remaining[1:]))  # coverage only grows
    assert states[-1]["complete"] and not any(s["slow_down"] for s in states)


# --- synthetic scenes (no data needed) ----------------------------------------------------------------------

def _render_views(yaws_deg, w=320, h=240, fov=65.0, seed=0):
    """Pinhole views of a random-textured cylinder around the camera (a turn is a pure yaw)."""
    rng = np.random.default_rng(seed)
    pano_w, pano_h = 2048, 600
    tex = cv2.GaussianBlur(rng.random((pano_h // 4, pano_w // 4)).astype(np.float32), (0, 0), 1.0)
    tex = cv2.resize(tex, (pano_w, pano_h), interpolation=cv2.INTER_CUBIC)
    tex = (255 * (tex - tex.min()) / (tex.max() - tex.min())).astype(np.uint8)
    f = (w / 2) / math.tan(math.radians(fov) / 2)
    u, v = np.meshgrid(np.arange(w) - (w - 1) / 2, np.arange(h) - (h - 1) / 2)
    out = []
    for yaw in yaws_deg:
        theta = np.arctan2(u, f) + math.radians(yaw)
        height = v / np.hypot(u, f)
        mx = ((theta / (2 * math.pi)) % 1.0 * pano_w).astype(np.float32)
        my = (pano_h / 2 + height * pano_w / (2 * math.pi)).astype(np.float32)
        g = cv2.remap(tex, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        out.append(np.dstack([g, g, g]))
    return out


def test_synthetic_turn_left_is_measured():
    yaws = [-3.0 * k for k in range(0, 41)]  # 120 deg to the left at 45 deg/s (15 fps)
    frames = _render_views(yaws)
    r = analyze_room_scan([(rgb, k / 15.0) for k, rgb in enumerate(frames)], detect_faces=False)
    assert r.direction == "left"
    assert r.total_turn_deg == pytest.approx(120.0, abs=3.0)
    assert r.coverage_deg == pytest.approx(120.0 + 65.0, abs=4.0)
    assert not r.passed and any(x.startswith("coverage") for x in r.reasons)


def test_blank_video_is_not_a_scan():
    grey = np.full((240, 320, 3), 128, np.uint8)
    r = analyze_room_scan([grey] * 20, fps=15.0, detect_faces=False)
    assert not r.passed
    assert len(r.dark_frames) == 20
    assert r.coverage_deg == 0 and r.gaps == [(0.0, 360.0)]
    assert any(x.startswith("no_turn") for x in r.reasons)


def test_stricter_settings_are_used():
    yaws = [3.0 * k for k in range(0, 41)]
    frames = _render_views(yaws, seed=1)
    strict = RoomScanSettings(max_speed_deg_s=30.0, max_too_fast_share=0.1)
    r = analyze_room_scan([(rgb, k / 15.0) for k, rgb in enumerate(frames)], settings=strict, detect_faces=False)
    assert r.too_fast_frames and any(x.startswith("too_fast") for x in r.reasons)


def test_engine_settings_feed_the_room_scan():
    from proctor.roomscan import room_scan_settings
    from proctor.settings import EngineSettings

    engine = EngineSettings().with_overrides({"room_scan": {"face_min_score": 0.7, "dark_mean": 30.0}})
    cfg = room_scan_settings(engine)
    assert cfg.face_min_score == 0.7 and cfg.dark_mean == 30.0
    assert RoomScanTracker(engine, detect_faces=False).cfg.face_min_score == 0.7


def test_result_becomes_an_engine_event(scan_dir, clips):
    r = _result(scan_dir, clips["lab_partial150"])
    event = r.to_event("room_scan-1", start=12.0)
    record = event.to_record()
    assert record["kind"] == "room_scan_incomplete" and record["source"] == "room_scan"
    assert record["end"] == pytest.approx(12.0 + r.duration_s, abs=1e-3)
    assert record["evidence"]["coverage_deg"] == r.coverage_deg and "per_frame" not in record["evidence"]
    assert "coverage" in record["message"]
    assert event.evidence_images["room_strip.jpg"] == r.strip_jpeg
    json.dumps(record)  # JSON-ready


def test_coverage_gaps_wrap_around():
    cov = CoverageMap()
    cov.add(0.0, 65.0)  # -32.5 .. 32.5
    cov.add(180.0, 65.0)  # 147.5 .. 212.5
    assert cov.degrees == pytest.approx(130.0, abs=1.0)
    gaps = cov.gaps()
    assert gaps == [(32.5, 147.5), (212.5, 327.5)]
    cov.add(-90.0, 200.0)
    assert cov.gaps() == [(32.5, 147.5)]


# --- bad input ----------------------------------------------------------------------------------------------

def test_bad_input_is_a_clear_error(tmp_path):
    bogus = tmp_path / "scan.mp4"
    bogus.write_bytes(b"not a video")
    with pytest.raises(MediaError):
        analyze_room_scan(bogus, detect_faces=False)
    tracker = RoomScanTracker(detect_faces=False)
    with pytest.raises(ValueError, match="RGB uint8"):
        tracker.update(np.zeros((10, 10), np.float32), 0.0)
    tracker.update(np.zeros((48, 64, 3), np.uint8), 1.0)
    with pytest.raises(ValueError, match="increase"):
        tracker.update(np.zeros((48, 64, 3), np.uint8), 1.0)
    with pytest.raises(ValueError, match="size changed"):
        tracker.update(np.zeros((60, 80, 3), np.uint8), 2.0)
    one = RoomScanTracker(detect_faces=False)
    one.update(np.zeros((48, 64, 3), np.uint8), 0.0)
    r = one.result()
    assert not r.passed and r.reasons[0].startswith("no_scan")
    with pytest.raises(ValueError):
        RoomScanTracker(fov_deg=0.0)


# --- command line -------------------------------------------------------------------------------------------

def test_cli_writes_result_frames_and_strip(scan_dir, clips, tmp_path, capsys):
    clip = clips["lab_partial150"]
    code = roomscan_main([str(scan_dir / clip["files"]["mp4"]), "--out", str(tmp_path), "--no-faces"])
    assert code == 1  # incomplete
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["passed"] is False and printed["kind"] == "room_scan_incomplete"
    assert abs(printed["coverage_deg"] - clip["coverage_fov_union_deg"]) <= TOLERANCE_DEG
    assert "per_frame" not in printed
    with open(tmp_path / "roomscan_frames.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == clip_frames(clip) and "yaw_deg" in rows[0]
    full = json.loads((tmp_path / "roomscan.json").read_text())
    assert len(full["per_frame"]) == len(rows)
    assert cv2.imread(str(tmp_path / "roomscan_strip.jpg")) is not None


def clip_frames(clip: dict) -> int:
    return math.ceil(clip["frames_30fps"] / 2)


def test_cli_errors(tmp_path, capsys):
    assert roomscan_main([str(tmp_path / "missing.mp4"), "--no-faces"]) == 2
    assert "no such file" in capsys.readouterr().err
    assert roomscan_main([str(tmp_path / "missing.mp4"), "--settings", '{"nope": 1}']) == 2
    assert "unknown setting" in capsys.readouterr().err
