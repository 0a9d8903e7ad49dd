"""The review workspace end to end in headless Debian Chromium (Playwright): the whole app on uvicorn (SQLite),
a session made by a real engine run over a clip (imported with server.review.importer), the queue, the session
page (marks = stored events, clicking a mark moves the video), a decision that publishes the grade, live mode
(an event stored appears on the page within a second; message and end reach the session's chain and attempt),
access refusals, and tampering shown as failing on the page and in the export. Screenshots go to
test-artifacts/review_queue.png and review_session.png."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import select, update

from browsers import chromium, require_chromium, served, wait_until
from proctor.events import fold_events
from server.cluster.procs import free_port
from server.db.engine import transaction
from server.db.models import Attempt, Review, ReviewComment, SessionEvent
from server.settings import ServerSettings

from backend.tamper import attacker

from .demo import PASSWORDS, build

ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_dir):
    require_chromium()
    from server.app import create_app

    tmp = tmp_path_factory.mktemp("review")
    port = free_port()
    settings = ServerSettings(data_dir=tmp / "data", webhooks_enabled=False, live_workers=1, log_level="WARNING",
                              seed_demo=True, demo_passwords={r: PASSWORDS[r][1] for r in ("student", "proctor")},
                              host="127.0.0.1", port=port)
    app = create_app(settings)
    with served(app, port) as url:
        world = build(app, data_dir, tmp / "analysis")
        world.url = url
        yield world


@pytest.fixture(scope="module")
def browser(server):
    with chromium(ARGS) as b:
        yield b


def _signed_in_page(browser, server, who: str, path: str):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")  # the pages' own CSP
    page = ctx.new_page()
    page.goto(server.url + path)
    page.wait_for_selector("#signin:not([hidden])")
    email, password = PASSWORDS[who]
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#signin-btn")
    return ctx, page


def _stored_events(server, sid):
    return fold_events(e["record"] for e in server.stores.events.list(sid))


def test_queue_lists_the_session_worst_first(browser, server, artifacts_dir):
    ctx, page = _signed_in_page(browser, server, "proctor", "/review/")
    page.wait_for_selector("body[data-loaded='1']")
    row = page.locator(f"#queue-rows tr[data-session='{server.session_id}']")
    row.wait_for()
    chips = {c.get_attribute("data-kind"): int(c.get_attribute("data-count")) for c in row.locator(".chip").all()}
    stored = _stored_events(server, server.session_id)
    expected = {}
    for e in stored:
        expected[e["kind"]] = expected.get(e["kind"], 0) + 1
    assert chips == expected and "multiple_faces" in chips
    scores = [r.get_attribute("data-score") for r in page.locator("#queue-rows tr").all()]
    numeric = [float(s) for s in scores if s]
    assert numeric == sorted(numeric)  # worst first
    # the live session is listed as in progress
    page.locator(f"#live-rows tr[data-session='{server.live_session_id}']").wait_for()
    # three languages
    page.select_option("#lang", "kk")
    assert page.text_content("h1") == "Прокторлық тексеру"
    page.select_option("#lang", "ru")
    assert page.text_content("h1") == "Проверка прокторинга"
    page.select_option("#lang", "en")
    page.screenshot(path=str(artifacts_dir / "review_queue.png"), full_page=True)
    ctx.close()


def test_session_marks_match_the_store_and_clicking_moves_the_video(browser, server, artifacts_dir):
    ctx, page = _signed_in_page(browser, server, "proctor", f"/review/session?id={server.session_id}")
    page.wait_for_selector("body[data-loaded='1']")
    marks = page.eval_on_selector_all("#timeline .mark", "els => els.map(e => ({id: e.dataset.id, kind: e.dataset.kind,"
                                      " start: +e.dataset.start, end: e.dataset.end === '' ? null : +e.dataset.end,"
                                      " severity: e.dataset.severity}))")
    stored = _stored_events(server, server.session_id)
    assert sorted(marks, key=lambda m: m["id"]) == sorted(
        ({"id": e["id"], "kind": e["kind"], "start": e["start"], "end": e["end"], "severity": e["severity"]}
         for e in stored), key=lambda m: m["id"])
    assert page.get_attribute("#verify-chain", "data-ok") == "true"
    assert page.get_attribute("#verify-recording", "data-ok") == "true"
    wait_until(page, "document.getElementById('video').readyState >= 1", 20)
    duration = page.evaluate("document.getElementById('video').duration")
    assert abs(duration - 10.0) < 0.7
    target = max((e for e in stored if e["kind"] == "multiple_faces"), key=lambda e: e["start"])
    page.click(f"#timeline .mark[data-id='{target['id']}']")
    wait_until(page, f"Math.abs(document.getElementById('video').currentTime - {target['start']}) < 0.5", 10)
    # the plots are drawn from the stored series and the identity section shows photo and check frames
    assert page.locator("#plots path[data-series='yaw']").count() == 1
    assert page.locator("#plots circle").count() >= 1  # identity checks
    page.locator("#identity figure.enrolment img").wait_for()
    wait_until(page, "[...document.querySelectorAll('#identity img')].every(i => i.complete && i.naturalWidth > 0)")
    wait_until(page, "[...document.querySelectorAll('#events img')].every(i => i.complete && i.naturalWidth > 0)")
    wait_until(page, "document.getElementById('video').readyState >= 2 && !document.getElementById('video').seeking")
    assert page.is_hidden("#live-badge") and page.is_hidden("#live-panel")  # an ended session
    page.wait_for_timeout(400)
    page.screenshot(path=str(artifacts_dir / "review_session.png"), full_page=True)
    ctx.close()


def test_a_decision_verifies_and_publishes_the_grade(browser, server):
    ctx, page = _signed_in_page(browser, server, "proctor", f"/review/session?id={server.session_id}")
    page.wait_for_selector("body[data-loaded='1']")
    assert page.get_attribute("#grade", "data-status") != "published"
    wait_until(page, "document.getElementById('video').readyState >= 1", 20)
    # the clip's sound (a rap performance and its audience) is an audio event: the proctor comments on its mark
    audio = next(e for e in _stored_events(server, server.session_id) if e["kind"] in ("speech", "noise"))
    page.click(f"#timeline .mark[data-kind='{audio['kind']}']")
    page.fill("#comment", "the stage's sound, not the student")
    page.click("#add-comment")
    page.check("input[name=decision][value=verify]")
    page.fill("#reason", "stage recording, nothing suspicious from the student")
    page.click("#decide")
    page.wait_for_selector("#attempt-state[data-state='verified']")
    assert page.get_attribute("#grade", "data-status") == "published"
    with transaction(server.factory) as db:
        attempt = db.get(Attempt, server.attempt_id)
        assert attempt.state == "verified" and attempt.score is not None
        grade = httpx.get(server.url + f"/api/review/sessions/{server.session_id}",
                          headers=server.h("proctor")).json()["attempt"]["grade"]
        assert grade["status"] == "published" and grade["score"] == attempt.score
        review = db.execute(select(Review).where(Review.attempt_id == attempt.id)).scalar_one()
        assert review.decision == "verify" and review.from_state == "submitted"
        comment = db.execute(select(ReviewComment).where(ReviewComment.review_id == review.id)).scalar_one()
        first = min((e for e in _stored_events(server, server.session_id) if e["kind"] == audio["kind"]),
                    key=lambda e: e["start"])
        assert abs(comment.t - first["start"]) < 0.5
    assert page.locator("#decision-log li[data-decision='verify']").count() == 1
    ctx.close()


def test_stream_quality_has_its_own_lane_and_is_not_scored(browser, server, artifacts_dir):
    """What the live server records of the stream's quality (server/live/quality.py: measured; the page's report)
    is drawn on a lane of its own, in the proctor's language, with the note that it is context, not misconduct."""
    sid = server.live_session_id
    common = {"type": "event", "status": "closed", "confidence": 1.0, "message": "", "thresholds": {},
              "model_versions": {}, "severity": "low"}
    server.stores.events.append_many(sid, [
        {**common, "id": "stream_poor-1", "kind": "stream_poor", "start": 1.0, "end": 9.0, "duration": 8.0,
         "source": "server", "evidence": {"details": {"measured_by": "server", "kbps": 62.5, "fps": 14.9, "width": 160,
                                                      "height": 120, "reasons": ["bitrate", "frame_size"]}}},
        {**common, "id": "stream_poor-2", "kind": "stream_poor", "start": 2.0, "end": 8.0, "duration": 6.0,
         "source": "browser", "evidence": {"details": {"rung": "half_size_10fps", "level": 3, "kbps": 60}}},
        {**common, "id": "uplink_changed-1", "kind": "uplink_changed", "start": 1.5, "end": 1.5, "duration": 0.0,
         "source": "browser", "evidence": {"details": {"rung": "half_size", "level": 2, "kbps": 180}}}])
    ctx, page = _signed_in_page(browser, server, "proctor", f"/review/session?id={sid}")
    page.wait_for_selector("body[data-loaded='1']")
    lane = page.locator("#timeline text[data-lane='stream_quality']")
    assert lane.text_content() == "stream quality"
    marks = {m.get_attribute("data-id"): m.get_attribute("data-source")
             for m in page.locator("#timeline .mark[data-lane='stream_quality']").all()}
    assert marks == {"stream_poor-1": "server", "stream_poor-2": "browser", "uplink_changed-1": "browser"}
    # one lane for the three, not a lane per kind as for the events the score counts
    assert page.locator("#timeline > text").count() == len({e["kind"] for e in _stored_events(server, sid)} - {
        "stream_poor", "uplink_changed"}) + 1 + page.locator("#timeline > text[text-anchor='middle']").count()
    title = page.locator("#timeline .mark[data-id='stream_poor-1'] title").text_content()
    assert "measured by the server" in title and "62.5 kbit/s" in title and "160×120" in title and "bit rate" in title
    assert page.is_visible("#timeline-note") and "never lowers the integrity score" in page.text_content("#timeline-note")
    page.locator("#timeline").screenshot(path=str(artifacts_dir / "review_stream_quality.png"))
    page.select_option("#lang", "ru")
    assert lane.text_content() == "качество потока" and "не снижает" in page.text_content("#timeline-note")
    page.select_option("#lang", "kk")
    assert lane.text_content() == "ағын сапасы"
    ctx.close()
    score = httpx.get(server.url + f"/api/review/sessions/{sid}", headers=server.h("proctor")).json()["score"]
    assert score is None or not {"stream_poor", "uplink_changed"} & set(score.get("breakdown") or {})


