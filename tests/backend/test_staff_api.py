"""The endpoints the staff pages added (issue 16): a teacher's classes, materials, tasks, exams and questions in
the courses they teach; a learner's footprint over time; survey results per course for a teacher; the 30 % rule
checked on an unsaved plan. Each is role-checked: a teacher only for the courses they teach, nobody across
colleges, students never."""

from __future__ import annotations

from datetime import timedelta

from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import Activity, ClassMeeting, Course, Enrolment, Material, Task, TaskSubmission
from server.domain.footprint_timeline import Row, bucket_ends, timeline

from .conftest import error_code


def _iso(d):
    return d.isoformat()


def test_a_teacher_adds_classes_materials_and_tasks_to_their_own_course(client, world) -> None:
    now = utcnow()
    cid = world.course_id
    T = world.h("teacher")
    r = client.post(f"/api/teacher/courses/{cid}/classes", headers=T, json={
        "title": "Week 3: loops", "starts_at": _iso(now + timedelta(days=1)), "ends_at": _iso(now + timedelta(days=1, hours=1))})
    assert r.status_code == 201 and r.json()["title"] == "Week 3: loops" and r.json()["course_id"] == cid
    r = client.post(f"/api/teacher/courses/{cid}/classes", headers=T, json={
        "title": "backwards", "starts_at": _iso(now), "ends_at": _iso(now - timedelta(hours=1))})
    assert r.status_code == 422 and error_code(r) == "validation_error"
    r = client.post(f"/api/teacher/courses/{cid}/materials", headers=T,
                    json={"title": "Loops explained", "url": "https://example.org/loops"})
    assert r.status_code == 201 and r.json()["url"] == "https://example.org/loops"
    r = client.post(f"/api/teacher/courses/{cid}/tasks", headers=T,
                    json={"title": "Loop exercises", "due_at": _iso(now + timedelta(days=7)), "max_points": 20})
    assert r.status_code == 201 and r.json()["max_points"] == 20
    task_id = r.json()["id"]
    # the students see them at once, and a hand-in shows in the teacher's counts
    mine = client.get("/api/learning/courses", headers=world.h("alice")).json()[0]
    assert [c["title"] for c in mine["classes"]] == ["Week 3: loops"]
    assert [m["title"] for m in mine["materials"]] == ["Loops explained"]
    assert client.post(f"/api/learning/tasks/{task_id}/submit", headers=world.h("alice"),
                       json={"content": "done"}).status_code == 201
    content = client.get(f"/api/teacher/courses/{cid}/content", headers=T).json()
    assert content["course"]["id"] == cid
    assert [(t["title"], t["hand_ins"], t["graded"]) for t in content["tasks"]] == [("Loop exercises", 1, 0)]
    assert {x["full_name"] for x in content["learners"]} == {"Alice", "Bob"}
    # a college admin may do it too; another teacher, a student, another college and an API key may not
    assert client.get(f"/api/teacher/courses/{cid}/content", headers=world.h("admin")).status_code == 200
    for who, status in (("teacher2", 404), ("alice", 403), ("other_admin", 404), ("api", 403)):
        r = client.post(f"/api/teacher/courses/{cid}/materials", headers=world.h(who), json={"title": "x"})
        assert r.status_code == status, who
        assert client.get(f"/api/teacher/courses/{cid}/content", headers=world.h(who)).status_code == status, who


