"""LTI 1.3 end to end against an LMS built on lti1p3platform (tests/lti/platform.py), both served on loopback:
Deep Linking round trip, a student's launch into the exam, grade passback only once verified (and updated by
a later review), the LTI Proctoring round trip with ACS flag and terminate, and refused launches."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select

from server.services import attempts as attempt_ops
from server.db.engine import transaction
from server.db.models import (
    Attempt, Enrolment, LtiAttemptLink, LtiContext, LtiServiceCall, ProctoringSession, User,
)
from server.domain.enums import AttemptState
from server.storage.events import append_in

from .conftest import STUDENT, TEACHER, Browser, Setup, register
from .platform import AP, INSTRUCTOR, LEARNER, LmsUser, Scenario, form_fields, rsa_pems


def _deep_link(s: Setup, exam_id: int) -> str:
    """The teacher adds the exam to the LMS course; returns the new resource link id."""
    b = Browser()
    try:
        r = b.launch(s.lms, Scenario("deep_link", TEACHER))
        assert r.status_code == 200, r.text
        assert f'value="{exam_id}"' in r.text  # the course's proctored exams are offered
        action = re.search(r"action='([^']+)'", r.text).group(1)
        r = b.post(s.tool.base + action, {"exam_id": str(exam_id)})
        assert r.status_code == 200, r.text
        url, fields = form_fields(r.text)
        assert url == f"{s.lms.base}/deep_link_return"
        r = b.post(url, fields)  # the LMS checks the tool's signature with the tool's JWKS
        assert r.status_code == 200, r.text
        return s.lms.content_items[-1]["resource_link_id"]
    finally:
        b.close()


def test_deep_linking_creates_an_exam_and_refuses_another_teachers_exam(setup: Setup) -> None:
    s, w = setup, setup.world
    register(s)
    b = Browser()
    try:
        r = b.launch(s.lms, Scenario("deep_link", TEACHER))
        action = re.search(r"action='([^']+)'", r.text).group(1)
        r = b.post(s.tool.base + action, {"title": "Final attestation (LMS)", "type": "final_attestation",
                                          "opens_at": "2026-12-10T09:00", "closes_at": "2026-12-10T12:00",
                                          "time_limit_min": "90"})
        assert r.status_code == 200, r.text
        url, fields = form_fields(r.text)
        assert b.post(url, fields).status_code == 200
        assert b.post(s.tool.base + action, {"exam_id": str(w.exam_id)}).status_code == 410  # used once
        # a teacher of another course cannot put this college's exam into their LMS course
        stranger = LmsUser("lms-teacher-8", "Teacher Two", "teacher2@test.kz", [INSTRUCTOR])
        r = b.launch(s.lms, Scenario("deep_link", stranger))
        action = re.search(r"action='([^']+)'", r.text).group(1)
        assert f'value="{w.exam_id}"' not in r.text
        assert b.post(s.tool.base + action, {"exam_id": str(w.exam_id)}).status_code == 403
    finally:
        b.close()
    item = s.lms.content_items[-1]
    with transaction(s.factory) as db:
        from server.db.models import Exam

        exam = db.get(Exam, int(item["custom"]["exam_id"]))
        assert exam.title == "Final attestation (LMS)" and exam.proctored and exam.time_limit_min == 90
        assert exam.opens_at.hour == 9 and exam.course_id != w.course_id  # a course made for the LMS course
        ctx = db.execute(select(LtiContext)).scalar_one()
        assert ctx.course_id == exam.course_id


def _student_launch(s: Setup, rl_id: str, who: LmsUser = STUDENT) -> tuple[Browser, Any]:
    b = Browser()
    r = b.launch(s.lms, Scenario("resource", who, resource_link_id=rl_id))
    return b, r


def _take_exam(s: Setup, attempt_id: int, answers: dict[int, Any]) -> None:
    """What the student page and the live checks do: identity, room scan, start, answers, submit."""
    with transaction(s.factory) as db:
        a = db.get(Attempt, attempt_id)
        attempt_ops.mark_identity_verified(db, a)
        attempt_ops.mark_room_scanned(db, a)
        attempt_ops.transition(db, a, AttemptState.started, actor=f"user:{a.student_id}", actor_id=a.student_id)
        for qid, value in answers.items():
            attempt_ops.save_answer(db, a, qid, value)
        attempt_ops.submit(db, a, a.student_id)


def _review(s: Setup, who: str, attempt_id: int, decision: str, reason: str | None = None) -> None:
    with s.as_person(who) as api:
        r = api.post(f"/api/proctor/attempts/{attempt_id}/review", json={"decision": decision, "reason": reason})
        assert r.status_code == 201, r.text


def test_deep_linking_launch_and_grade_passback_only_when_verified(setup: Setup) -> None:
    s, w = setup, setup.world
    register(s)
    classmate = LmsUser("lms-student-10", "Aruzhan Classmate", "aruzhan@lms.kz", [LEARNER])
    s.lms.member(classmate)
    s.lms.member(TEACHER)

    rl_id = _deep_link(s, w.exam_id)
    item = s.lms.content_items[-1]
    assert item["type"] == "ltiResourceLink" and item["custom"] == {"exam_id": str(w.exam_id)}
    assert item["lineItem"]["scoreMaximum"] == 4.0 and item["data"] == {"opaque": "dl-data-1"}
    with transaction(s.factory) as db:
        ctx = db.execute(select(LtiContext)).scalar_one()
        assert ctx.course_id == w.course_id  # the LMS course is the exam's course
        # Names and Role Provisioning ran on the teacher's launch: the classmate is a student of the course
        mate = db.execute(select(User).where(User.email == "aruzhan@lms.kz")).scalar_one()
        assert mate.role == "student" and db.execute(select(Enrolment).where(
            Enrolment.course_id == w.course_id, Enrolment.student_id == mate.id)).first() is not None

    b, r = _student_launch(s, rl_id)
    try:
        assert r.status_code == 200, r.text
        target = re.search(r"url=([^'\"]+)", r.text).group(1)
        assert target.startswith(f"/student/?exam={w.exam_id}&amp;attempt=") or target.startswith(
            f"/student/?exam={w.exam_id}&attempt=")
        me = b.http.get(f"{s.tool.base}/api/auth/me")  # signed in by the launch (cookie)
        assert me.status_code == 200 and me.json()["role"] == "student", me.text
        student_id = me.json()["id"]
    finally:
        b.close()
    with transaction(s.factory) as db:
        attempt = db.execute(select(Attempt).where(Attempt.student_id == student_id)).scalar_one()
        assert attempt.exam_id == w.exam_id and attempt.state == "created"
        assert db.execute(select(LtiAttemptLink).where(LtiAttemptLink.attempt_id == attempt.id)).scalar_one().sub \
            == STUDENT.sub
        attempt_id = attempt.id

    q1, q2, q3 = w.question_ids
    _take_exam(s, attempt_id, {q1: 1, q2: [1, 2], q3: "def"})
    s.deliver()
    assert s.lms.scores == []  # submitted, not reviewed: nothing goes to the gradebook

    _review(s, "proctor", attempt_id, "second_review", "unclear audio")
    s.deliver()
    assert [x["gradingProgress"] for x in s.lms.scores] == ["Pending"]
    assert "scoreGiven" not in s.lms.scores[-1]

    _review(s, "proctor2", attempt_id, "verify")
    s.deliver()
    last = s.lms.scores[-1]
    assert last["gradingProgress"] == "FullyGraded" and last["activityProgress"] == "Completed"
    assert last["scoreGiven"] == 4.0 and last["scoreMaximum"] == 4.0 and last["userId"] == STUDENT.sub
    assert last["lineitem"] == "li-1"

    _review(s, "proctor3", attempt_id, "reject", "a second person in the room")  # an override: the grade goes
    s.deliver()
    last = s.lms.scores[-1]
    assert last["gradingProgress"] == "Failed" and "scoreGiven" not in last
    assert "a second person in the room" in last["comment"]
    assert last["timestamp"] > s.lms.scores[-2]["timestamp"]  # newer, so the LMS replaces the grade
    with s.api as api:
        calls = api.get("/api/v1/lti/calls", params={"attempt_id": attempt_id}).json()
    assert [c["status"] for c in calls] == ["delivered"] * 3 and all(c["log"][0]["ok"] for c in calls)
    assert all("_exam_id" not in c["payload"] for c in calls)


def test_grade_passback_retries_like_webhooks(setup: Setup) -> None:
    s, w = setup, setup.world
    register(s)
    rl_id = _deep_link(s, w.exam_id)
    b, r = _student_launch(s, rl_id)
    b.close()
    with transaction(s.factory) as db:
        attempt_id = db.execute(select(Attempt.id).where(Attempt.exam_id == w.exam_id)).scalar_one()
    _take_exam(s, attempt_id, {})
    s.lms.lineitems.clear()  # the LMS lost the column: the score POST answers 404
    _review(s, "proctor", attempt_id, "verify")
    s.deliver()
    with transaction(s.factory) as db:
        call = db.execute(select(LtiServiceCall)).scalar_one()
        assert call.status == "pending" and call.attempts == 1 and "404" in (call.last_error or "")
        call.next_attempt_at = call.created_at  # due again now
    s.lms.lineitems["li-1"] = {"id": f"{s.lms.base}/ags/lineitems/li-1", "scoreMaximum": 4.0, "label": "x"}
    s.deliver()
    with transaction(s.factory) as db:
        call = db.execute(select(LtiServiceCall)).scalar_one()
        assert call.status == "delivered" and call.attempts == 2 and [t["ok"] for t in call.log] == [False, True]
    assert s.lms.scores[-1]["scoreGiven"] == 0.0 and s.lms.scores[-1]["gradingProgress"] == "FullyGraded"


def test_a_link_without_a_column_gets_one_made_by_the_tool(setup: Setup) -> None:
    s, w = setup, setup.world
    register(s)
    s.lms.lineitems_from_deep_links = False
    rl_id = _deep_link(s, w.exam_id)
    assert s.lms.lineitems == {}
    b, r = _student_launch(s, rl_id)
    b.close()
    with transaction(s.factory) as db:
        attempt_id = db.execute(select(Attempt.id).where(Attempt.exam_id == w.exam_id)).scalar_one()
    q1, q2, q3 = w.question_ids
    _take_exam(s, attempt_id, {q1: 1, q2: [0], q3: "def"})
    _review(s, "proctor", attempt_id, "verify")
    s.deliver()
    (li,) = s.lms.lineitems.values()  # found by resourceId, else created by the tool (lineitem scope)
    assert li["resourceId"] == f"exam-{w.exam_id}" and li["resourceLinkId"] == rl_id and li["label"] == "Attestation"
    assert s.lms.scores[-1]["scoreGiven"] == 2.0 and s.lms.scores[-1]["gradingProgress"] == "FullyGraded"


def _proctoring_start(s: Setup, b: Browser, rl_id: str, number: int) -> str:
    r = b.launch(s.lms, Scenario("start_proctoring", STUDENT, resource_link_id=rl_id, attempt_number=number))
    assert r.status_code == 200, r.text
    return re.search(r"action='(/lti/proctoring/[^']+/start-assessment)'", r.text).group(1)


def _session_of(s: Setup, attempt_id: int) -> str:
    with transaction(s.factory) as db:
        return db.execute(select(ProctoringSession.id).where(ProctoringSession.attempt_id == attempt_id)).scalar_one()


def test_proctoring_start_assessment_flag_end_and_terminate(setup: Setup) -> None:
    s = setup
    register(s)
    b = Browser()
    try:
        start = _proctoring_start(s, b, "rl-quiz-1", 1)
        status = b.http.get(s.tool.base + start.replace("start-assessment", "status")).json()
        assert status["state"] == "created" and not status["ready"]
        r = b.post(s.tool.base + start, {})
        assert r.status_code == 409 and r.json()["error"]["details"]["missing"] == ["identity check", "room scan"]

        attempt_id = status["attempt_id"]
        with transaction(s.factory) as db:  # the live page's identity check and room scan passed
            a = db.get(Attempt, attempt_id)
            attempt_ops.mark_identity_verified(db, a)
            attempt_ops.mark_room_scanned(db, a)
        r = b.post(s.tool.base + start, {})
        assert r.status_code == 200, r.text
        url, fields = form_fields(r.text)
        assert url == f"{s.lms.base}/start_assessment"
        r = b.post(url, fields)  # the LMS checks the LtiStartAssessment against the tool's JWKS
        assert r.status_code == 200, r.text
        started = s.lms.started[-1]
        assert started[AP + "attempt_number"] == 1 and started[AP + "end_assessment_return"] is True
        assert started["https://purl.imsglobal.org/spec/lti/claim/resource_link"] == {"id": "rl-quiz-1"}
        assert started[AP + "verified_user"]["name"] == STUDENT.name
        with transaction(s.factory) as db:
            assert db.get(Attempt, attempt_id).state == "started"

        # an incident: the engine's events go to the chain; high ones become ACS flags, low ones do not
        sid = _session_of(s, attempt_id)
        with transaction(s.factory, write_lock=True) as db:
            append_in(db, sid, [
                {"type": "event", "id": "e1", "kind": "looking_away", "start": 1.0, "end": 2.0, "severity": "low",
                 "confidence": 0.8, "message": "looked away"},
                {"type": "event", "id": "e2", "kind": "multiple_faces", "start": 5.0, "end": 9.0,
                 "severity": "high", "confidence": 0.9, "message": "a second face"}])
        s.deliver()
        flags = [c for c in s.lms.acs if c["action"] == "flag"]
        assert len(flags) == 1, s.lms.acs
        f = flags[0]
        assert f["incident_severity"] == 0.9 and f["reason_code"] == "multiple_faces"
        assert f["user"] == {"iss": "https://lms.college.kz", "sub": STUDENT.sub}
        assert f["resource_link"] == {"id": "rl-quiz-1"} and f["attempt_number"] == 1
        with transaction(s.factory, write_lock=True) as db:  # the same event, updated: not flagged again
            append_in(db, sid, [{"type": "event", "id": "e2", "kind": "multiple_faces", "start": 5.0, "end": 12.0,
                                 "severity": "high", "confidence": 0.9, "message": "a second face"}])
        s.deliver()
        assert len([c for c in s.lms.acs if c["action"] == "flag"]) == 1
        assert "_event_id" not in f  # our bookkeeping is not sent

        r = b.launch(s.lms, Scenario("end_assessment", STUDENT, resource_link_id="rl-quiz-1", attempt_number=1))
        assert r.status_code == 200 and "Assessment finished" in r.text, r.text
        with transaction(s.factory) as db:
            assert db.get(Attempt, attempt_id).state == "submitted"
            assert db.get(ProctoringSession, sid).status == "ended"

        # a second LMS attempt, ended by the proctor while it runs: ACS terminate
        start2 = _proctoring_start(s, b, "rl-quiz-1", 2)
        attempt2 = b.http.get(s.tool.base + start2.replace("start-assessment", "status")).json()["attempt_id"]
        assert attempt2 != attempt_id
        with transaction(s.factory) as db:
            a = db.get(Attempt, attempt2)
            attempt_ops.mark_identity_verified(db, a)
            attempt_ops.mark_room_scanned(db, a)
        url, fields = form_fields(b.post(s.tool.base + start2, {}).text)
        assert b.post(url, fields).status_code == 200
        with s.as_person("proctor") as api:
            r = api.post(f"/api/proctor/attempts/{attempt2}/error",
                         json={"reason": "the student left and someone else sat down"})
            assert r.status_code == 200, r.text
        s.deliver()
        term = s.lms.acs[-1]
        assert term["action"] == "terminate" and term["attempt_number"] == 2
        assert "someone else sat down" in term["reason_msg"]
        with s.api as api:
            calls = api.get("/api/v1/lti/calls", params={"attempt_id": attempt2}).json()
        assert calls[0]["status"] == "delivered"
    finally:
        b.close()


# --- refused launches --------------------------------------------------------------------------------------
def test_forged_replayed_expired_and_foreign_launches_are_refused(setup: Setup) -> None:
    s = setup
    register(s)
    b = Browser()
    try:
        # a good launch works once...
        url, fields = b.login(s.lms, Scenario("deep_link", TEACHER))
        assert b.post(url, fields).status_code == 200
        # ...and is refused when posted again (state and nonce are used once)
        r = b.post(url, fields)
        assert r.status_code == 401 and r.json()["error"]["code"] == "lti_launch_refused"

        # forged: the same claims signed by another key under the platform's kid
        url, fields = b.login(s.lms, Scenario("deep_link", TEACHER))
        header = jwt.get_unverified_header(fields["id_token"])
        claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
        claims["sub"] = "lms-admin-1"
        forged_key, _ = rsa_pems()
        r = b.post(url, fields | {"id_token": jwt.encode(claims, forged_key, "RS256", headers={"kid": header["kid"]})})
        assert r.status_code == 401, r.text
        # an unsigned token is refused too
        url, fields = b.login(s.lms, Scenario("deep_link", TEACHER))
        r = b.post(url, fields | {"id_token": jwt.encode(claims, None, "none")})
        assert r.status_code == 401

        # expired
        url, fields = b.login(s.lms, Scenario("deep_link", TEACHER, expiration=-120))
        r = b.post(url, fields)
        assert r.status_code == 401 and "expired" in r.json()["error"]["message"].lower()

        # a deployment the college did not register
        url, fields = b.login(s.lms, Scenario("deep_link", TEACHER, extra={
            "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "deployment-unknown"}))
        r = b.post(url, fields)
        assert r.status_code == 401 and "deployment" in r.json()["error"]["message"]

        # another audience (a token the platform made for some other tool)
        url, fields = b.login(s.lms, Scenario("deep_link", TEACHER, extra={"aud": "another-tool", "azp": "x"}))
        assert b.post(url, fields).status_code == 401

        # several audiences: accepted only when azp names this tool
        url, fields = b.login(s.lms, Scenario("deep_link", TEACHER, extra={"aud": ["lms-analytics", "proctor-tool-1"],
                                                                            "azp": "proctor-tool-1"}))
        assert b.post(url, fields).status_code == 200
        url, fields = b.login(s.lms, Scenario("deep_link", TEACHER, extra={"aud": ["proctor-tool-1", "lms-analytics"],
                                                                            "azp": "lms-analytics"}))
        assert b.post(url, fields).status_code == 401

        # a login for another tool's target
        login = httpx.URL(s.lms.login_url(Scenario("deep_link", TEACHER)))
        r = b.http.get(login.copy_set_param("target_link_uri", "https://evil.example/lti"))
        assert r.status_code == 400 and r.json()["error"]["code"] == "lti_login_refused"

        # a state this tool never issued
        url, fields = b.login(s.lms, Scenario("deep_link", TEACHER))
        assert b.post(url, fields | {"state": "state-" + str(uuid.uuid4())}).status_code == 401

        # another browser posting this browser's launch (no state cookie): login CSRF
        url, fields = b.login(s.lms, Scenario("deep_link", TEACHER))
        other = Browser()
        try:
            assert other.post(url, fields).status_code == 401
        finally:
            other.close()
        assert b.post(url, fields).status_code == 200  # the rightful browser still can
    finally:
        b.close()


def test_a_learner_cannot_deep_link_and_disabled_registration_refuses(setup: Setup) -> None:
    s = setup
    reg = register(s)
    b = Browser()
    try:
        r = b.launch(s.lms, Scenario("deep_link", STUDENT))
        assert r.status_code == 403, r.text
        with s.api as api:
            assert api.delete(f"/api/v1/lti/registrations/{reg['id']}").status_code == 204
        r = b.http.get(s.lms.login_url(Scenario("deep_link", TEACHER)))  # the tool's login refuses at once
        assert r.status_code == 400 and r.json()["error"]["code"] == "lti_login_refused"
    finally:
        b.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_tool_jwks_and_config(setup: Setup) -> None:
    s = setup
    with s.api as api:
        cfg = api.get("/api/v1/lti/tool").json()
    assert cfg["login_url"] == f"{s.tool.base}/lti/login" and cfg["redirect_urls"] == [f"{s.tool.base}/lti/launch"]
    import httpx

    jwks = httpx.get(f"{s.tool.base}/lti/jwks").json()
    assert [k["kid"] for k in jwks["keys"]] == [k["kid"] for k in cfg["public_jwks"]["keys"]]
    assert all("d" not in k for k in jwks["keys"])  # never the private part
