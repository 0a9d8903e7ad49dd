"""The identity step against the college's reference photo, with real aiortc clients streaming a one-person
webcam clip in a loopback netns (see scenario_reference.py): a match with the same person's reference, a mismatch
with another person's (identity_mismatch at the start, the attempt waits for a proctor), the reference locked once
the exam has started, a proctor's replacement and decision recorded in the chain."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from proctor.events import fold_events
from server.services.reference_photos import reference_key, session_photo_key
from tests.live.e2e_site import run_rtc_scenario

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("live_reference")
    return run_rtc_scenario(HERE / "scenario_reference.py", out, str(data_dir / "video/head_motion_woman_640x480.mjpeg"),
                            str(data_dir / "audio/speech_clean_arctic_aew_a0001.wav"),
                            str(data_dir / "video/webcam_glasses_man.mp4"), what="reference", timeout=400)


def _records(stores, sid: str, kind: str) -> list[dict]:
    return [e["record"] for e in stores.events.list(sid) if e["record"].get("type") == kind]


def test_same_person_matches_the_college_reference(run):
    result, stores = run
    alice = result["alice"]
    assert alice["enrolment"]["status"] == 200
    assert alice["enrolment"]["reference_id"] == result["references"]["alice"]
    assert alice["enrolment"]["reference_match"] is True
    assert alice["identity_result"]["ok"] is True and alice["identity_result"]["reason"] == "match"
    assert alice["attempt"]["identity_verified"] is True
    sid = result["sessions"]["alice"]
    assert stores.events.verify(sid).ok
    (rec,) = _records(stores, sid, "enrolment")
    assert rec["source"] == "identity_step" and rec["match"]["match"] is True
    assert rec["reference"]["id"] == result["references"]["alice"] and rec["reference"]["source"] == "college"
    # the photo taken now is kept as evidence under its sha256, as is the college's reference
    blobs = stores.recordings.blobs
    digest = rec["photos"][0]["sha256"]
    assert hashlib.sha256(blobs.get(session_photo_key(sid, digest))).hexdigest() == digest
    ref_digest = rec["reference"]["photos"][0]["sha256"]
    ref_photo = blobs.get(reference_key(result["students"]["alice"], ref_digest))
    assert hashlib.sha256(ref_photo).hexdigest() == ref_digest
    events = fold_events(e["record"] for e in stores.events.list(sid))
    assert not [e for e in events if e["kind"] == "identity_mismatch"]


def test_the_reference_is_locked_once_the_exam_started(run):
    result, stores = run
    after = result["alice"]["enrol_after_start"]
    assert after["status"] == 409 and after["code"] == "reference_locked"
    assert len(_records(stores, result["sessions"]["alice"], "enrolment")) == 1  # nothing was replaced


def test_another_persons_reference_is_a_mismatch_a_proctor_decides(run):
    result, stores = run
    bob, sid = result["bob"], result["sessions"]["bob"]
    assert bob["enrolment"]["status"] == 200 and bob["enrolment"]["reference_match"] is False
    # the live face is the one in the photo taken now, but that is not the college's student: not verified
    r = bob["identity_result"]
    assert r["ok"] is False and r["reason"] == "reference_mismatch" and r["proctor_required"] is True
    assert bob["attempt"] == {**bob["attempt"], "state": "created", "identity_verified": False}
    entries = stores.events.list(sid)
    assert stores.events.verify(sid).ok
    events = fold_events(e["record"] for e in entries)
    mismatch = [e for e in events if e["kind"] == "identity_mismatch"]
    assert len(mismatch) == 1 and mismatch[0]["source"] == "identity_step"
    assert mismatch[0]["evidence"]["details"]["reference_id"] == result["references"]["bob"]
    # the proctor sees the reference, the photo taken now and the live frames (the steps' times) side by side
    view = bob["view_identity"]
    assert view["reference"]["id"] == result["references"]["bob"] and view["reference"]["photos"][0]["stored"]
    assert view["photos"][0]["stored"] and view["steps"] and view["mismatches"]
    assert bob["reference_photo"]["status"] == 200 and bob["reference_photo"]["bytes"] > 1000
    # the proctor replaced the reference with a reason (the chain says who and why), then confirmed the identity
    assert bob["replaced"]["status"] == 200 and bob["replaced"]["live"] is True
    assert bob["replace_without_reason"] == 422
    proctor_rec = [r for r in _records(stores, sid, "enrolment") if r.get("source") == "proctor"]
    assert len(proctor_rec) == 1
    assert proctor_rec[0]["reason"].startswith("the college's photo") and proctor_rec[0]["by"].startswith("user:")
    assert proctor_rec[0]["replaces"] == bob["enrolment"]["enrolment_id"]
    (decision,) = _records(stores, sid, "identity_decision")
    assert decision["by"].startswith("user:") and decision["overrides_mismatch"]["match"] is False
    assert decision["overrides_mismatch"]["reference_id"] == result["references"]["bob"]
    assert bob["decided"]["status"] == 200 and bob["attempt_after"]["identity_verified"] is True