def test_a_teacher_creates_an_exam_and_writes_its_questions(client, world) -> None:
    now = utcnow()
    cid = world.course_id
    T = world.h("teacher")
    body = {"title": "Loops quiz", "type": "practice", "opens_at": _iso(now), "closes_at": _iso(now + timedelta(days=2)),
            "time_limit_min": 20, "proctored": False, "course_id": world.other_course_id,  # the path's course wins
            "questions": [{"kind": "single_choice", "prompt": "range(3) has?", "options": ["2", "3"], "correct": [1]}]}
    r = client.post(f"/api/teacher/courses/{cid}/exams", headers=T, json=body)
    assert r.status_code == 201, r.text
    exam = r.json()
    assert exam["course_id"] == cid and exam["questions"][0]["correct"] == [1]
    # the college API's rules hold: an attestation must be proctored; a bad question is refused
    r = client.post(f"/api/teacher/courses/{cid}/exams", headers=T, json=body | {"type": "final_attestation"})
    assert r.status_code == 422
    r = client.put(f"/api/teacher/exams/{exam['id']}/questions", headers=T, json={"questions": [
        {"kind": "single_choice", "prompt": "no options", "options": [], "correct": [0]}]})
    assert r.status_code == 422 and error_code(r) == "validation_error"
    r = client.put(f"/api/teacher/exams/{exam['id']}/questions", headers=T, json={"questions": [
        {"kind": "short_text", "prompt": "Keyword to leave a loop?", "correct": ["break"], "points": 2},
        {"kind": "multiple_choice", "prompt": "Loops in Python", "options": ["for", "while", "until"],
         "correct": [0, 1], "points": 2}]})
    assert r.status_code == 200 and [q["kind"] for q in r.json()["questions"]] == ["short_text", "multiple_choice"]
    listed = client.get(f"/api/teacher/courses/{cid}/exams", headers=T).json()
    assert {e["title"] for e in listed} == {"Attestation", "Practice", "Loops quiz"}
    assert client.get(f"/api/teacher/exams/{exam['id']}", headers=T).json()["questions"][0]["correct"] == ["break"]
    # questions freeze once someone has an attempt (the college API's rule)
    r = client.put(f"/api/teacher/exams/{world.exam_id}/questions", headers=T, json={"questions": []})
    assert r.status_code == 200
    for who, status in (("teacher2", 404), ("alice", 403), ("other_admin", 404)):
        assert client.get(f"/api/teacher/exams/{exam['id']}", headers=world.h(who)).status_code == status, who
        assert client.post(f"/api/teacher/courses/{cid}/exams", headers=world.h(who), json=body).status_code == status


def test_the_learner_timeline_matches_the_summary_at_its_last_point(client, world, factory) -> None:
    now = utcnow()
    with transaction(factory) as db:
        held = ClassMeeting(course_id=world.course_id, title="held", starts_at=now - timedelta(days=5),
                            ends_at=now - timedelta(days=5) + timedelta(hours=1))
        running = ClassMeeting(course_id=world.course_id, title="running", starts_at=now - timedelta(minutes=5),
                               ends_at=now + timedelta(hours=1))
        m = Material(course_id=world.course_id, title="Chapter 1")
        late = Task(course_id=world.course_id, title="late one", due_at=now - timedelta(days=4), max_points=10)
        db.add_all([held, running, m, late])
        db.flush()
        db.add(TaskSubmission(task_id=late.id, student_id=world.users["alice"], submitted_at=now - timedelta(days=3),
                              on_time=False, content="x"))
        db.add(Activity(college_id=world.college_id, actor_id=world.users["alice"], verb="opened_material",
                        object_type="material", object_id=str(m.id), course_id=world.course_id,
                        at=now - timedelta(days=2)))
        ids = {"running": running.id}
    assert client.post(f"/api/learning/classes/{ids['running']}/join", headers=world.h("alice")).status_code == 200
    r = client.get(f"/api/teacher/courses/{world.course_id}/learners/{world.users['alice']}/timeline",
                   headers=world.h("teacher"))
    assert r.status_code == 200, r.text
    tl = r.json()
    assert tl["bucket"] == "day" and tl["learner"]["full_name"] == "Alice"
    pts = tl["points"]
    assert [p["materials_opened"] for p in pts] == sorted(p["materials_opened"] for p in pts)  # cumulative
    first_with_class = next(p for p in pts if p["classes_held"] >= 1)
    assert first_with_class["classes_attended"] == 0 and first_with_class["attendance_pct"] == 0.0
    summary = next(x for x in client.get(f"/api/teacher/courses/{world.course_id}/footprint",
                                         headers=world.h("teacher")).json() if x["learner"]["id"] == world.users["alice"])
    for k in ("attendance_pct", "on_time_pct", "progress_pct", "classes_held", "classes_attended", "materials_opened"):
        assert pts[-1][k] == summary[k], k
    # not a learner of the course, another teacher, a student: refused
    with transaction(factory) as db:
        c2 = Course(college_id=world.college_id, code="DB", title="Databases")
        db.add(c2)
        db.flush()
        db.add(Enrolment(course_id=c2.id, student_id=world.users["bob"]))
    url = f"/api/teacher/courses/{world.course_id}/learners/{{}}/timeline"
    assert client.get(url.format(world.users["other_student"]), headers=world.h("teacher")).status_code == 404
    assert client.get(url.format(world.users["alice"]), headers=world.h("teacher2")).status_code == 404
    assert client.get(url.format(world.users["alice"]), headers=world.h("alice")).status_code == 403