def test_live_events_appear_within_a_second_and_the_proctor_can_message_and_end(browser, server):
    sid = server.live_session_id
    # what the live hub writes for a room scan: the page's start/end, the worker's verdict event with its strip
    import hashlib

    import cv2
    import numpy as np

    strip = cv2.imencode(".jpg", np.full((60, 400, 3), 128, np.uint8))[1].tobytes()
    server.stores.recordings.blobs.put(f"{sid}/evidence/rs-1_room_strip.jpg", strip)
    server.stores.events.append_many(sid, [
        {"type": "room_scan", "phase": "start", "t": 0.5}, {"type": "room_scan", "phase": "end", "t": 2.5},
        {"type": "event", "id": "rs-1", "kind": "room_scan_incomplete", "status": "closed", "start": 0.5, "end": 2.5,
         "duration": 2.0, "severity": "low", "confidence": 1.0, "source": "room_scan", "message": "",
         "evidence": {"coverage_deg": 219.4, "reasons": ["coverage: 219 deg of the room seen in usable frames"],
                      "faces": [{"angle_deg": 96.7, "count": 1, "confirmed": True}],
                      "frames": [{"t": 2.5, "name": "rs-1_room_strip.jpg", "role": "room_strip",
                                  "sha256": hashlib.sha256(strip).hexdigest()}]},
         "thresholds": {}, "model_versions": {}},
        {"type": "room_scan_request", "reason": "event:multiple_faces", "t": 2.8}])
    ctx, page = _signed_in_page(browser, server, "proctor", f"/review/session?id={sid}")
    page.wait_for_selector("body[data-loaded='1']")
    page.wait_for_selector("#live-panel:not([hidden])")
    room = page.text_content("#room")
    assert "room scan incomplete" in room and "start" in room and "end" in room
    assert "219°" in room and "coverage: 219 deg" in room and "97°" in room and "event:multiple_faces" in room
    wait_until(page, "document.querySelector('#room img.room-strip')?.naturalWidth === 400")
    page.wait_for_timeout(500)  # the stream is open
    record = {"type": "event", "id": "live-tab-1", "kind": "tab_switch", "status": "closed", "start": 3.0, "end": 5.5,
              "duration": 2.5, "severity": "medium", "confidence": 1.0, "source": "browser", "message": "",
              "evidence": {"details": {}}, "thresholds": {}, "model_versions": {}}
    t0 = time.monotonic()
    server.stores.events.append(sid, record)
    page.wait_for_selector("#timeline .mark[data-id='live-tab-1']", timeout=3000)
    assert time.monotonic() - t0 < 1.0
    assert page.locator("#browser li[data-id='live-tab-1']").count() == 1
    page.fill("#msg", "Please stay on the exam page.")
    page.click("#send")
    wait_until(page, "document.getElementById('msg-status').textContent.length > 0")
    msgs = [e["record"] for e in server.stores.events.list(sid) if e["record"].get("type") == "proctor_message"]
    assert msgs and msgs[-1]["text"] == "Please stay on the exam page." and msgs[-1]["delivered"] is False
    page.on("dialog", lambda d: d.accept())
    page.fill("#end-reason", "second person in the room")
    page.click("#end")
    page.wait_for_selector("#attempt-state[data-state='submitted']")
    with transaction(server.factory) as db:
        assert db.get(Attempt, server.live_attempt_id).state == "submitted"
    assert server.stores.sessions.get(sid).status == "ended"
    ctx.close()


