"""The learner's side of courses, each action written to the digital footprint: join and leave a
synchronous class, open a material, hand in a task (on time or late); my footprint and its xAPI export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select

from server.api.deps import DB, From, Person, Settings, Student
from server.api.footprint import xapi_page
from server.api.schemas import LearnerSummaryOut, Number, XapiPage
from server.db.models import ClassMeeting, Course, Material, Task, TaskSubmission, User
from server.services import footprint_query as fq
from server.services import learning

router = APIRouter(prefix="/api/learning", tags=["learning"])


class SubmissionIn(BaseModel):
    content: str = Field(min_length=1, max_length=200_000)


class ClassBrief(BaseModel):
    id: int
    title: str
    starts_at: str
    ends_at: str


class MaterialBrief(BaseModel):
    id: int
    title: str
    url: str | None


class MyTaskOut(BaseModel):
    id: int
    title: str
    due_at: str
    max_points: Number
    submitted_at: str | None
    on_time: bool | None
    points: Number | None


class MyCourseOut(BaseModel):
    id: int
    code: str
    title: str
    classes: list[ClassBrief]
    materials: list[MaterialBrief]
    tasks: list[MyTaskOut]


class JoinedOut(BaseModel):
    class_id: int
    joined_at: str


class LeftOut(BaseModel):
    class_id: int
    left_at: str
    duration_s: Number


class MaterialOut(MaterialBrief):
    body: str | None


class HandedInOut(BaseModel):
    task_id: int
    submitted_at: str
    on_time: bool


@router.get("/courses", response_model=list[MyCourseOut], summary="My courses with their classes, materials and tasks")
def my_courses(db: DB, me: Student) -> list[dict[str, Any]]:
    out = []
    for cid in fq.learner_courses(db, me.user_id):
        c = db.get(Course, cid)
        subs = {s.task_id: s for s in db.execute(select(TaskSubmission).where(
            TaskSubmission.student_id == me.user_id)).scalars()}
        out.append({
            "id": c.id, "code": c.code, "title": c.title,
            "classes": [{"id": m.id, "title": m.title, "starts_at": m.starts_at.isoformat(),
                         "ends_at": m.ends_at.isoformat()} for m in db.execute(
                select(ClassMeeting).where(ClassMeeting.course_id == c.id).order_by(ClassMeeting.starts_at)).scalars()],
            "materials": [{"id": m.id, "title": m.title, "url": m.url} for m in db.execute(
                select(Material).where(Material.course_id == c.id).order_by(Material.id)).scalars()],
            "tasks": [{"id": t.id, "title": t.title, "due_at": t.due_at.isoformat(), "max_points": t.max_points,
                       "submitted_at": subs[t.id].submitted_at.isoformat() if t.id in subs else None,
                       "on_time": subs[t.id].on_time if t.id in subs else None,
                       "points": subs[t.id].points if t.id in subs else None}
                      for t in db.execute(select(Task).where(Task.course_id == c.id).order_by(Task.due_at)).scalars()],
        })
    return out


@router.post("/classes/{class_id}/join", response_model=JoinedOut, summary="Join a synchronous class (attendance)")
def join_class(class_id: int, db: DB, me: Student, origin: From) -> dict[str, Any]:
    m, a = learning.join_class(db, me, class_id, ip=origin.ip, user_agent=origin.user_agent)
    return {"class_id": m.id, "joined_at": a.at.isoformat()}


@router.post("/classes/{class_id}/leave", response_model=LeftOut, summary="Leave a synchronous class")
def leave_class(class_id: int, db: DB, me: Student, origin: From) -> dict[str, Any]:
    m, a = learning.leave_class(db, me, class_id, ip=origin.ip, user_agent=origin.user_agent)
    return {"class_id": m.id, "left_at": a.at.isoformat(), "duration_s": a.result["duration_s"]}


@router.post("/materials/{material_id}/open", response_model=MaterialOut, summary="Open a study material")
def open_material(material_id: int, db: DB, me: Student, origin: From) -> dict[str, Any]:
    m = learning.open_material(db, me, material_id, ip=origin.ip, user_agent=origin.user_agent)
    return {"id": m.id, "title": m.title, "url": m.url, "body": m.body}


@router.post("/tasks/{task_id}/submit", status_code=201, response_model=HandedInOut,
             summary="Hand in a task (on time or late)")
def submit_task(task_id: int, body: SubmissionIn, db: DB, me: Student, origin: From) -> dict[str, Any]:
    sub = learning.submit_task(db, me, task_id, body.content, ip=origin.ip, user_agent=origin.user_agent)
    return {"task_id": sub.task_id, "submitted_at": sub.submitted_at.isoformat(), "on_time": sub.on_time}


@router.get("/footprint", response_model=LearnerSummaryOut, summary="My footprint summary")
def my_footprint(db: DB, me: Student) -> dict[str, Any]:
    return fq.learner_summary(db, db.get(User, me.user_id))


@router.get("/footprint/xapi", response_model=XapiPage, summary="My footprint as xAPI statements")
def my_xapi(db: DB, me: Person, settings: Settings, since: AwareDatetime | None = None,
            until: AwareDatetime | None = None, limit: int = Query(500, ge=1, le=5000),
            after: int = Query(0, ge=0)) -> dict[str, Any]:
    return xapi_page(db, me.college_id, settings.resolved_public_url(), "/api/learning/footprint/xapi", me.user_id,
                     None, since, until, limit, after)
