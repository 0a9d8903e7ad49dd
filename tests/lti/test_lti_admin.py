"""The college's LTI registrations API, the tool's key rotation, and the roster sync through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.app import create_app
from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import Enrolment, LtiToolKey, User
from server.lti.keys import KeyPolicy, jwks, rotate_if_due, signing_key
from server.settings import ServerSettings

from .conftest import STUDENT, TEACHER, Browser, Setup, register
from .platform import Scenario

BODY = {"name": "Moodle", "platform": "moodle", "issuer": "https://moodle.college.kz", "client_id": "abc123",
        "auth_login_url": "https://moodle.college.kz/mod/lti/auth.php",
        "auth_token_url": "https://moodle.college.kz/mod/lti/token.php",
        "key_set_url": "https://moodle.college.kz/mod/lti/certs.php", "deployment_ids": ["1"]}


def _client(db_url: str, tmp_path: Any, **kw: Any) -> TestClient:
    s = ServerSettings(database_url=db_url, data_dir=tmp_path / "data", seed_demo=False, webhooks_enabled=False,
                       auto_migrate=False, public_url="https://proctor.college.kz", lti_deliverer_enabled=False,
                       privacy_job_interval_s=0, live_workers=1, **kw)
    return TestClient(create_app(s))


def test_registrations_api(db_url: str, tmp_path: Any, world: Any) -> None:
    with _client(db_url, tmp_path) as c:
        api, other = world.h("api"), world.h("other_api")
        r = c.post("/api/v1/lti/registrations", headers=api, json=BODY)
        assert r.status_code == 201, r.text
        reg = r.json()
        assert reg["deployments"][0]["deployment_id"] == "1" and reg["is_active"]
        # one registration per platform (issuer + client id), whoever asks
        assert c.post("/api/v1/lti/registrations", headers=api, json=BODY).status_code == 409
        assert c.post("/api/v1/lti/registrations", headers=other, json=BODY).status_code == 409
        # platform URLs must be public https (the tool calls them)
        bad = BODY | {"client_id": "x", "key_set_url": "http://127.0.0.1:8080/certs"}
        r = c.post("/api/v1/lti/registrations", headers=api, json=bad)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "body.key_set_url"
        # another college sees nothing of it
        assert c.get("/api/v1/lti/registrations", headers=other).json() == []
        assert c.get(f"/api/v1/lti/registrations/{reg['id']}", headers=other).status_code == 404
        # deployments: added, duplicate refused, disabled
        r = c.post(f"/api/v1/lti/registrations/{reg['id']}/deployments", headers=api, json={"deployment_id": "2"})
        assert r.status_code == 201 and [d["deployment_id"] for d in r.json()["deployments"]] == ["1", "2"]
        assert c.post(f"/api/v1/lti/registrations/{reg['id']}/deployments", headers=api,
                      json={"deployment_id": "2"}).status_code == 409
        dep2 = r.json()["deployments"][1]["id"]
        r = c.delete(f"/api/v1/lti/registrations/{reg['id']}/deployments/{dep2}", headers=api)
        assert [d["is_active"] for d in r.json()["deployments"]] == [True, False]
        r = c.patch(f"/api/v1/lti/registrations/{reg['id']}", headers=api, json={"name": "Moodle 4.5"})
        assert r.json()["name"] == "Moodle 4.5"
        # a student cannot manage registrations; the college admin can
        assert c.get("/api/v1/lti/registrations", headers=world.h("alice")).status_code == 403
        assert len(c.get("/api/v1/lti/registrations", headers=world.h("admin")).json()) == 1
        cfg = c.get("/api/v1/lti/tool", headers=api).json()
        assert cfg["login_url"] == "https://proctor.college.kz/lti/login"
        assert cfg["redirect_urls"] == ["https://proctor.college.kz/lti/launch"]
        assert "LtiStartProctoring" in cfg["messages"]
        # every route declares its answer in the OpenAPI document
        doc = c.get("/openapi.json").json()
        for path, ops in doc["paths"].items():
            if path.startswith(("/api/v1/lti", "/api/v1/privacy", "/api/v1/me/", "/lti/")):
                for op in ops.values():
                    ok = op["responses"].get("200") or op["responses"].get("201") or op["responses"].get("204") \
                        or op["responses"].get("302")
                    assert ok, (path, op)


def test_key_rotation_publishes_before_signing_and_keeps_the_old_key(factory: Any) -> None:
    policy = KeyPolicy(max_age_days=90, prepublish_days=7, retired_days=7)
    t0 = utcnow()
    with transaction(factory) as db:
        k1 = signing_key(db, policy, t0)
        assert [k["kid"] for k in jwks(db)["keys"]] == [k1.kid]
    with transaction(factory) as db:  # 84 days: the next key is published, the first still signs
        rotate_if_due(db, policy, t0 + timedelta(days=84))
        assert signing_key(db, policy, t0 + timedelta(days=84)).kid == k1.kid
        published = [k["kid"] for k in jwks(db)["keys"]]
        assert len(published) == 2 and published[0] == k1.kid
        k2_kid = published[1]
    with transaction(factory) as db:  # 90 days: the published key signs, the old one stays published
        k2 = signing_key(db, policy, t0 + timedelta(days=90))
        assert k2.kid == k2_kid
        rows = {r.kid: r.state for r in db.execute(select(LtiToolKey)).scalars()}
        assert rows == {k1.kid: "retired", k2_kid: "active"}
        assert {k["kid"] for k in jwks(db)["keys"]} == {k1.kid, k2_kid}
    token = jwt.encode({"x": 1}, k2.private_pem, "RS256", headers={"kid": k2.kid})
    assert jwt.decode(token, k2.public_pem, algorithms=["RS256"]) == {"x": 1}
    with transaction(factory) as db:  # after the retired period the old key is gone
        changes = rotate_if_due(db, policy, t0 + timedelta(days=98))
        assert f"dropped {k1.kid}" in changes
        assert [r.kid for r in db.execute(select(LtiToolKey)).scalars()] == [k2_kid]
    with transaction(factory) as db:
        changes = rotate_if_due(db, policy, t0 + timedelta(days=98), force=True)
        assert any(c.startswith("activated") for c in changes) and f"retired {k2_kid}" in changes


def test_roster_sync_through_the_api(setup: Setup) -> None:
    s = setup
    register(s)
    b = Browser()
    try:  # the teacher's launch maps the LMS course (Deep Linking choice of an exam)
        r = b.launch(s.lms, Scenario("deep_link", TEACHER))
        import re

        action = re.search(r"action='([^']+)'", r.text).group(1)
        assert b.post(s.tool.base + action, {"exam_id": str(s.world.exam_id)}).status_code == 200
    finally:
        b.close()
    s.lms.member(STUDENT)
    with s.api as api:
        ctx = api.get("/api/v1/lti/contexts").json()
        assert len(ctx) == 1 and ctx[0]["has_roster"] and ctx[0]["course_id"] == s.world.course_id
        r = api.post(f"/api/v1/lti/contexts/{ctx[0]['id']}/sync")
        assert r.status_code == 200, r.text
        assert r.json() == {"members": 1, "students": 1, "staff": 0, "skipped": 0}
    with transaction(s.factory) as db:
        u = db.execute(select(User).where(User.email == STUDENT.email)).scalar_one()
        assert u.role == "student" and u.full_name == STUDENT.name
        assert db.execute(select(Enrolment).where(Enrolment.student_id == u.id,
                                                  Enrolment.course_id == s.world.course_id)).first()


def test_an_lms_email_never_takes_over_an_account(factory: Any, world: Any) -> None:
    from server.db.models import LtiRegistration
    from server.lti.launch import person

    with transaction(factory) as db:
        reg = LtiRegistration(college_id=world.college_id, name="m", issuer="https://i", client_id="c",
                              auth_login_url="https://i/a", auth_token_url="https://i/t", key_set_url="https://i/k")
        db.add(reg)
        db.flush()
        alice = person(db, reg, "s-alice", name="Alice", email="alice@test.kz", staff=False)
        assert alice.id == world.users["alice"]  # a learner with a student's e-mail of the college: linked
        assert person(db, reg, "s-alice", name=None, email=None, staff=False).id == alice.id  # then by sub
        again = person(db, reg, "s-other", name="Mallory", email="alice@test.kz", staff=False)
        assert again.id != alice.id and again.email.endswith("@lti.invalid")  # already linked: a new person
        proctor = person(db, reg, "s-p", name="P", email="proctor@test.kz", staff=True)
        assert proctor.id != world.users["proctor"] and proctor.role == "teacher"  # never a proctor's account
        foreign = person(db, reg, "s-f", name="F", email="other_student@test.kz", staff=False)
        assert foreign.id != world.users["other_student"] and foreign.college_id == world.college_id
        teacher = person(db, reg, "s-t", name="T", email="teacher@test.kz", staff=False)
        assert teacher.id != world.users["teacher"] and teacher.role == "student"  # a learner never a teacher


def test_a_hand_marked_grade_follows_the_verification(db_url: str, tmp_path: Any, world: Any, factory: Any) -> None:
    """Verified with a hand-marked answer still open: PendingManual, no score; the score goes when it is marked."""
    from server.services import attempts as attempt_ops
    from server.db.models import (
        Attempt, Exam, LtiAttemptLink, LtiDeployment, LtiRegistration, LtiResourceLink, LtiServiceCall, Question,
    )

    with transaction(factory) as db:
        exam = db.get(Exam, world.exam_id)
        essay = Question(exam_id=exam.id, position=3, kind="short_text", prompt="explain", correct=[], points=2)
        db.add(essay)
        reg = LtiRegistration(college_id=world.college_id, name="m", issuer="https://i", client_id="c",
                              auth_login_url="https://i/a", auth_token_url="https://i/t", key_set_url="https://i/k",
                              deployments=[LtiDeployment(deployment_id="1")])
        db.add(reg)
        db.flush()
        rl = LtiResourceLink(registration_id=reg.id, deployment_id="1", resource_link_id="rl-1", exam_id=exam.id,
                             ags_lineitem_url="https://i/li/1",
                             ags_scopes=["https://purl.imsglobal.org/spec/lti-ags/scope/score"])
        db.add(rl)
        db.flush()
        db.expire(exam)
        a, _ = attempt_ops.start(db, exam, world.users["alice"])
        db.add(LtiAttemptLink(attempt_id=a.id, resource_link_id=rl.id, sub="lms-alice", acs_actions=[]))
        attempt_ops.mark_identity_verified(db, a)
        attempt_ops.mark_room_scanned(db, a)
        attempt_ops.transition(db, a, attempt_ops.S.started, actor=f"user:{a.student_id}", actor_id=a.student_id)
        attempt_ops.save_answer(db, a, world.question_ids[0], 1)
        attempt_ops.save_answer(db, a, essay.id, "because")
        attempt_ops.submit(db, a, a.student_id)
        attempt_id, essay_id = a.id, essay.id
    with _client(db_url, tmp_path) as c:
        r = c.post(f"/api/proctor/attempts/{attempt_id}/review", headers=world.h("proctor"),
                   json={"decision": "verify"})
        assert r.status_code == 201, r.text
        with transaction(factory) as db:
            (call,) = db.execute(select(LtiServiceCall)).scalars().all()
            assert call.payload["gradingProgress"] == "PendingManual" and "scoreGiven" not in call.payload
        r = c.put(f"/api/teacher/attempts/{attempt_id}/answers/{essay_id}/points", headers=world.h("teacher"),
                  json={"points": 0})
        assert r.status_code == 200, r.text
    with transaction(factory) as db:
        calls = db.execute(select(LtiServiceCall).order_by(LtiServiceCall.id)).scalars().all()
        assert len(calls) == 2
        last = calls[-1].payload
        assert last["gradingProgress"] == "FullyGraded" and last["scoreGiven"] == 1.0 and last["scoreMaximum"] == 6.0
        assert db.get(Attempt, attempt_id).state == "verified"
