"""End to end in headless Debian Firefox ESR (Marionette, Mozilla's marionette_driver), camera and microphone from a
real clip: the webcam video and a speech recording, converted by the test into a WebM that a test add-on plays in
place of the camera (Firefox cannot use a file as its camera; the page's constraints still go to Firefox's own
getUserMedia). The same flow as the Chromium test: sign in,
consent, camera and microphone check, enrolment with a photo of the live face, identity check, room scan, the
demo exam with browser signals, a dropped connection and a reload, submit. Then the stored data: frames of the
Firefox stream analysed, the clip's face matched and its speech heard, the browser's events, the recording.
Screenshots of each step go to test-artifacts/firefox_NN-step.png."""

from __future__ import annotations

import importlib.util
import io
import os
from pathlib import Path

import av
import pytest

from proctor.events import fold_events
from server.db.engine import transaction
from server.db.models import Answer
from tests.live.e2e_site import open_stores, run_scenario

HERE = Path(__file__).resolve().parent
FIREFOX = os.environ.get("PROCTOR_FIREFOX", "/usr/bin/firefox-esr")
VIDEO = "video/webcam_glasses_man_640x480.mjpeg"
AUDIO = "audio/speech_clean_arctic_aew_a0001.wav"


@pytest.fixture(scope="module")
def firefox_run(tmp_path_factory, data_dir, artifacts_dir):
    if not (Path(FIREFOX).is_file() and os.access(FIREFOX, os.X_OK)):
        pytest.fail(f"Firefox is not at {FIREFOX}: install the Debian package (apt-get install -y firefox-esr, "
                    "as scripts/setup does) or set PROCTOR_FIREFOX")
    if importlib.util.find_spec("marionette_driver") is None:
        pytest.fail("marionette_driver is not installed: pip install -e '.[test]' (scripts/setup does)")
    out = tmp_path_factory.mktemp("e2e_firefox")
    for old in artifacts_dir.glob("firefox_*"):
        old.unlink()
    result = run_scenario(HERE / "scenario_firefox.py", out, artifacts_dir, str(data_dir / VIDEO),
                          str(data_dir / AUDIO), keep_result=artifacts_dir / "firefox_result.json")
    stores, factory = open_stores(out)
    return result, stores, factory, artifacts_dir


def test_it_ran_in_firefox_with_the_clip_as_camera(firefox_run):
    result, *_ = firefox_run
    assert result["browser"]["name"] == "firefox"
    cam = result["camera"]
    assert cam["src"] == "/test-camera/clip.webm" and cam["tracks"] == ["video", "audio"]
    # Firefox's own getUserMedia accepted the page's constraints (640x480, at most 15 fps, a microphone)
    video = cam["firefox"]["video"]
    assert (video["width"], video["height"]) == (640, 480) and video["frameRate"] <= 15
    assert "audio" in cam["firefox"]
    assert result["preview"] == {"w": 640, "h": 480, "tracks": ["video", "audio"]}


def test_every_step_has_a_screenshot(firefox_run):
    result, _, _, shots = firefox_run
    names = [s["step"] for s in result["timeline"]]
    assert names == ["signin", "consent", "devices", "identity", "room-scan", "connection-lost", "exam",
                     "exam-after-reload", "done"]
    for n, s in enumerate(result["timeline"], 1):
        assert s["screenshot"] == f"firefox_{n:02d}-{s['step']}.png"
        assert (shots / s["screenshot"]).stat().st_size > 5000


