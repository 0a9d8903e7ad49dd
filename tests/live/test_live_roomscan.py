"""The live room scan with a real aiortc client in a loopback netns (see scenario_roomscan.py): real room-scan
clips streamed during the room-scan phase give live progress and a stored verdict; re-scan requests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from proctor.events import fold_events
from tests.live.e2e_site import run_rtc_scenario

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("live_roomscan")
    rs = data_dir / "roomscan"
    result, stores = run_rtc_scenario(HERE / "scenario_roomscan.py", out, str(rs / "gallery_full360_640x480.mjpeg"),
                                      str(rs / "gallery_partial150_640x480.mjpeg"), what="room scan")
    truth = {c["id"]: c for c in json.loads((rs / "manifest_roomscan.json").read_text())["clips"]}
    return result, stores, truth


def test_progress_guides_the_student(run):
    result, _, _ = run
    for name in ("full", "partial"):
        progress = result[name]["progress"]
        assert len(progress) >= 20, name  # ~4 a second over a 9-12 s scan
        for m in progress:
            for key in ("yaw_deg", "coverage_deg", "remaining_deg", "direction", "slow_down", "too_fast", "complete"):
                assert key in m
        cov = [m["coverage_deg"] for m in progress]
        assert cov == sorted(cov) and cov[-1] > cov[0]  # coverage only grows
        assert any(m["direction"] == "right" for m in progress)
    assert result["full"]["progress"][-1]["complete"] is True and result["full"]["progress"][-1]["remaining_deg"] == 0
    assert result["partial"]["progress"][-1]["complete"] is False


def test_verdicts_reach_the_page(run):
    result, _, truth = run
    full, partial = result["full"]["recorded"], result["partial"]["recorded"]
    assert full["passed"] is True and full["kind"] == "room_scan_completed" and full["reasons"] == []
    assert full["coverage_deg"] >= 345
    assert partial["passed"] is False and partial["kind"] == "room_scan_incomplete"
    assert abs(partial["coverage_deg"] - truth["gallery_partial150"]["coverage_fov_union_deg"]) <= 20
    assert any(r.startswith("coverage") for r in partial["reasons"])
    # only the passed scan marks the attempt room-scanned
    assert partial["attempt_state"] is None


def test_scan_events_are_stored_with_their_strip(run):
    result, stores, truth = run
    sid = result["session_id"]
    assert stores.events.verify(sid).ok
    events = fold_events(e["record"] for e in stores.events.list(sid))
    scans = {e["kind"]: e for e in events if e["source"] == "room_scan"}
    assert set(scans) == {"room_scan_completed", "room_scan_incomplete"}
    inc = scans["room_scan_incomplete"]
    assert abs(inc["evidence"]["coverage_deg"] - truth["gallery_partial150"]["coverage_fov_union_deg"]) <= 20
    assert inc["evidence"]["reasons"] and inc["status"] == "closed"
    assert scans["room_scan_completed"]["evidence"]["coverage_deg"] >= 345
    blobs = stores.recordings.blobs
    names = set()
    for e in scans.values():
        (frame,) = e["evidence"]["frames"]
        key = f"{sid}/evidence/{frame['name']}"
        data = blobs.get(key)
        assert data[:2] == b"\xff\xd8" and hashlib.sha256(data).hexdigest() == frame["sha256"]
        names.add(frame["name"])
    assert len(names) == 2  # one strip per scan, none overwritten


def test_rescan_requests(run):
    result, stores, _ = run
    # two multiple_faces events within the interval: one request
    rule = result["rule_requests"]
    assert len(rule) == 1 and rule[0]["reason"] == "event:multiple_faces" and rule[0]["rescan"] is True
    assert result["proctor_delivered"] is True
    assert [m["reason"] for m in result["all_requests"]] == ["event:multiple_faces", "proctor:user:1"]
    records = [e["record"] for e in stores.events.list(result["session_id"])]
    assert [r["reason"] for r in records if r.get("type") == "room_scan_request"] == ["event:multiple_faces", "proctor:user:1"]
