"""Demo data, created through the model on first start: a college, its admin, a teacher, a proctor and a
student, an approved programme (meeting the 30% rule), a course with a class, a material and a task, a
proctored intermediate attestation, an unproctored practice test, an LMS survey and a college API key.

``seed_demo(session)`` is idempotent: when the demo college exists it creates nothing and returns the logins
without passwords. The passwords are generated (unless ``passwords`` gives them, e.g. in tests) and returned
once, on creation, for ``proctor serve --demo`` to print: only ever seed a demo server, never a production one.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.keys import new_api_key
from server.auth.passwords import hash_password
from server.db.base import utcnow
from server.db.models import (
    ApiKey, ClassMeeting, College, Course, CourseTeacher, CurriculumItem, Enrolment, Exam, Material, Programme,
    Question, Survey, SurveyQuestion, Task, User,
)
from server.domain.curriculum import PlanItem, check_plan
from server.domain.enums import ExamType, ItemFormat, ProgrammeStatus, QuestionKind, Role, SurveyTopic

DEMO_SLUG = "demo"
DEMO_PEOPLE = [
    (Role.college_admin, "admin@demo.college", "Aigerim Admin", None),
    (Role.teacher, "teacher@demo.college", "Timur Teacher", None),
    (Role.proctor, "proctor@demo.college", "Perizat Proctor", None),
    (Role.student, "student@demo.college", "Sanzhar Student", "S-0001"),
]
DEMO_PLAN = [  # (title, hours, credits, format, industrial training, professional practice)
    ("Programming in Python: lectures", 72, 3, ItemFormat.synchronous, False, False),
    ("Programming in Python: self-study", 108, 4, ItemFormat.asynchronous, False, False),
    ("Databases: lectures and labs", 48, 2, ItemFormat.synchronous, False, False),
    ("Databases: online course", 72, 3, ItemFormat.asynchronous, False, False),
    ("Industrial training", 216, 6, ItemFormat.synchronous, True, False),
    ("Professional practice", 144, 4, ItemFormat.asynchronous, False, True),
]


def _logins(passwords: dict[str, str] | None) -> list[dict[str, Any]]:
    return [{"role": r.value, "email": e, "password": (passwords or {}).get(r.value)} for r, e, _n, _x in DEMO_PEOPLE]


def demo_passwords(given: dict[str, str] | None = None) -> dict[str, str]:
    """role -> password: the given ones, the rest generated (random, 16 characters)."""
    given = given or {}
    return {r.value: given.get(r.value) or secrets.token_urlsafe(12) for r, _e, _n, _x in DEMO_PEOPLE}


def seed_demo(session: Session, public_url: str | None = None,
              passwords: dict[str, str] | None = None) -> dict[str, Any]:
    existing = session.execute(select(College).where(College.slug == DEMO_SLUG)).scalar_one_or_none()
    if existing is not None:
        return {"created": False, "college_id": existing.id, "logins": _logins(None), "api_key": None}
    passwords = demo_passwords(passwords)
    now = utcnow()
    college = College(slug=DEMO_SLUG, name="Demo Polytechnic College")
    session.add(college)
    session.flush()
    people: dict[Role, User] = {}
    for role, email, name, ext in DEMO_PEOPLE:
        u = User(college_id=college.id, email=email, full_name=name, role=role.value, external_id=ext,
                 password_hash=hash_password(passwords[role.value]))
        session.add(u)
        people[role] = u
    session.flush()

    prog = Programme(college_id=college.id, code="SD-2026", title="Software Development (demo)")
    session.add(prog)
    session.flush()
    course = Course(college_id=college.id, programme_id=prog.id, code="PY-101", title="Programming in Python")
    session.add(course)
    session.flush()
    for n, (title, hours, credits, fmt, it, pp) in enumerate(DEMO_PLAN):
        prog.items.append(CurriculumItem(position=n, title=title, hours=hours, credits=credits, format=fmt.value,
                                         industrial_training=it, professional_practice=pp,
                                         course_id=course.id if n < 2 else None))
    check = check_plan(PlanItem(t, h, c, f, it, pp) for t, h, c, f, it, pp in DEMO_PLAN)
    prog.plan_check = check.to_dict()
    if check.ok:
        prog.status, prog.approved_at, prog.approved_by_id = ProgrammeStatus.approved.value, now, people[
            Role.college_admin].id
    session.add(CourseTeacher(course_id=course.id, teacher_id=people[Role.teacher].id))
    session.add(Enrolment(course_id=course.id, student_id=people[Role.student].id))
    session.add_all([
        ClassMeeting(course_id=course.id, title="Week 1: variables and types", starts_at=now - timedelta(days=2),
                     ends_at=now - timedelta(days=2) + timedelta(minutes=90)),
        ClassMeeting(course_id=course.id, title="Week 2: functions", starts_at=now + timedelta(days=5),
                     ends_at=now + timedelta(days=5, minutes=90)),
        Material(course_id=course.id, title="Python tutorial, chapters 1-4", url="https://docs.python.org/3/tutorial/"),
        Task(course_id=course.id, title="Exercise set 1", due_at=now + timedelta(days=7), max_points=10),
    ])

    questions = [
        Question(position=0, kind=QuestionKind.single_choice.value, prompt="What does len([1, 2, 3]) return?",
                 options=["2", "3", "4", "an error"], correct=[1], points=1),
        Question(position=1, kind=QuestionKind.multiple_choice.value, prompt="Which of these are immutable?",
                 options=["list", "tuple", "str", "dict"], correct=[1, 2], points=2),
        Question(position=2, kind=QuestionKind.short_text.value, prompt="Which keyword defines a function?",
                 options=None, correct=["def"], points=1),
        Question(position=3, kind=QuestionKind.short_text.value,
                 prompt="Explain in one sentence what a list comprehension is.", options=None, correct=[], points=2),
    ]
    attestation = Exam(course_id=course.id, title="Programming in Python: intermediate attestation",
                       type=ExamType.intermediate_attestation.value, opens_at=now - timedelta(hours=1),
                       closes_at=now + timedelta(days=30), time_limit_min=45, attempts_allowed=2, proctored=True,
                       pass_mark=50.0, questions=questions)
    practice = Exam(course_id=course.id, title="Practice quiz", type=ExamType.practice.value,
                    opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=30), time_limit_min=15,
                    attempts_allowed=5, proctored=False, questions=[
                        Question(position=0, kind=QuestionKind.single_choice.value, prompt="2 ** 3 == ?",
                                 options=["6", "8", "9"], correct=[1], points=1)])
    session.add_all([attestation, practice])
    session.add(Survey(college_id=college.id, course_id=None, title="How is the LMS working for you?",
                       topic=SurveyTopic.lms.value, anonymous=True, questions=[
                           SurveyQuestion(position=0, kind="rating", prompt="How easy is the LMS to use? (1-5)"),
                           SurveyQuestion(position=1, kind="text", prompt="What should we improve?")]))
    key, prefix, digest = new_api_key()
    session.add(ApiKey(college_id=college.id, name="demo integration", prefix=prefix, key_hash=digest,
                       created_by_id=people[Role.college_admin].id))
    session.flush()
    return {
        "created": True, "college_id": college.id, "programme_id": prog.id, "course_id": course.id,
        "exam_ids": [attestation.id, practice.id], "logins": _logins(passwords), "api_key": key,
        "url": public_url,
    }