def test_students_and_other_colleges_are_refused(browser, server):
    for path in ("/review/", "/review/session", "/api/review/queue", f"/api/review/sessions/{server.session_id}",
                 f"/api/review/sessions/{server.session_id}/recording.webm",
                 f"/api/review/sessions/{server.session_id}/export.html"):
        r = httpx.get(server.url + path, headers=server.h("student"))
        assert r.status_code == 403, (path, r.status_code)
    for path in (f"/api/review/sessions/{server.session_id}", f"/api/review/sessions/{server.session_id}/signals",
                 f"/api/review/sessions/{server.session_id}/recording.webm",
                 f"/api/review/sessions/{server.session_id}/export.html",
                 f"/api/review/sessions/{server.session_id}/evidence/x.jpg"):
        r = httpx.get(server.url + path, headers=server.h("other_proctor"))
        assert r.status_code in (403, 404), (path, r.status_code)
    r = httpx.get(server.url + "/api/review/queue", headers=server.h("other_proctor"))
    assert r.status_code == 200 and r.json()["sessions"] == []
    r = httpx.post(server.url + f"/api/proctor/attempts/{server.attempt_id}/review",
                   json={"decision": "reject", "reason": "x"}, headers=server.h("other_proctor"))
    assert r.status_code == 404
    # a student who signs in on the page sees the refusal
    ctx, page = _signed_in_page(browser, server, "student", "/review/")
    page.wait_for_selector("#refused:not([hidden])")
    assert page.is_hidden("#main")
    ctx.close()


