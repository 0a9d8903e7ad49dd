"""The digital footprint: written by sign-in, attendance, materials, tasks, exams and surveys; exported as
valid xAPI 1.0.3 statements per learner, course or time range; summarised per learner; surveys anonymous or
named with results per course."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import ClassMeeting, Course, Enrolment, Material, SurveyParticipation, SurveyResponse, Task
from server.domain.xapi import ActivityFacts, iso_duration, statement
from server.domain.enums import Verb

from .conftest import error_code
from .test_grading_and_reviews import submitted_attempt
from .xapi_validator import validate_statement


def test_the_validator_catches_bad_statements() -> None:
    """The checker is not vacuous."""
    good = statement(ActivityFacts("1b0c2a4e-9a43-4b8e-8f3e-3f1d2b7c9a10", "7", "A", Verb.graded, "exam", "3",
                                   "Exam", utcnow(), {"score": 3, "max_score": 4, "on_time": True}, 1, "Course",
                                   "10.0.0.1"), "http://lms.test")
    assert validate_statement(good) == []
    bad = {**good, "id": "not-a-uuid", "timestamp": "2026-01-01 10:00", "extra": 1}
    bad["actor"] = {**good["actor"], "mbox": "mailto:a@b.c"}
    bad["result"] = {"score": {"raw": 5, "min": 0, "max": 4, "scaled": 1.25}, "duration": "90s"}
    bad["verb"] = {"id": "graded", "display": {"en_US": "graded"}}
    problems = " | ".join(validate_statement(bad))
    for expected in ("id:", "timestamp:", "unknown property 'extra'", "exactly one inverse functional",
                     "scaled", "raw", "duration", "verb.id", "language tag"):
        assert expected in problems, expected


def test_iso_durations() -> None:
    assert iso_duration(0) == "PT0S" and iso_duration(59.5) == "PT59.5S"
    assert iso_duration(3723) == "PT1H2M3S" and iso_duration(3600) == "PT1H"


@pytest.fixture
def course_things(factory, world) -> dict[str, int]:
    now = utcnow()
    with transaction(factory) as db:
        running = ClassMeeting(course_id=world.course_id, title="Live: loops", starts_at=now - timedelta(minutes=10),
                               ends_at=now + timedelta(minutes=80))
        missed = ClassMeeting(course_id=world.course_id, title="Live: types", starts_at=now - timedelta(days=2),
                              ends_at=now - timedelta(days=2, minutes=-90))
        future = ClassMeeting(course_id=world.course_id, title="Live: classes", starts_at=now + timedelta(days=3),
                              ends_at=now + timedelta(days=3, minutes=90))
        m1 = Material(course_id=world.course_id, title="Chapter 1", url="https://example.org/1")
        m2 = Material(course_id=world.course_id, title="Chapter 2")
        t_future = Task(course_id=world.course_id, title="Set 2", due_at=now + timedelta(days=1), max_points=10)
        t_past = Task(course_id=world.course_id, title="Set 1", due_at=now - timedelta(hours=1), max_points=10)
        t_missed = Task(course_id=world.course_id, title="Set 0", due_at=now - timedelta(days=3), max_points=10)
        db.add_all([running, missed, future, m1, m2, t_future, t_past, t_missed])
        db.flush()
        return {"running": running.id, "missed": missed.id, "future": future.id, "m1": m1.id, "m2": m2.id,
                "t_future": t_future.id, "t_past": t_past.id, "t_missed": t_missed.id}


def test_footprint_summary_from_real_actions(client, world, course_things) -> None:
    H = world.h("alice")
    c = course_things
    r = client.post(f"/api/learning/classes/{c['future']}/join", headers=H)
    assert r.status_code == 409 and error_code(r) == "conflict"  # not running yet
    assert client.post(f"/api/learning/classes/{c['running']}/leave", headers=H).status_code == 409  # not joined
    assert client.post(f"/api/learning/classes/{c['running']}/join", headers=H).status_code == 200
    r = client.post(f"/api/learning/classes/{c['running']}/leave", headers=H)
    assert r.status_code == 200 and r.json()["duration_s"] >= 0
    assert client.post(f"/api/learning/materials/{c['m1']}/open", headers=H).json()["title"] == "Chapter 1"
    r = client.post(f"/api/learning/tasks/{c['t_future']}/submit", headers=H, json={"content": "my answers"})
    assert r.status_code == 201 and r.json()["on_time"] is True
    r = client.post(f"/api/learning/tasks/{c['t_past']}/submit", headers=H, json={"content": "late answers"})
    assert r.json()["on_time"] is False
    r = client.post(f"/api/learning/tasks/{c['t_past']}/submit", headers=H, json={"content": "again"})
    assert r.status_code == 409
    # another college's student cannot touch this course's things
    assert client.post(f"/api/learning/materials/{c['m1']}/open", headers=world.h("other_student")).status_code == 404
    # the teacher grades the task
    r = client.put(f"/api/teacher/tasks/{c['t_future']}/submissions/{world.users['alice']}/grade",
                   headers=world.h("teacher"), json={"points": 8})
    assert r.status_code == 200

    s = client.get("/api/learning/footprint", headers=H).json()
    assert s["classes_held"] == 2 and s["classes_attended"] == 1 and s["attendance_pct"] == 50.0
    assert (s["tasks_considered"], s["tasks_on_time"], s["tasks_late"], s["tasks_missing"]) == (3, 1, 1, 1)
    assert s["on_time_pct"] == 33.3
    assert s["materials"] == 2 and s["materials_opened"] == 1
    assert s["progress_pct"] == 60.0  # (1 material + 2 tasks) of (2 materials + 3 tasks)

    by_course = client.get(f"/api/v1/footprint/summary?course_id={world.course_id}", headers=world.h("api")).json()
    assert [x["learner"]["id"] for x in by_course] == [world.users["alice"], world.users["bob"]]
    assert by_course[0]["attendance_pct"] == 50.0 and by_course[1]["attendance_pct"] == 0.0
    assert by_course[1]["progress_pct"] == 0.0 and by_course[1]["tasks_missing"] == 2
    teacher_view = client.get(f"/api/teacher/courses/{world.course_id}/footprint", headers=world.h("teacher")).json()
    assert teacher_view == by_course

    log = client.get(f"/api/v1/footprint/activities?learner_id={world.users['alice']}", headers=world.h("api")).json()
    assert [a["verb"] for a in log] == ["joined_class", "left_class", "opened_material", "submitted_task",
                                        "submitted_task", "graded"]
    assert all(a["ip"] == "testclient" and a["at"] for a in log[:-1])  # from where, when (the grade: the teacher)
    assert log[3]["result"] == {"completion": True, "on_time": True}


def test_xapi_export_is_valid_and_filtered(client, world, course_things) -> None:
    H = world.h("alice")
    c = course_things
    client.post(f"/api/learning/classes/{c['running']}/join", headers=H)
    client.post(f"/api/learning/classes/{c['running']}/leave", headers=H)
    client.post(f"/api/learning/materials/{c['m2']}/open", headers=H)
    client.post(f"/api/learning/tasks/{c['t_past']}/submit", headers=H, json={"content": "x"})
    aid = submitted_attempt(client, world)
    client.post(f"/api/proctor/attempts/{aid}/review", headers=world.h("proctor"), json={"decision": "verify"})
    client.post(f"/api/learning/materials/{c['m1']}/open", headers=world.h("bob"))

    r = client.get(f"/api/v1/footprint/xapi?learner_id={world.users['alice']}", headers=world.h("api"))
    assert r.status_code == 200
    doc = r.json()
    assert set(doc) == {"statements", "more"} and doc["more"] == ""
    stmts = doc["statements"]
    for s in stmts:
        assert validate_statement(s) == [], s
    verbs = [s["verb"]["id"].rsplit("/", 1)[-1] for s in stmts]
    assert verbs == ["join", "leave", "experienced", "submit", "attempted", "completed", "scored"]
    assert len({s["id"] for s in stmts}) == len(stmts)
    assert {s["actor"]["account"]["name"] for s in stmts} == {str(world.users["alice"])}
    leave = stmts[1]
    assert leave["result"]["duration"].startswith("PT")
    assert stmts[3]["result"]["extensions"] == {"http://lms.test/xapi/extensions/on-time": False}
    scored = stmts[-1]
    assert scored["result"]["score"] == {"raw": 4.0, "min": 0, "max": 4.0, "scaled": 1.0}
    assert scored["result"]["success"] is True
    assert scored["context"]["contextActivities"]["parent"][0]["id"] == f"http://lms.test/xapi/activities/course/{world.course_id}"

    # by course, by time range, paged
    all_course = client.get(f"/api/v1/footprint/xapi?course_id={world.course_id}", headers=world.h("api")).json()
    assert len(all_course["statements"]) == 8  # bob's material too
    cut = stmts[4]["timestamp"]
    later = client.get("/api/v1/footprint/xapi", headers=world.h("api"),
                       params={"learner_id": world.users["alice"], "since": cut}).json()["statements"]
    assert [s["id"] for s in later] == [s["id"] for s in stmts[4:]]
    page = client.get(f"/api/v1/footprint/xapi?learner_id={world.users['alice']}&limit=3",
                      headers=world.h("api")).json()
    assert len(page["statements"]) == 3 and page["more"].startswith("/api/v1/footprint/xapi?")
    nxt = client.get(page["more"], headers=world.h("api")).json()
    assert [s["id"] for s in nxt["statements"]] == [s["id"] for s in stmts[3:6]]
    # a learner exports their own statements only
    mine = client.get("/api/learning/footprint/xapi", headers=world.h("bob")).json()["statements"]
    assert len(mine) == 1 and validate_statement(mine[0]) == []
    r = client.get("/api/v1/footprint/xapi", headers=world.h("api"), params={"since": "yesterday"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "query.since"


def test_sign_in_and_out_are_in_the_footprint(client, world) -> None:
    from server.auth.passwords import hash_password
    from server.db.models import User

    with world.factory() as db, db.begin():
        db.get(User, world.users["bob"]).password_hash = hash_password("bob-password-1")
    token = client.post("/api/auth/login", json={"email": "bob@test.kz", "password": "bob-password-1"}).json()["token"]
    client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    stmts = client.get(f"/api/v1/footprint/xapi?learner_id={world.users['bob']}", headers=world.h("api")).json()
    assert [s["verb"]["display"]["en-US"] for s in stmts["statements"]] == ["logged in", "logged out"]
    assert all(validate_statement(s) == [] for s in stmts["statements"])


def test_surveys_anonymous_and_named_with_results_per_course(client, world, factory) -> None:
    with transaction(factory) as db:
        c2 = Course(college_id=world.college_id, code="DB", title="Databases")
        db.add(c2)
        db.flush()
        db.add(Enrolment(course_id=c2.id, student_id=world.users["bob"]))
        c2_id = c2.id
    body = {"title": "LMS survey", "topic": "lms", "anonymous": True, "questions": [
        {"kind": "rating", "prompt": "Ease of use"}, {"kind": "single_choice", "prompt": "Device",
                                                     "options": ["laptop", "phone"]},
        {"kind": "text", "prompt": "Improve?"}]}
    s = client.post("/api/v1/surveys", headers=world.h("api"), json=body).json()
    q = [x["id"] for x in s["questions"]]
    assert [x["id"] for x in client.get("/api/surveys", headers=world.h("alice")).json()] == [s["id"]]
    ans = lambda r, d, t: [{"question_id": q[0], "value": r}, {"question_id": q[1], "value": d},  # noqa: E731
                           {"question_id": q[2], "value": t}]
    r = client.post(f"/api/surveys/{s['id']}/responses", headers=world.h("alice"),
                    json={"course_id": world.course_id, "answers": ans(4, 0, "dark mode")})
    assert r.status_code == 201
    assert client.post(f"/api/surveys/{s['id']}/responses", headers=world.h("alice"),
                       json={"answers": ans(1, 0, "again")}).status_code == 409
    bad = client.post(f"/api/surveys/{s['id']}/responses", headers=world.h("bob"), json={"answers": ans(7, 0, "x")})
    assert bad.status_code == 422
    assert client.post(f"/api/surveys/{s['id']}/responses", headers=world.h("bob"),
                       json={"course_id": c2_id, "answers": ans(2, 1, "faster")}).status_code == 201
    assert client.get("/api/surveys", headers=world.h("alice")).json() == []
    with factory() as db:  # anonymous: the responses do not say who answered
        assert {r.respondent_id for r in db.query(SurveyResponse).all()} == {None}
        assert db.query(SurveyParticipation).count() == 2
    res = client.get(f"/api/v1/surveys/{s['id']}/results", headers=world.h("api")).json()
    assert res["responses"] == 2 and res["respondents"] is None
    assert res["questions"][0]["mean"] == 3.0 and res["questions"][1]["counts"] == {"laptop": 1, "phone": 1}
    per = {x["course_id"]: x for x in res["by_course"]}
    assert per[world.course_id]["questions"][0]["mean"] == 4.0 and per[c2_id]["questions"][2]["texts"] == ["faster"]
    only = client.get(f"/api/v1/surveys/{s['id']}/results?course_id={c2_id}", headers=world.h("api")).json()
    assert only["responses"] == 1

    named = client.post("/api/v1/surveys", headers=world.h("api"), json={
        **body, "title": "Course content", "topic": "content", "anonymous": False, "course_id": c2_id}).json()
    assert client.get("/api/surveys", headers=world.h("alice")).json() == []  # alice is not in that course
    nq = [x["id"] for x in named["questions"]]
    r = client.post(f"/api/surveys/{named['id']}/responses", headers=world.h("alice"),
                    json={"answers": [{"question_id": nq[0], "value": 5}]})
    assert r.status_code == 404
    client.post(f"/api/surveys/{named['id']}/responses", headers=world.h("bob"), json={"answers": [
        {"question_id": nq[0], "value": 5}]})
    res = client.get(f"/api/v1/surveys/{named['id']}/results", headers=world.h("api")).json()
    assert res["respondents"] == [world.users["bob"]] and res["by_course"][0]["course_id"] == c2_id
    client.post(f"/api/v1/surveys/{named['id']}/close", headers=world.h("api"))
    r = client.post(f"/api/surveys/{named['id']}/responses", headers=world.h("bob"),
                    json={"answers": [{"question_id": nq[0], "value": 5}]})
    assert r.status_code == 409
