"""Programmes and courses of a college: codes unique in the college; a programme's plan is checked against the
30 % rule on every change (server.domain.curriculum) and can be approved only when it keeps it (a changed plan
returns to draft); a course's classes, materials and tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.principal import Principal
from server.db.base import utcnow
from server.db.models import ClassMeeting, Course, CourseTeacher, CurriculumItem, Material, Programme, Task
from server.domain.curriculum import PlanItem, check_plan
from server.domain.enums import ItemFormat, ProgrammeStatus, Role
from server.services import access
from server.services.errors import Conflict, RuleViolation


def code_taken(db: Session, model: type, college_id: int, code: str, except_id: int | None = None) -> bool:
    q = select(model.id).where(model.college_id == college_id, model.code == code)
    if except_id is not None:
        q = q.where(model.id != except_id)
    return db.execute(q).first() is not None


def check_items(items: Iterable[Any]) -> dict[str, Any]:
    """The 30 % rule checked on plan items (anything with a curriculum item's fields: saved rows or a request's
    items not saved yet): what counts, what is excluded and why."""
    return check_plan(PlanItem(i.title, i.hours, i.credits, ItemFormat(i.format), i.industrial_training,
                               i.professional_practice) for i in items).to_dict()


def recheck(p: Programme) -> dict[str, Any]:
    """Check the plan against the 30 % rule and keep the result on the programme."""
    result = check_items(p.items)
    p.plan_check = result
    return result


def set_plan(db: Session, caller: Principal, p: Programme, items: list[dict[str, Any]]) -> Programme:
    """Replace the plan (``items``: curriculum item fields, JSON-ready); an approved programme returns to draft."""
    for it in items:
        if it.get("course_id") is not None:
            access.college_course(db, caller, it["course_id"])
    p.items.clear()
    db.flush()
    for n, it in enumerate(items):
        p.items.append(CurriculumItem(position=n, **it))
    db.flush()
    recheck(p)
    if p.status == ProgrammeStatus.approved.value:  # a changed plan needs approving again
        p.status, p.approved_at, p.approved_by_id = ProgrammeStatus.draft.value, None, None
    return p


def create_programme(db: Session, caller: Principal, code: str, title: str, items: list[dict[str, Any]]) -> Programme:
    if code_taken(db, Programme, caller.college_id, code):
        raise Conflict(f"a programme with code {code} exists", {"field": "code"})
    p = Programme(college_id=caller.college_id, code=code, title=title, status=ProgrammeStatus.draft.value)
    db.add(p)
    db.flush()
    return set_plan(db, caller, p, items)


def programmes_of_college(db: Session, college_id: int) -> list[Programme]:
    return list(db.execute(select(Programme).where(Programme.college_id == college_id)
                           .order_by(Programme.id)).scalars())


def update_programme(db: Session, caller: Principal, p: Programme, code: str | None, title: str | None) -> Programme:
    if code is not None and code != p.code:
        if code_taken(db, Programme, caller.college_id, code, p.id):
            raise Conflict(f"a programme with code {code} exists", {"field": "code"})
        p.code = code
    if title is not None:
        p.title = title
    return p


def approve(p: Programme, approver_id: int | None) -> Programme:
    """Approve the plan; refused, with the figures, if it breaks the 30 % rule."""
    result = recheck(p)
    if not result["ok"]:
        raise RuleViolation(result["message"], {"plan_check": result})
    p.status, p.approved_at, p.approved_by_id = ProgrammeStatus.approved.value, utcnow(), approver_id
    return p


def create_course(db: Session, caller: Principal, code: str, title: str, programme_id: int | None) -> Course:
    if programme_id is not None:
        access.college_programme(db, caller, programme_id)
    if code_taken(db, Course, caller.college_id, code):
        raise Conflict(f"a course with code {code} exists", {"field": "code"})
    c = Course(college_id=caller.college_id, code=code, title=title, programme_id=programme_id)
    db.add(c)
    db.flush()
    return c


def courses_of_college(db: Session, college_id: int) -> list[Course]:
    return list(db.execute(select(Course).where(Course.college_id == college_id).order_by(Course.id)).scalars())


def taught_courses(db: Session, p: Principal) -> list[Course]:
    """The courses the caller teaches, by id (a college admin: every course of the college)."""
    q = select(Course).where(Course.college_id == p.college_id)
    if p.role is Role.teacher:
        q = q.join(CourseTeacher, CourseTeacher.course_id == Course.id).where(CourseTeacher.teacher_id == p.user_id)
    return list(db.execute(q.order_by(Course.id)).scalars())


def course_items(db: Session, course: Course) -> tuple[list[ClassMeeting], list[Material], list[Task]]:
    """A course's classes (by start), materials (by id) and tasks (by due date)."""
    classes = db.execute(select(ClassMeeting).where(ClassMeeting.course_id == course.id)
                         .order_by(ClassMeeting.starts_at)).scalars()
    materials = db.execute(select(Material).where(Material.course_id == course.id).order_by(Material.id)).scalars()
    tasks = db.execute(select(Task).where(Task.course_id == course.id).order_by(Task.due_at)).scalars()
    return list(classes), list(materials), list(tasks)


def course_titles(db: Session, college_id: int) -> dict[int, str]:
    """Course id -> title, for every course of the college."""
    return {c.id: c.title for c in courses_of_college(db, college_id)}


def update_course(db: Session, caller: Principal, c: Course, changes: dict[str, Any]) -> Course:
    if changes.get("code") and changes["code"] != c.code:
        if code_taken(db, Course, caller.college_id, changes["code"], c.id):
            raise Conflict(f"a course with code {changes['code']} exists", {"field": "code"})
        c.code = changes["code"]
    if changes.get("title"):
        c.title = changes["title"]
    if "programme_id" in changes:
        if changes["programme_id"] is not None:
            access.college_programme(db, caller, changes["programme_id"])
        c.programme_id = changes["programme_id"]
    return c


def add_class(db: Session, course: Course, title: str, starts_at: datetime, ends_at: datetime) -> ClassMeeting:
    row = ClassMeeting(course_id=course.id, title=title, starts_at=starts_at, ends_at=ends_at)
    db.add(row)
    db.flush()
    return row


def add_material(db: Session, course: Course, title: str, url: str | None, body: str | None) -> Material:
    row = Material(course_id=course.id, title=title, url=url, body=body)
    db.add(row)
    db.flush()
    return row


def add_task(db: Session, course: Course, title: str, due_at: datetime, max_points: float) -> Task:
    row = Task(course_id=course.id, title=title, due_at=due_at, max_points=max_points)
    db.add(row)
    db.flush()
    return row
