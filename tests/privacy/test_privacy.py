"""Law 94-V: the retention job (deletes when a college's period ends, records it, safe on several nodes),
consents, and a student's export and erasure through the college API. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import (
    Attempt, DeletionRecord, Exam, IdentityEnrolment, ProctoringSession, RecordingSegment, RetentionPolicy, User,
)
from server.privacy import retention
from server.storage.events import append_in
from server.storage.recordings import SqlRecordingStore

from .conftest import World


def _session(factory: Any, world: World, student: str, course_id: int) -> tuple[int, str]:
    now = utcnow()
    with transaction(factory) as db:
        exam = Exam(course_id=course_id, title="Attestation", type="intermediate_attestation",
                    opens_at=now - timedelta(days=90), closes_at=now, time_limit_min=30, proctored=True)
        db.add(exam)
        db.flush()
        a = Attempt(exam_id=exam.id, student_id=world.users[student], number=1, state="verified")
        db.add(a)
        db.flush()
        ps = ProctoringSession(attempt_id=a.id)
        db.add(ps)
        db.flush()
        return a.id, ps.id


def _material(factory: Any, blobs: Any, world: World, student: str = "alice", decided_days_ago: float = 40,
              template_days_ago: float = 20) -> dict[str, Any]:
    """A decided attempt with a recording (2 segments), 2 evidence frames, and a face template with one photo."""
    course = world.other_course_id if student.startswith("other") else world.course_id
    attempt_id, sid = _session(factory, world, student, course)
    store = SqlRecordingStore(factory, blobs)
    segs = [store.put_segment(sid, i, "video", f"video-{sid}-{i}".encode() * 50, ext="webm") for i in range(2)]
    frames = ["e1-0.jpg", "e1-1.jpg"]
    for f in frames:
        blobs.put(f"{sid}/evidence/{f}", b"\xff\xd8jpeg" + f.encode())
    photo = b"\xff\xd8photo-" + student.encode()
    sha = hashlib.sha256(photo).hexdigest()
    blobs.put(f"{sid}/enrolment/{sha}.jpg", photo)
    now = utcnow()
    with transaction(factory, write_lock=True) as db:
        append_in(db, sid, [{"type": "event", "id": "e1", "kind": "multiple_faces", "start": 1.0, "end": 3.0,
                             "severity": "high", "confidence": 0.9,
                             "evidence": {"frames": [{"name": f, "sha256": "x"} for f in frames]}}])
        tpl = IdentityEnrolment(student_id=world.users[student], photo_sha256s=[sha], embedding={"v": [0.1, 0.2]},
                                model="test", created_at=now - timedelta(days=template_days_ago))
        db.add(tpl)
        db.flush()
        db.get(ProctoringSession, sid).enrolment_id = tpl.id
        db.get(Attempt, attempt_id).decided_at = now - timedelta(days=decided_days_ago)
        tpl_id = tpl.id
    return {"attempt_id": attempt_id, "sid": sid, "segments": [s.key for s in segs],
            "frames": [f"{sid}/evidence/{f}" for f in frames], "photo": f"{sid}/enrolment/{sha}.jpg",
            "template_id": tpl_id}


def _policy(factory: Any, college_id: int, rec: int, ev: int, face: int) -> None:
    with transaction(factory) as db:
        db.add(RetentionPolicy(college_id=college_id, recordings_days=rec, evidence_days=ev, face_templates_days=face))


def _deletions(factory: Any) -> list[tuple[str, str, str | None]]:
    with transaction(factory) as db:
        return [(d.kind, d.reason, d.object_ref) for d in db.execute(select(DeletionRecord)
                                                                     .order_by(DeletionRecord.id)).scalars()]


def test_retention_job_deletes_each_kind_when_its_period_ends(factory: Any, world: World, blobs: Any,
                                                               settings: Any) -> None:
    m = _material(factory, blobs, world)
    other = _material(factory, blobs, world, "other_student")  # college 2 keeps the default 365 days
    _policy(factory, world.college_id, rec=30, ev=60, face=10)

    result = retention.run(factory, blobs, settings)
    assert (result.recordings, result.segments, result.evidence_sessions, result.face_templates) == (1, 2, 0, 1)
    assert not any(blobs.exists(k) for k in m["segments"]) and not blobs.exists(m["photo"])
    assert all(blobs.exists(k) for k in m["frames"])  # evidence: 40 days < 60
    assert all(blobs.exists(k) for k in other["segments"] + other["frames"] + [other["photo"]])
    with transaction(factory) as db:
        # the bytes are gone; the manifest rows stay (signed, append-only evidence of what was recorded)
        assert db.execute(select(func.count()).select_from(RecordingSegment)
                          .where(RecordingSegment.session_id == m["sid"])).scalar_one() == 2
        assert db.get(IdentityEnrolment, m["template_id"]) is None
        assert db.get(ProctoringSession, m["sid"]).enrolment_id is None
        rec = db.execute(select(DeletionRecord).where(DeletionRecord.kind == "recording")).scalar_one()
        assert rec.subject_user_id == world.users["alice"] and rec.details["segments"] == 2
        assert len(rec.details["sha256"]) == 2 and rec.reason == "retention"
    assert _deletions(factory) == [("recording", "retention", m["sid"]),
                                   ("face_template", "retention", f"identity_enrolment:{m['template_id']}")]

    assert not any(retention.run(factory, blobs, settings).to_dict().values())  # nothing twice

    later = retention.run(factory, blobs, settings, now=utcnow() + timedelta(days=25))  # 65 days after
    assert (later.evidence_sessions, later.evidence_frames) == (1, 2)
    assert not any(blobs.exists(k) for k in m["frames"])
    assert _deletions(factory)[-1] == ("evidence", "retention", m["sid"])
    with transaction(factory) as db:  # the attempt, its decision and its event chain stay
        assert db.get(Attempt, m["attempt_id"]).state == "verified"
        assert db.get(ProctoringSession, m["sid"]).event_count == 1


def test_retention_job_on_two_nodes_deletes_once(factory: Any, world: World, blobs: Any, settings: Any) -> None:
    mats = [_material(factory, blobs, world) for _ in range(3)]
    _policy(factory, world.college_id, rec=1, ev=1, face=1)
    results: list[Any] = []
    errors: list[BaseException] = []

    def node() -> None:
        try:
            results.append(retention.run(factory, blobs, settings))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=node) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sum(r.recordings for r in results) == 3 and sum(r.evidence_sessions for r in results) == 3
    assert sum(r.face_templates for r in results) == 3
    kinds = _deletions(factory)
    assert len(kinds) == len(set(kinds)) == 9  # one record per object, whichever node did it
    assert not any(blobs.exists(k) for m in mats for k in m["segments"] + m["frames"] + [m["photo"]])


def test_consent_given_listed_and_withdrawn(client: Any, factory: Any, world: World, blobs: Any) -> None:
    m = _material(factory, blobs, world, template_days_ago=0)
    r = client.post("/api/v1/me/consents", headers=world.h("alice"),
                    json={"version": "2026-01", "scope": ["video_recording", "face_biometrics"]})
    assert r.status_code == 201, r.text
    consent = r.json()
    assert consent["scope"] == ["face_biometrics", "video_recording"] and consent["withdrawn_at"] is None
    assert client.post("/api/v1/me/consents", headers=world.h("alice"),
                       json={"version": "2026-01", "scope": ["fingerprints"]}).status_code == 422
    notice = client.get("/api/v1/me/privacy", headers=world.h("alice")).json()
    assert notice["data_location"] == "Republic of Kazakhstan" and notice["retention"]["is_default"]
    assert [c["id"] for c in notice["consents"]] == [consent["id"]]
    assert client.post(f"/api/v1/me/consents/{consent['id']}/withdraw", headers=world.h("bob")).status_code == 404
    r = client.post(f"/api/v1/me/consents/{consent['id']}/withdraw", headers=world.h("alice"))
    assert r.status_code == 200 and r.json()["withdrawn_at"]
    with transaction(factory) as db:  # face biometrics withdrawn: the template and its photo go at once
        assert db.get(IdentityEnrolment, m["template_id"]) is None
    assert not blobs.exists(m["photo"])
    assert _deletions(factory)[-1][:2] == ("face_template", "consent_withdrawn")
    listed = client.get("/api/v1/privacy/consents", headers=world.h("api"), params={"user_id": world.users["alice"]})
    assert [c["withdrawn_at"] is not None for c in listed.json()] == [True]
    assert client.get("/api/v1/privacy/consents", headers=world.h("other_api")).json() == []


def test_retention_policy_through_the_college_api(client: Any, world: World) -> None:
    r = client.get("/api/v1/privacy/retention", headers=world.h("api"))
    assert r.status_code == 200 and r.json()["is_default"] and r.json()["recordings_days"] == 365
    r = client.put("/api/v1/privacy/retention", headers=world.h("api"),
                   json={"recordings_days": 90, "evidence_days": 180, "face_templates_days": 30})
    assert r.status_code == 200 and not r.json()["is_default"] and r.json()["face_templates_days"] == 30
    assert client.put("/api/v1/privacy/retention", headers=world.h("api"),
                      json={"recordings_days": 0, "evidence_days": 1, "face_templates_days": 1}).status_code == 422
    assert client.get("/api/v1/privacy/retention", headers=world.h("other_api")).json()["is_default"]
    assert client.put("/api/v1/privacy/retention", headers=world.h("alice"),
                      json={"recordings_days": 1, "evidence_days": 1, "face_templates_days": 1}).status_code == 403


def test_export_then_erasure_of_a_student(client: Any, factory: Any, world: World, blobs: Any) -> None:
    m = _material(factory, blobs, world, decided_days_ago=1, template_days_ago=1)
    client.post("/api/v1/me/consents", headers=world.h("alice"),
                json={"version": "2026-01", "scope": ["video_recording"]})
    alice = world.users["alice"]

    assert client.get(f"/api/v1/privacy/students/{alice}/export", headers=world.h("other_api")).status_code == 404
    r = client.get(f"/api/v1/privacy/students/{alice}/export", headers=world.h("api"))
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["person"]["email"] == "alice@test.kz" and len(data["consents"]) == 1
    assert data["face_templates"][0]["embedding"] == {"v": [0.1, 0.2]}
    att = next(a for a in data["attempts"] if a["id"] == m["attempt_id"])
    assert att["proctoring_session"]["events"][0]["kind"] == "multiple_faces"
    assert len(att["proctoring_session"]["recording_segments"]) == 2

    assert client.post(f"/api/v1/privacy/students/{world.users['teacher']}/erasure",
                       headers=world.h("api")).status_code == 422
    r = client.post(f"/api/v1/privacy/students/{alice}/erasure", headers=world.h("api"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["deleted"]["recording_segments"] == 2 and out["deleted"]["evidence_frames"] == 2
    assert out["deleted"]["face_templates"] == 1 and out["deleted"]["sign_in_tokens"] == 1
    assert any("attestation" in k["why"] and "grades" in k["what"] for k in out["kept"])
    assert not any(blobs.exists(k) for k in m["segments"] + m["frames"] + [m["photo"]])
    with transaction(factory) as db:
        u = db.get(User, alice)
        assert (u.full_name, u.is_active, u.external_id) == ("Erased student", False, None)
        assert "alice" not in u.email
        assert db.get(Attempt, m["attempt_id"]).state == "verified"  # the attestation record stays
    assert client.get("/api/auth/me", headers=world.h("alice")).status_code == 401
    kinds = [(k, reason) for k, reason, _ in _deletions(factory)]
    assert kinds == [("recording", "erasure"), ("evidence", "erasure"), ("face_template", "erasure"),
                     ("personal_data", "erasure")]
    logged = client.get("/api/v1/privacy/deletions", headers=world.h("api"), params={"user_id": alice}).json()
    assert len(logged) == 4 and all(d["actor"].startswith("api_key:") for d in logged)
    export = client.get(f"/api/v1/privacy/students/{alice}/export", headers=world.h("api")).json()
    assert export["face_templates"] == [] and len(export["deletions"]) == 4