def test_tampering_fails_verification_on_the_page_and_in_the_export(browser, server):
    sid = server.session_id
    with attacker(server.factory) as db:  # below the ORM's guard, past the database's append-only triggers
        where = (SessionEvent.session_id == sid, SessionEvent.seq == 3)
        rec = dict(db.execute(select(SessionEvent.record).where(*where)).scalar_one())
        rec["tampered"] = True
        db.execute(update(SessionEvent).where(*where).values(record=rec))
    seg = [g for g in server.stores.recordings.list(sid) if g.kind == "video"][1]
    path = server.stores.recordings.blobs.path_for(seg.key)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    ctx, page = _signed_in_page(browser, server, "proctor", f"/review/session?id={sid}")
    page.wait_for_selector("body[data-loaded='1']")
    assert page.get_attribute("#verify-chain", "data-ok") == "false"
    assert "entry 3" in page.text_content("#verify-chain")
    assert page.get_attribute("#verify-recording", "data-ok") == "false"
    assert "sha256_mismatch" in page.text_content("#verify-recording")
    assert page.is_visible("#verify-warning")
    ctx.close()
    r = httpx.get(server.url + f"/api/review/sessions/{sid}/export.html", headers=server.h("proctor"))
    assert r.status_code == 200
    html = r.text
    chain_row = html[html.index('id="verify-chain"'):html.index('id="verify-recording"')]
    rec_row = html[html.index('id="verify-recording"'):html.index('id="verify-evidence"')]
    assert "FAILED" in chain_row and "entry 3" in chain_row
    assert "FAILED" in rec_row and "sha256_mismatch" in rec_row
    assert "data:image/jpeg;base64," in html and "<svg" in html  # self-contained: frames and plots inline
    # a still for every identity check the engine made (its schedule decides how many: at least the first one)
    view = httpx.get(server.url + f"/api/review/sessions/{sid}", headers=server.h("proctor")).json()
    series = httpx.get(server.url + f"/api/review/sessions/{sid}/signals", headers=server.h("proctor")).json()
    checks = [s for s in view["identity"]["steps"] if isinstance(s.get("t"), (int, float))]
    checks += [f for f in series.get("frames", []) if f.get("identity_distance") is not None]
    assert checks and html.count("identity check at") == min(6, len(checks)) and "enrolment photo" in html
    assert 'src="/' not in html and "href=\"/" not in html
