"""The student's whole proctored exam by keyboard alone, with axe-core on every step (see scenario_keyboard.py):
every step reached with Tab and acted on with keys, no serious or critical axe violation at 100 % or 200 % zoom,
live notices announced without taking the focus from the answer being typed, answers saved, the attempt
submitted with its checks done. Screenshots: test-artifacts/e2e-keyboard/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from server.db.engine import transaction
from server.db.models import Answer
from tests.browsers import require_chromium
from tests.live.e2e_site import VIDEO_MAX_KBPS, open_stores, run_scenario

HERE = Path(__file__).resolve().parent
VIDEO, AUDIO = "video/webcam_glasses_man_640x480.mjpeg", "audio/silence_roomtone.wav"
STEPS = ["signin", "consent", "devices", "identity", "room-scan", "exam", "exam-notices", "done"]


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_dir, artifacts_dir):
    require_chromium()
    out = tmp_path_factory.mktemp("e2e_keyboard")
    shots = artifacts_dir / "e2e-keyboard"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    result = run_scenario(HERE / "scenario_keyboard.py", out, shots, str(data_dir / VIDEO), str(data_dir / AUDIO),
                          keep_result=shots / "result.json")
    stores, factory = open_stores(out)
    return result, stores, factory


def test_every_step_by_keyboard_alone(run):
    result, _, _ = run
    assert [s["step"] for s in result["timeline"]] == STEPS
    assert result["mouse_used"] is False
    keys = set(result["keys"])
    assert keys <= {"Tab", "Enter", "Space", "ArrowDown", "End"} | {k for k in keys if k.startswith("type:")}
    assert result["focus_after_signin"] == "consent-h"  # each step moves the focus to its heading
    assert result["dialog_focus"] in ("confirm-yes", "confirm-no")  # the submit dialog takes the focus in
    assert result["attempt"]["state"] in ("submitted", "verified", "second_review_required", "rejected")
    assert result["attempt"]["identity_verified"] and result["attempt"]["room_scanned"]


def test_axe_finds_nothing_serious_on_any_step_at_100_and_200_percent(run):
    result, _, _ = run
    assert set(result["axe"]) == set(STEPS)
    assert {k: v for k, v in result["axe"].items() if v} == {}
    assert {k: v for k, v in result["zoom"].items() if v} == {}


def test_live_notices_are_announced_without_taking_the_focus(run):
    result, _, _ = run
    assert result["focus"]["before"] == result["focus"]["after"] and result["focus"]["after"].endswith("-text")
    live = result["warnings_live"]
    assert live["role"] == "log" and live["live"] in ("polite", "assertive")
    assert any("hands visible" in x for x in live["items"]) and any("Room scan requested" in x for x in live["items"])
    assert result["rescan_request"] == 200


def test_answers_typed_by_keyboard_were_saved(run):
    result, _, factory = run
    with transaction(factory) as db:
        answers = {a.question_id: a.response for a in db.query(Answer).filter(Answer.attempt_id == result["attempt"]["id"])}
    by_kind: dict[str, int] = {}
    for q in result["questions"]:  # the first question of each kind is the one answered
        by_kind.setdefault(q["kind"], q["id"])
    assert answers[by_kind["single_choice"]] == 1 and answers[by_kind["multiple_choice"]] == [1]
    assert answers[by_kind["short_text"]] == "def x"


def test_the_camera_stream_follows_the_uplink(run):
    result, _, _ = run
    up = result["uplink"]
    assert up is not None and up["ceiling"] == VIDEO_MAX_KBPS  # read from the server's answer (b=AS)
    assert up["samples"] and all(s["kbps"] is None or s["kbps"] > 0 for s in up["samples"])
    applied, last = up["applied"], up["samples"][-1]
    # what was asked of the sender is the rung's and never above the server's ceiling; the encoder keeps to it
    assert applied["level"] == up["level"] and applied["maxBitrate"] <= VIDEO_MAX_KBPS * 1000
    assert (applied["scaleResolutionDownBy"], applied["maxFramerate"]) == {0: (1, 15), 1: (1, 15), 2: (2, 15), 3: (2, 10)}[up["level"]]
    assert last["width"] <= 640 / applied["scaleResolutionDownBy"]
    # an estimate at the server's ceiling is not a poor uplink: the whole picture is sent
    judged = [s for s in up["samples"] if s["t"] >= 6 and s["kbps"] is not None]
    if judged and all(s["kbps"] >= 0.9 * VIDEO_MAX_KBPS for s in judged):
        assert up["level"] == 0 and up["banner"] is None
    # the student is told: the picture lowered, or the connection too poor for a fair exam
    expected = "uplink.too_poor" if up["too_poor"] else ("uplink.lowered" if up["level"] > 0 else None)
    assert up["banner"] in ((expected,) if expected != None else (None, "uplink.recovered"))
