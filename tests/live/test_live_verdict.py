"""A live exam's verdict through the public API with real aiortc clients in a loopback netns (scenario_verdict.py):
scored live (provisional) and at the end (final) on the review queue, the session view and the college API's
attempt report; the page asks, the server decides; browser signals bounded; answers refused without proctoring."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from proctor.events import fold_events
from proctor.recorder import score_records
from proctor.settings import EngineSettings
from tests.live.e2e_site import open_stores

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("live_verdict")
    proc = subprocess.run(
        [sys.executable, str(HERE / "scenario_verdict.py"), str(out),
         str(data_dir / "video/two_people_dinner_640x480.mjpeg"), str(data_dir / "video/webcam_glasses_man_640x480.mjpeg")],
        capture_output=True, text=True, timeout=400)
    result_file = out / "result.json"
    if not result_file.is_file():
        pytest.fail(f"the verdict scenario did not finish (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    result = json.loads(result_file.read_text())
    if not result.get("ok"):
        pytest.fail(f"the verdict scenario failed:\n{result.get('error')}\nserver log: {proc.stderr[-3000:]}")
    stores, _factory = open_stores(out)
    return result, stores


def _records(stores, sid: str) -> list[dict]:
    return [e["record"] for e in stores.events.list(sid)]


def test_a_page_cannot_end_the_exam(run):
    result, stores = run
    m = result["multi"]
    assert m["refused"]["request"] == "exam_state"
    assert m["status_after_page_submit"] == "live"  # the session went on
    assert m["answer_while_live"] == 200
    refused = [r for r in _records(stores, m["session_id"]) if r["type"] == "page_request_refused"]
    assert any(r["request"] == "exam_state" and r["state"] == "submitted" for r in refused)
    assert any(r["request"] == "exam_state" for r in m["view"]["page_requests_refused"])
    # the attempt's submit API ended it (the server's path): the page was told, the attempt is submitted
    assert m["submit"] == 200 and m["finished"]["reason"] == "the attempt was submitted"
    assert m["college"]["state"] == "submitted"


def test_live_sessions_end_scored_on_the_queue_the_view_and_the_college_report(run):
    result, stores = run
    for name in ("multi", "single"):
        r = result[name]
        sid = r["session_id"]
        state = stores.sessions.get(sid)
        records = _records(stores, sid)
        end = [x for x in records if x["type"] == "session_end"]
        assert len(end) == 1 and records[-1] == end[0]
        start = next(x for x in records if x["type"] == "session_start")
        # the final score is the offline code's, from the stored chain
        again = score_records(records[:-1], end[0]["duration_s"], EngineSettings.model_validate(start["settings"]))
        assert state.status == "ended" and state.integrity_score == again.score == end[0]["score"]["score"]
        assert not state.score_provisional
        row = r["queue_row"]
        assert isinstance(row["integrity_score"], float) and row["integrity_score"] == state.integrity_score
        assert row["score_provisional"] is False and row["score_recommendation"] == state.score_recommendation
        assert r["view"]["score"]["score"] == state.integrity_score and r["view"]["score"]["provisional"] is False
        s = r["college"]["integrity"]["session"]
        assert s["integrity_score"] == state.integrity_score and s["score_provisional"] is False
        assert s["score_recommendation"] == state.score_recommendation
        assert s["score_breakdown"] == state.score_breakdown
        assert s["chain"]["ok"] is True
        assert s["chain_head"] == {"seq": len(records) - 1, "hash": stores.events.list(sid)[-1]["hash"]}
        kinds = {e["kind"] for e in fold_events(records)}
        assert s["counts"] == {k: sum(1 for e in fold_events(records) if e["kind"] == k) for k in kinds}
    multi, single = result["multi"]["college"]["integrity"]["session"], result["single"]["college"]["integrity"]["session"]
    assert multi["counts"].get("multiple_faces", 0) >= 1 and "multiple_faces" in multi["score_breakdown"]
    assert "multiple_faces" not in single["counts"] and "multiple_faces" not in single["score_breakdown"]
    assert multi["integrity_score"] < single["integrity_score"]


def test_a_running_session_has_a_provisional_score_in_the_live_queue_and_view(run):
    result, _ = run
    for name in ("multi", "single"):
        row = result[name]["live_row"]
        assert row is not None and row["live"] is True
        assert isinstance(row["integrity_score"], float) and row["score_provisional"] is True
        view = result[name]["live_view"]
        assert view["score"]["provisional"] is True and view["score"]["score"] == pytest.approx(
            view["integrity_score"])


def test_a_burst_of_browser_signals_is_one_event_with_its_count(run):
    result, stores = run
    events = [e for e in fold_events(_records(stores, result["multi"]["session_id"])) if e["kind"] == "copy_paste"]
    assert len(events) == 1, events
    details = events[0]["evidence"]["details"]
    assert details["count"] == 200
    assert len(details["text"]) == 200 and details["truncated"] is True  # live_signal_detail_chars


def test_identity_check_requests_are_rate_limited_and_recorded(run):
    result, stores = run
    limited = result["multi"]["rate_limited"]
    assert limited["request"] == "identity_check" and limited["retry_after_s"] > 0
    records = _records(stores, result["multi"]["session_id"])
    refused = [r for r in records if r["type"] == "page_request_refused" and r["request"] == "identity_check"]
    assert len(refused) == 1 and refused[0]["reason"] == "rate_limited" and refused[0]["count"] == 4  # 6 asked, 2 a minute
    assert sum(1 for r in records if r["type"] == "identity_step") == 2


def test_answers_are_refused_without_proctoring_until_a_proctor_allows_it(run):
    result, stores = run
    lost = result["lost"]
    assert lost["answer_live"] == 200
    refused = lost["refused"]
    assert refused["status"] == 409 and refused["error"]["code"] == "proctoring_interrupted"
    assert refused["error"]["details"]["session_status"] == "error"
    assert "grace" in refused["error"]["message"] or "ended" in refused["error"]["message"] \
        or "failed" in refused["error"]["message"]
    assert lost["allowed"]["status"] == 200 and lost["allowed"]["attempt"]["state"] == "started"
    assert lost["answer_after_allow"] == 200
    sid = lost["session_id"]
    state = stores.sessions.get(sid)
    assert state.status == "error" and state.integrity_score is not None and not state.score_provisional
    allowed = [r for r in _records(stores, sid) if r["type"] == "unproctored_allowed"]
    assert len(allowed) == 1 and allowed[0]["reason"].startswith("the student's camera broke")
    assert any(a.get("type") == "unproctored_allowed" for a in lost["view"]["proctor_actions"])
