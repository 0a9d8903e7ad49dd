"""The engine end to end on the real clips of ../shared/data/video, through SessionAnalyzer and `proctor analyze`.

Per-segment face counts of the clips are tested in test_faces.py; here, the events they become."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from proctor.chain import verify_chain
from proctor.events import fold_events
from proctor.identity import enrol
from proctor.media import iter_video_frames, load_image
from proctor.pipeline import SessionAnalyzer
from proctor.settings import EngineSettings

DINNER = "video/two_people_dinner_640x480.mjpeg"
GLASSES = "video/webcam_glasses_man_640x480.mjpeg"


@lru_cache(maxsize=4)
def frames_of(path: str) -> tuple:
    return tuple(iter_video_frames(path, fps=EngineSettings().analysis_fps, max_width=640))


def run_session(data_dir: Path, clip: str, enrol_person: str | None = None, photos: int = 1):
    enrolment = None
    if enrol_person:
        folder = data_dir / "faces" / enrol_person
        enrolment = enrol([load_image(p) for p in sorted(folder.glob("*.jpg"))[:photos]])
    records, signals = [], []
    frames = frames_of(str(data_dir / clip))
    with SessionAnalyzer(EngineSettings(), enrolment=enrolment) as sa:
        for f in frames:
            r = sa.process_frame(f.rgb, f.t, f.index)
            signals.append(r.signals)
            records += [e.to_record() for e in r.events]
        records += [e.to_record() for e in sa.finish(frames[-1].t + 0.2)]
    return fold_events(records), signals


def covered(events: list[dict], kind: str, lo: float, hi: float) -> float:
    """Seconds of [lo, hi] covered by events of ``kind``."""
    total = 0.0
    for e in events:
        if e["kind"] == kind:
            total += max(0.0, min(hi, e["end"]) - max(lo, e["start"]))
    return total


def test_two_people_dinner_raises_multiple_faces_in_the_seconds_the_manifest_gives(data_dir, manifest_files):
    segments = manifest_files[DINNER]["segments"]
    events, _ = run_session(data_dir, DINNER)
    for seg in segments:
        lo, hi = seg["start_s"], seg["end_s"]
        if seg["faces"] == 2 and hi - lo >= 2.0:
            assert covered(events, "multiple_faces", lo, hi) >= 0.8 * (hi - lo), (seg, events)
        if seg["faces"] == 1:  # one face: no multiple_faces beyond the debounce at the shot change
            assert covered(events, "multiple_faces", lo + 0.5, hi) <= 0.3, (seg, events)
    mf = [e for e in events if e["kind"] == "multiple_faces"]
    assert all(e["severity"] == "high" and e["evidence"]["frames"] for e in mf)


def test_dinner_enrolled_as_eddie_finds_the_student(data_dir, manifest_files):
    """0-7 s Eddie sits beside Emery and matches. At 7.0 s the clip cuts to Evan alone, then to a boy and a woman
    (manifest): the change in faces brings checks at once and they do not match, but 2.5 s of somebody else is a
    cut, not a swap (identity.min_duration_s): no identity_mismatch."""
    cut = next(seg for seg in manifest_files[DINNER]["segments"] if seg["faces"] == 1)
    events, signals = run_session(data_dir, DINNER, "tvshow_eddie")
    assert not [e for e in events if e["kind"] == "identity_mismatch"], events
    checks = [s for s in signals if s.identity is not None]
    assert checks[0].identity.match and all(s.identity.match for s in checks if s.t < cut["start_s"])
    assert [s for s in checks if cut["start_s"] <= s.t <= cut["start_s"] + 0.5 and not s.identity.match]


def test_dinner_enrolled_as_obama_raises_identity_mismatch(data_dir):
    events, _ = run_session(data_dir, DINNER, "barack_obama")
    mism = [e for e in events if e["kind"] == "identity_mismatch"]
    assert len(mism) == 1 and mism[0]["start"] == 0.0 and mism[0]["severity"] == "high"
    assert mism[0]["evidence"]["details"]["min_distance"] > mism[0]["thresholds"]["threshold"]


def test_identity_is_rechecked_soon_after_a_mismatch_or_a_change_in_faces_and_seldom_otherwise(data_dir):
    """Checks every check_interval_s while the student matches and nothing changes; recheck_s after a first
    mismatching check (so the two mismatches an event needs come within seconds), then backing off; and recheck_s
    after the number of faces changed (a frame without a face, a second face coming or going)."""
    import numpy as np

    cfg = EngineSettings().identity
    frames = frames_of(str(data_dir / DINNER))

    def check_times(person: str, gap_at: float | None = None) -> list[float]:
        enrolment = enrol([load_image(sorted((data_dir / "faces" / person).glob("*.jpg"))[0])])
        times = []
        with SessionAnalyzer(EngineSettings(), enrolment=enrolment) as sa:
            for f in frames:
                rgb = np.zeros_like(f.rgb) if gap_at is not None and abs(f.t - gap_at) < 0.01 else f.rgb
                sig = sa.analyze_frame(rgb, f.t)
                if sig.identity is not None:
                    times.append(round(f.t, 1))
        return times

    matching = check_times("tvshow_eddie")
    assert matching[0] == 0.0 and all(b - a >= cfg.recheck_s - 1e-6 for a, b in zip(matching, matching[1:]))
    stranger = check_times("barack_obama")  # after the first mismatch: 2 s, then 4 s, 8 s ... up to the interval
    assert stranger[:3] == [0.0, cfg.recheck_s, 3 * cfg.recheck_s]
    returned = check_times("tvshow_eddie", gap_at=3.0)  # no face at 3.0 s: checked again on the next frame
    assert returned[:2] == [0.0, 3.2]
    # the dinner clip's cut from two boys to one (7.0 s, manifest) is a change in faces: checked again there
    cut = [t for t in matching if 6.8 <= t <= 7.6]
    assert len(cut) == 1, matching


def test_webcam_glasses_man_enrolled_as_anyone_in_faces_raises_identity_mismatch(data_dir, manifest):
    people = sorted({f["person"] for f in manifest["files"] if f.get("type") == "face_identity"})
    assert len(people) >= 20
    missed, short = [], []
    for person in people:
        events, signals = run_session(data_dir, GLASSES, person)
        mism = [e for e in events if e["kind"] == "identity_mismatch"]
        if not mism:
            missed.append(person)
        # raised at the second check (recheck_s after the first) and held to the end: chance matches of a
        # stranger with a poor enrolment photo (one in three frames for the TV-show crops) do not end it
        elif covered(mism, "identity_mismatch", 0.0, signals[-1].t) < 0.9 * signals[-1].t:
            short.append((person, [(e["start"], e["end"]) for e in mism]))
    assert missed == [] and short == []


def test_single_face_clip_has_no_multiple_faces_and_calibrates_a_neutral_pose(data_dir):
    events, signals = run_session(data_dir, GLASSES)
    assert not [e for e in events if e["kind"] in ("multiple_faces", "face_missing", "camera_blocked")], events
    assert sum(s.face_count == 1 for s in signals) >= 0.95 * len(signals)


def proctor_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proctor.cli", *args], capture_output=True, text=True, timeout=600)


def test_analyze_command_writes_a_verifiable_chain_and_a_report(data_dir, tmp_path):
    out = tmp_path / "out"
    r = proctor_cli("analyze", str(data_dir / DINNER), "--reference", str(data_dir / "faces/barack_obama/01.jpg"),
                    "--audio", str(data_dir / "audio/speech_clean_arctic_aew_a0001.wav"), "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "events.json").read_text())
    assert verify_chain(doc["entries"], doc["genesis"]).ok
    kinds = {e["kind"] for e in doc["events"]}
    assert {"multiple_faces", "identity_mismatch", "speech"} <= kinds
    first, last = doc["entries"][0]["record"], doc["entries"][-1]["record"]
    assert first["type"] == "session_start" and first["model_versions"] and last["type"] == "session_end"
    for e in doc["events"]:
        assert e["model_versions"] or e["source"] not in ("video", "audio", "identity")
        assert e["thresholds"] and e["end"] is not None and e["duration"] is not None
        for f in e["evidence"].get("frames", []):
            assert (out / "evidence" / f["name"]).is_file()
    html = (out / "report.html").read_text()
    for needle in ("multiple_faces", "identity_mismatch", "<svg", "evidence/", "verified"):
        assert needle in html
    # tampering with the written log is detected
    doc["entries"][1]["record"]["start"] = 1.0e6
    assert not verify_chain(doc["entries"], doc["genesis"]).ok


def test_analyze_command_refuses_bad_input_clearly(data_dir, tmp_path):
    r = proctor_cli("analyze", str(data_dir / "manifest.json"), "--out", str(tmp_path / "a"), "-q")
    assert r.returncode == 2 and "not a readable video" in r.stderr
    r = proctor_cli("analyze", str(data_dir / GLASSES), "--reference", str(data_dir / "special/no_human_face_dogs.jpg"),
                    "--out", str(tmp_path / "b"), "-q")
    assert r.returncode == 2 and "photo 1" in r.stderr.lower() and "no face" in r.stderr.lower()
    r = proctor_cli("analyze", str(data_dir / "nope.mp4"), "--out", str(tmp_path / "c"), "-q")
    assert r.returncode == 2 and "no such file" in r.stderr
