"""The server decides (issue 11), on SQLite and PostgreSQL: answers are refused (409 ``proctoring_interrupted``)
while a proctored attempt has no live proctoring, until a proctor allows it (recorded in the chain); a running
session's provisional score is stored and shown as such, and never overwrites the final one."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from proctor.settings import EngineSettings
from server.db.base import utcnow
from server.live.session import end_scored, score_provisional
from server.storage import SqlEventStore, SqlSessionStore


def _started(client, world, who: str = "alice") -> tuple[int, str, int]:
    """A started proctored attempt: (attempt id, session id, first question id)."""
    H = world.h(who)
    a = client.post(f"/api/student/exams/{world.exam_id}/attempts", headers=H).json()
    client.post(f"/api/proctor/attempts/{a['id']}/checks", headers=world.h("proctor"),
                json={"identity_verified": True, "room_scanned": True})
    assert client.post(f"/api/student/attempts/{a['id']}/start", headers=H).status_code == 200
    qid = client.get(f"/api/student/attempts/{a['id']}/questions", headers=H).json()["questions"][0]["id"]
    return a["id"], a["proctoring_session_id"], qid


def test_answers_need_live_proctoring_or_a_proctors_leave(client, world, factory) -> None:
    aid, sid, qid = _started(client, world)
    H = world.h("alice")
    sessions, events = SqlSessionStore(factory), SqlEventStore(factory)

    def save():
        return client.put(f"/api/student/attempts/{aid}/answers/{qid}", headers=H, json={"response": 1})

    sessions.mark_live(sid, "node-1")
    assert save().status_code == 200
    sessions.stream_lost(sid, at=utcnow() - timedelta(seconds=10))  # within the grace period (120 s)
    assert save().status_code == 200
    sessions.mark_live(sid, "node-1")
    sessions.stream_lost(sid, at=utcnow() - timedelta(seconds=300))  # past it
    r = save()
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "proctoring_interrupted" and "grace" in err["message"]
    assert err["details"] == {"reason": err["details"]["reason"], "session_id": sid, "session_status": "stream_lost"}
    sessions.end(sid, status="error")  # the grace period ended: the session ended
    r = save()
    assert r.status_code == 409 and r.json()["error"]["details"]["session_status"] == "error"
    # only a proctor can allow it, with a reason
    assert client.post(f"/api/proctor/attempts/{aid}/allow-unproctored", headers=H,
                       json={"reason": "x"}).status_code == 403
    assert client.post(f"/api/proctor/attempts/{aid}/allow-unproctored", headers=world.h("proctor"),
                       json={"reason": ""}).status_code == 422
    r = client.post(f"/api/proctor/attempts/{aid}/allow-unproctored", headers=world.h("proctor"),
                    json={"reason": "camera broken, watched by phone"})
    assert r.status_code == 200 and r.json()["attempt"]["state"] == "started"
    entry = events.list(sid)[r.json()["seq"]]
    assert entry["record"]["type"] == "unproctored_allowed" and entry["record"]["reason"] == "camera broken, watched by phone"
    assert entry["record"]["by"].startswith("user:") and events.verify(sid).ok
    assert save().status_code == 200
    # once submitted, nothing more to allow
    assert client.post(f"/api/student/attempts/{aid}/submit", headers=H).status_code == 200
    r = client.post(f"/api/proctor/attempts/{aid}/allow-unproctored", headers=world.h("proctor"), json={"reason": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "illegal_transition"


def test_a_running_session_has_a_provisional_score_and_the_final_one_stays(client, world, factory) -> None:
    aid, sid, _ = _started(client, world)
    stores = SimpleNamespace(sessions=SqlSessionStore(factory), events=SqlEventStore(factory))
    stores.sessions.mark_live(sid, "node-1")
    stores.events.append_many(sid, [
        {"type": "event", "id": "e1", "kind": "multiple_faces", "status": "open", "start": 5.0, "end": None,
         "duration": None, "severity": "high", "confidence": 0.9, "source": "video"}])
    score = score_provisional(stores, sid, EngineSettings(), 60.0)
    assert score is not None and score.score < 100.0 and "multiple_faces" in score.breakdown
    state = stores.sessions.get(sid)
    assert state.score_provisional and state.integrity_score == score.score and state.status == "live"
    row = next(r for r in client.get("/api/review/queue", params={"status": "live"},
                                      headers=world.h("proctor")).json()["sessions"] if r["id"] == sid)
    assert row["score_provisional"] is True and row["integrity_score"] == score.score
    report = client.get(f"/api/v1/attempts/{aid}", headers=world.h("api")).json()["integrity"]["session"]
    assert report["score_provisional"] is True and report["integrity_score"] == score.score
    final = end_scored(stores, sid, EngineSettings(), 120.0, "ended", reason="the attempt was submitted")
    assert final is not None and final.duration_s == 120.0
    assert score_provisional(stores, sid, EngineSettings(), 130.0) is None  # ended: the final score stays
    state = stores.sessions.get(sid)
    assert not state.score_provisional and state.integrity_score == final.score and state.status == "ended"
    view = client.get(f"/api/review/sessions/{sid}", headers=world.h("proctor")).json()
    assert view["score"]["provisional"] is False and view["score_provisional"] is False



def test_a_silent_node_means_no_proctoring(client, world, factory) -> None:
    """The node serving a session died: answers are refused once its silence outlasts the grace period."""
    aid, sid, qid = _started(client, world)
    sessions = SqlSessionStore(factory)
    sessions.mark_live(sid, "node-gone", at=utcnow() - timedelta(seconds=20))

    def save():
        return client.put(f"/api/student/attempts/{aid}/answers/{qid}", headers=world.h("alice"), json={"response": 1})

    assert save().status_code == 200  # within the 120 s grace period
    sessions.heartbeat(sid, "node-gone", at=utcnow() - timedelta(seconds=400))
    r = save()
    assert r.status_code == 409 and r.json()["error"]["code"] == "proctoring_interrupted"
    assert r.json()["error"]["details"]["session_status"] == "live"
