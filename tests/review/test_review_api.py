"""The review API on SQLite and PostgreSQL, with sessions written the way the live server writes them (event
records, recording_segment records + manifest, evidence in the blob store): the queue's order, filters and
counts; the session view and its verifications; decisions through the backend's rules; access; export."""

from __future__ import annotations

import hashlib
import io
from fractions import Fraction

import av
import numpy as np
from sqlalchemy import select, update

from server.db.engine import transaction
from server.db.models import Attempt, ProctoringSession, SessionEvent

from backend.conftest import make_proctoring_session
from backend.tamper import attacker


def _segment(seconds: float = 1.0, fps: int = 10) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="webm") as c:
        v = c.add_stream("libvpx", rate=fps)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i in range(int(seconds * fps)):
            img = np.full((48, 64, 3), (i * 20) % 255, np.uint8)
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts, f.time_base = i, Fraction(1, fps)
            for p in v.encode(f):
                c.mux(p)
        for p in v.encode(None):
            c.mux(p)
    return buf.getvalue()


def _event(i: int, kind: str, start: float, end: float, severity: str = "high", frames=None) -> dict:
    return {"type": "event", "id": f"e{i}", "kind": kind, "status": "closed", "start": start, "end": end,
            "duration": end - start, "severity": severity, "confidence": 0.9, "source": "video", "message": "",
            "evidence": {"frames": frames or []}, "thresholds": {}, "model_versions": {}}


def _live_like_session(app, factory, world, student, score, kinds, state="submitted"):
    attempt_id, sid = make_proctoring_session(factory, world, student, state=state)
    stores = app.state.stores
    jpeg = b"\xff\xd8fake-jpeg\xff\xd9"
    stores.recordings.blobs.put(f"{sid}/evidence/f0.jpg", jpeg)
    frames = [{"name": "f0.jpg", "sha256": hashlib.sha256(jpeg).hexdigest(), "t": 0.5}]
    records = [_event(i, k, i * 0.5, i * 0.5 + 0.4, frames=frames if i == 0 else None) for i, k in enumerate(kinds)]
    # the series an event carries as evidence (what the live engine writes; no stored series in live sessions)
    records[0]["evidence"]["series"] = [{"t": 0.1, "faces": 1, "yaw": 2.0}, {"t": 0.3, "faces": 2, "yaw": 5.0}]
    stores.events.append_many(sid, records)
    for idx in range(2):
        data = _segment()
        info = stores.recordings.put_segment(sid, idx, "video", data, t_start=float(idx), t_end=idx + 1.0, ext="webm")
        stores.events.append(sid, {"type": "recording_segment", "index": idx, "kind": "video", "key": info.key,
                                   "sha256": info.sha256, "bytes": len(data), "start": float(idx), "end": idx + 1.0})
    stores.events.append(sid, {"type": "room_scan", "phase": "start", "t": 0.2})
    stores.sessions.mark_live(sid, "node")
    stores.sessions.end(sid, integrity_score=score)
    return attempt_id, sid


def test_queue_order_filters_counts_and_access(app, client, factory, world):
    _, worse = _live_like_session(app, factory, world, "alice", 40.0, ["multiple_faces", "speech", "speech"])
    _, better = _live_like_session(app, factory, world, "bob", 90.0, ["noise"])
    r = client.get("/api/review/queue", headers=world.h("proctor"))
    assert r.status_code == 200
    rows = r.json()["sessions"]
    assert [x["id"] for x in rows] == [worse, better]
    assert rows[0]["counts"] == {"multiple_faces": 1, "speech": 2} and rows[1]["counts"] == {"noise": 1}
    q = client.get(f"/api/review/queue?exam_id={world.exam_id}&course_id={world.course_id}&date_from=2000-01-01",
                   headers=world.h("proctor")).json()["sessions"]
    assert len(q) == 2
    assert client.get("/api/review/queue?date_to=2000-01-01", headers=world.h("proctor")).json()["sessions"] == []
    assert client.get("/api/review/queue?status=verified", headers=world.h("proctor")).json()["sessions"] == []
    assert client.get("/api/review/queue?status=bogus", headers=world.h("proctor")).status_code == 422
    assert client.get(f"/api/review/queue?college_id={world.other_college_id}",
                      headers=world.h("proctor")).status_code == 404
    # access: students and teachers 403, another college's proctor sees nothing and gets 404 on the session
    for who in ("alice", "teacher"):
        assert client.get("/api/review/queue", headers=world.h(who)).status_code == 403
        assert client.get(f"/api/review/sessions/{worse}", headers=world.h(who)).status_code == 403
        assert client.get("/review/", headers=world.h(who)).status_code == 403
    assert client.get("/api/review/queue", headers=world.h("other_proctor")).json()["sessions"] == []
    for path in ("", "/signals", "/recording.webm", "/export.html", "/frame.jpg?t=0.5", "/evidence/f0.jpg"):
        assert client.get(f"/api/review/sessions/{worse}{path}", headers=world.h("other_proctor")).status_code == 404
    assert client.get("/review/").status_code == 200  # not signed in: the page shows its sign-in form
    assert client.get("/api/review/queue").status_code == 401