def test_the_page_flow(firefox_run):
    result, *_ = firefox_run
    assert result["titles"] == {"kk": "Кіру", "ru": "Вход", "en": "Sign in"}
    assert result["camera_before_consent"] is False
    assert result["consent_refused"]  # agreeing is required
    # the level meter follows the microphone (the clip's speech)
    assert result["audio_context"] == "running" and max(result["audio_levels"]) > 0.05
    assert result["enrol_tries"] >= 1 and result["identity_text"]
    assert "360" in result["room_request"]
    # the clip does not turn round the room: the scan fails, the page says why, a proctor confirms it by hand
    assert result["room_result"]["passed"] is False and result["room_result"]["reasons"]
    assert result["room_done_text"] and result["room_confirmed_by_proctor"] == 200
    g = result["room_guide"]  # driven by the server's room_scan_progress messages
    assert g["shown"] and g["text"] and g["progress"]["coverage_deg"] == g["bar"] and g["progress"]["complete"] is False
    assert result["proctor_message"]["status"] == 200 and result["proctor_message"]["delivered"] is True
    assert result["submitted_early"] is False  # "keep answering" in the confirmation submits nothing
    assert result["attempt"]["state"] in ("submitted", "verified", "second_review_required", "rejected")
    assert result["attempt"]["identity_verified"] and result["attempt"]["room_scanned"]


def test_answers_were_saved(firefox_run):
    result, _, factory, _ = firefox_run
    with transaction(factory) as db:
        answers = db.query(Answer).filter(Answer.attempt_id == result["attempt"]["id"]).all()
        assert {a.question_id for a in answers} >= {q["id"] for q in result["questions"][:2]}
        assert any(a.response == "def" for a in answers)  # typed while the connection was down
    assert result["answers_after_reload"][:3] == [1, [1], "def"]  # the reloaded page shows them again


def test_the_server_analysed_the_firefox_stream(firefox_run):
    result, stores, _, _ = firefox_run
    sid = result["attempt"]["proctoring_session_id"]
    assert stores.events.verify(sid).ok
    records = [e["record"] for e in stores.events.list(sid)]
    kinds = {e["kind"] for e in fold_events(records)}
    stats = [r for r in records if r["type"] == "analysis_stats"][-1]
    assert stats["counters"]["analysed"] >= 50
    assert stats["counters"]["decoded"] >= stats["counters"]["analysed"]
    assert stats["counters"]["audio_packets"] > 0
    # the enrolment photo was taken from the Firefox stream and the live face matched it
    steps = [r for r in records if r["type"] == "identity_step"]
    assert steps and steps[-1]["ok"] is True and steps[-1]["faces"] == 1
    assert "identity_mismatch" not in kinds and "multiple_faces" not in kinds, sorted(kinds)
    assert "speech" in kinds  # the clip's speech came through Firefox's audio track
    assert "speech" in result["warnings"]  # and the student was told, beside the questions


def test_browser_signals_and_the_drop_are_events(firefox_run):
    result, stores, _, _ = firefox_run
    sid = result["attempt"]["proctoring_session_id"]
    by_kind: dict[str, list] = {}
    for e in fold_events(e["record"] for e in stores.events.list(sid)):
        by_kind.setdefault(e["kind"], []).append(e)
    assert by_kind["tab_switch"][0]["duration"] >= 1.0
    actions = [e["evidence"]["details"].get("action") for e in by_kind["copy_paste"]]
    assert "copy" in actions and "paste" in actions  # Ctrl+C pressed in Firefox; the paste while offline
    devtools = [e["evidence"]["details"].get("heuristic") for e in by_kind["devtools"]]
    assert "shortcut" in devtools
    assert "window_size" not in devtools  # leaving full screen resizes the window: not taken for docked tools
    if result["fullscreen"] is True:
        assert "fullscreen_exit" in by_kind
    lost = by_kind["stream_lost"]
    assert len(lost) == 2  # the dropped connection, then the page reload
    assert lost[0]["duration"] >= 3.0 and all(e["evidence"]["details"]["reconnected"] for e in lost)
    assert all(e["status"] == "closed" for events in by_kind.values() for e in events)


def test_recording_segments_verify(firefox_run):
    result, stores, _, _ = firefox_run
    sid = result["attempt"]["proctoring_session_id"]
    check = stores.recordings.verify_manifest(sid)
    assert check.ok, check.problems
    segments = stores.recordings.list(sid)
    assert len(segments) >= 4
    total = 0
    for seg in segments:
        with av.open(io.BytesIO(stores.recordings.get(sid, seg.index))) as c:
            total += sum(1 for _ in c.decode(video=0))
            assert c.streams.audio  # the microphone is recorded too
    assert total >= 100