def test_timeline_points_and_buckets() -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 3, 31, 12, tzinfo=timezone.utc)
    kind, ends = bucket_ends(now - timedelta(days=3), now)
    assert kind == "day" and len(ends) == 4 and ends[-1] == now
    kind, ends = bucket_ends(now - timedelta(days=400), now)
    assert kind == "week" and len(ends) == 26 and ends[-1] == now
    rows = [Row(now - timedelta(days=2), "class", 1), Row(now - timedelta(days=1), "joined_class", 1),
            Row(now - timedelta(days=2), "task_due", 7), Row(now - timedelta(days=1), "submission", 7, False)]
    pts = timeline(rows, materials={3}, tasks={7}, ends=[now - timedelta(days=2), now])
    assert (pts[0]["attendance_pct"], pts[0]["on_time_pct"], pts[0]["progress_pct"]) == (0.0, 0.0, 0.0)
    assert (pts[1]["attendance_pct"], pts[1]["on_time_pct"], pts[1]["progress_pct"]) == (100.0, 0.0, 50.0)


def test_a_teacher_reads_survey_results_of_their_course_only(client, world, factory) -> None:
    body = {"title": "LMS", "topic": "lms", "anonymous": True,
            "questions": [{"kind": "rating", "prompt": "Ease"}, {"kind": "text", "prompt": "Improve?"}]}
    s = client.post("/api/v1/surveys", headers=world.h("api"), json=body).json()
    q = [x["id"] for x in s["questions"]]
    with transaction(factory) as db:
        c2 = Course(college_id=world.college_id, code="DB", title="Databases")
        db.add(c2)
        db.flush()
        db.add(Enrolment(course_id=c2.id, student_id=world.users["bob"]))
        c2_id = c2.id
    client.post(f"/api/surveys/{s['id']}/responses", headers=world.h("alice"), json={
        "course_id": world.course_id, "answers": [{"question_id": q[0], "value": 5}, {"question_id": q[1], "value": "ok"}]})
    client.post(f"/api/surveys/{s['id']}/responses", headers=world.h("bob"), json={
        "course_id": c2_id, "answers": [{"question_id": q[0], "value": 1}]})
    T = world.h("teacher")
    assert [x["id"] for x in client.get("/api/teacher/surveys", headers=T).json()] == [s["id"]]
    r = client.get(f"/api/teacher/surveys/{s['id']}/results?course_id={world.course_id}", headers=T)
    assert r.status_code == 200
    res = r.json()
    assert res["responses"] == 1 and res["questions"][0]["mean"] == 5.0 and res["questions"][1]["texts"] == ["ok"]
    # the other course's answers are not the teacher's to read
    assert client.get(f"/api/teacher/surveys/{s['id']}/results?course_id={c2_id}", headers=T).status_code == 404
    assert client.get(f"/api/teacher/surveys/{s['id']}/results?course_id={world.course_id}",
                      headers=world.h("alice")).status_code == 403
    assert client.get(f"/api/teacher/surveys/{s['id']}/results?course_id={world.course_id}",
                      headers=world.h("other_admin")).status_code == 404


def test_plan_check_tells_what_counts_without_saving(client, world) -> None:
    items = [{"title": "Lectures", "hours": 20, "format": "synchronous"},
             {"title": "Online", "hours": 80, "format": "asynchronous"},
             {"title": "Industrial training", "hours": 300, "format": "synchronous", "industrial_training": True},
             {"title": "Professional practice", "hours": 100, "format": "asynchronous", "professional_practice": True}]
    r = client.post("/api/v1/plan-check", headers=world.h("admin"), json={"items": items})
    assert r.status_code == 200
    c = r.json()
    assert c["ok"] is False and c["basis"] == "hours" and c["excluded_items"] == 2
    assert (c["hours"]["total"], c["hours"]["excluded"], c["hours"]["counted"], c["hours"]["synchronous"]) == (500, 400, 100, 20)
    assert c["hours"]["shortfall"] == 10 and "below the required 30%" in c["message"]
    items[0]["hours"] = 40  # 40 of 120 counted hours
    assert client.post("/api/v1/plan-check", headers=world.h("api"), json={"items": items}).json()["ok"] is True
    assert client.get("/api/v1/programmes", headers=world.h("admin")).json() == []  # nothing was saved
    assert client.post("/api/v1/plan-check", headers=world.h("teacher"), json={"items": items}).status_code == 403
    r = client.post("/api/v1/plan-check", headers=world.h("admin"), json={"items": [{"title": "x", "hours": -1,
                                                                                      "format": "synchronous"}]})
    assert r.status_code == 422