def test_session_view_recording_and_tampering(app, client, factory, world):
    attempt_id, sid = _live_like_session(app, factory, world, "alice", 40.0, ["multiple_faces", "tab_switch"])
    h = world.h("proctor")
    v = client.get(f"/api/review/sessions/{sid}", headers=h).json()
    assert v["verification"]["chain"]["ok"] and v["verification"]["recording"]["ok"]
    assert v["verification"]["evidence"] == {"ok": True, "checked": 1, "problems": []}
    assert [e["kind"] for e in v["events"]] == ["multiple_faces", "tab_switch"]
    assert [e["kind"] for e in v["browser_events"]] == ["tab_switch"]
    assert v["room_scan"]["records"][0]["phase"] == "start"
    series = client.get(f"/api/review/sessions/{sid}/signals", headers=h).json()
    assert series["source"] == "event_evidence" and [f["faces"] for f in series["frames"]] == [1, 2]
    # the recording as one stream in session time
    r = client.get(f"/api/review/sessions/{sid}/recording.webm", headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "video/webm"
    with av.open(io.BytesIO(r.content)) as c:
        times = [f.time for f in c.decode(video=0)]
    assert len(times) == 20 and abs(times[0]) < 0.01 and abs(times[10] - 1.0) < 0.01 and times == sorted(times)
    assert client.get(f"/api/review/sessions/{sid}/frame.jpg?t=1.5", headers=h).content[:2] == b"\xff\xd8"
    assert client.get(f"/api/review/sessions/{sid}/evidence/f0.jpg", headers=h).status_code == 200
    # tamper: an event record edited in the database, a segment's bytes and an evidence frame altered
    with attacker(factory) as db:  # below the ORM's guard, past the database's append-only triggers
        where = (SessionEvent.session_id == sid, SessionEvent.seq == 1)
        record = db.execute(select(SessionEvent.record).where(*where)).scalar_one()
        db.execute(update(SessionEvent).where(*where).values(record={**record, "severity": "low"}))
    blobs = app.state.stores.recordings.blobs
    seg = app.state.stores.recordings.list(sid)[0]
    data = bytearray(blobs.get(seg.key))
    data[-5] ^= 0x01
    blobs.put(seg.key, bytes(data))
    blobs.put(f"{sid}/evidence/f0.jpg", b"other")
    v = client.get(f"/api/review/sessions/{sid}", headers=h).json()
    assert v["verification"]["chain"]["ok"] is False and v["verification"]["chain"]["first_bad_seq"] == 1
    assert [p["problem"] for p in v["verification"]["recording"]["problems"]] == ["sha256_mismatch"]
    assert v["verification"]["evidence"]["ok"] is False
    html = client.get(f"/api/review/sessions/{sid}/export.html", headers=h).text
    assert html.count("FAILED") >= 3 and "failed verification" in html


def test_decisions_follow_the_backend_rules(app, client, factory, world):
    attempt_id, sid = _live_like_session(app, factory, world, "alice", 70.0, ["speech"])
    from server.services.attempts import regrade

    with transaction(factory) as db:
        regrade(db, db.get(Attempt, attempt_id))  # graded on submission (no answers: 0 points)
    assert client.get(f"/api/review/sessions/{sid}", headers=world.h("proctor")).json()["attempt"]["grade"]["status"] \
        != "published"
    r = client.post(f"/api/proctor/attempts/{attempt_id}/review", headers=world.h("proctor"),
                    json={"decision": "second_review", "reason": "unclear voices",
                          "comments": [{"t": 0.2, "text": "listen here"}]})
    assert r.status_code == 201 and r.json()["attempt"]["state"] == "second_review_required"
    # the same proctor cannot make the second review; another one verifies and the grade is published
    assert client.post(f"/api/proctor/attempts/{attempt_id}/review", headers=world.h("proctor"),
                       json={"decision": "verify"}).status_code == 409
    r = client.post(f"/api/proctor/attempts/{attempt_id}/review", headers=world.h("proctor2"), json={"decision": "verify"})
    assert r.status_code == 201 and r.json()["attempt"]["grade"]["status"] == "published"
    v = client.get(f"/api/review/sessions/{sid}", headers=world.h("proctor")).json()
    assert [x["decision"] for x in v["reviews"]] == ["second_review", "verify"]
    assert v["comments"][0]["t"] == 0.2 and v["attempt"]["state"] == "verified"
    html = client.get(f"/api/review/sessions/{sid}/export.html", headers=world.h("proctor")).text
    assert "second_review" in html and "listen here" in html and 'id="attempt-state">verified<' in html


def test_ending_a_live_attempt_without_a_connection(app, client, factory, world):
    attempt_id, sid = make_proctoring_session(factory, world, "alice", state="started")
    app.state.stores.sessions.mark_live(sid, "node")
    r = client.post(f"/api/review/sessions/{sid}/message", headers=world.h("proctor"), json={"text": "hello"})
    assert r.status_code == 200 and r.json()["delivered"] is False
    assert client.post(f"/api/review/sessions/{sid}/end", headers=world.h("alice"), json={"reason": "x"}).status_code == 403
    assert client.post(f"/api/review/sessions/{sid}/end", headers=world.h("other_proctor"),
                       json={"reason": "x"}).status_code == 404
    r = client.post(f"/api/review/sessions/{sid}/end", headers=world.h("proctor"), json={"reason": "a second person"})
    assert r.status_code == 200 and r.json() == {"attempt_state": "submitted", "connected": False}
    with transaction(factory) as db:
        assert db.get(Attempt, attempt_id).state == "submitted"
        assert db.get(ProctoringSession, sid).status == "ended"
    kinds = [e["record"]["type"] for e in app.state.stores.events.list(sid)]
    assert kinds == ["proctor_message", "proctor_end", "session_end"]  # scored from its chain, as live ones are
    state = app.state.stores.sessions.get(sid)
    assert state.integrity_score == 100.0 and state.score_recommendation == "clean"
    assert client.get(f"/api/review/sessions/{sid}", headers=world.h("proctor")).json()["score"]["score"] == 100.0
    assert client.post(f"/api/review/sessions/{sid}/message", headers=world.h("proctor"),
                       json={"text": "late"}).status_code == 409


def test_proctor_asks_for_a_room_scan(app, client, factory, world):
    _attempt_id, sid = make_proctoring_session(factory, world, "alice", state="started")
    app.state.stores.sessions.mark_live(sid, "node")
    url = f"/api/review/sessions/{sid}/room-scan"
    assert client.post(url, headers=world.h("alice")).status_code == 403
    assert client.post(url, headers=world.h("other_proctor")).status_code == 404
    assert client.post(url, headers=world.h("proctor")).json() == {"delivered": False}  # no live connection here

    class Hub:  # the live hub's side: LiveHub.request_room_scan sends room_scan_request and records it
        def __init__(self):
            self.sessions, self.asked = {sid: object()}, []

        def request_room_scan(self, session_id, reason):
            self.asked.append((session_id, reason))
            return True

    old, app.state.live_hub = getattr(app.state, "live_hub", None), Hub()
    try:
        r = client.post(url, headers=world.h("proctor"))
        assert r.status_code == 200 and r.json() == {"delivered": True}
        ((asked_sid, reason),) = app.state.live_hub.asked
        assert asked_sid == sid and reason.startswith("proctor:user:")
    finally:
        app.state.live_hub = old
    client.post(f"/api/review/sessions/{sid}/end", headers=world.h("proctor"), json={"reason": "done"})
    assert client.post(url, headers=world.h("proctor")).status_code == 409
