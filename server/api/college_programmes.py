"""College API: programmes and their plans (the 30% rule), courses, and a course's classes, materials and
tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field, model_validator
from sqlalchemy import select

from server.api.deps import DB, CollegeActor
from server.api.schemas import Number
from server.services.errors import Conflict, RuleViolation
from server.services import access
from server.api.types import Code, Title
from server.db.base import iso, utcnow
from server.db.models import ClassMeeting, Course, CurriculumItem, Material, Programme, Task
from server.domain.curriculum import PlanItem, check_plan
from server.domain.enums import ItemFormat, ProgrammeStatus

router = APIRouter(prefix="/api/v1", tags=["college: programmes and courses"])


class ItemIn(BaseModel):
    title: Title
    hours: float = Field(default=0, ge=0, le=100000)
    credits: float = Field(default=0, ge=0, le=10000)
    format: ItemFormat
    industrial_training: bool = False
    professional_practice: bool = False
    course_id: int | None = None


class ProgrammeIn(BaseModel):
    code: Code
    title: Title
    items: list[ItemIn] = Field(default_factory=list, max_length=2000)


class ProgrammePatch(BaseModel):
    code: Code | None = None
    title: Title | None = None


class PlanIn(BaseModel):
    items: list[ItemIn] = Field(max_length=2000)


class ProgrammeOut(BaseModel):
    id: int
    code: str
    title: str
    status: str
    approved_at: str | None
    items: list[dict[str, Any]]
    plan_check: dict[str, Any] | None


def programme_out(p: Programme) -> ProgrammeOut:
    return ProgrammeOut(
        id=p.id, code=p.code, title=p.title, status=p.status,
        approved_at=iso(p.approved_at),
        items=[{"id": i.id, "title": i.title, "hours": i.hours, "credits": i.credits, "format": i.format,
                "industrial_training": i.industrial_training, "professional_practice": i.professional_practice,
                "course_id": i.course_id} for i in p.items],
        plan_check=p.plan_check,
    )


def _recheck(p: Programme) -> dict[str, Any]:
    result = check_plan(PlanItem(i.title, i.hours, i.credits, ItemFormat(i.format), i.industrial_training,
                                 i.professional_practice) for i in p.items).to_dict()
    p.plan_check = result
    return result


def _set_items(db: DB, caller: CollegeActor, p: Programme, items: list[ItemIn]) -> None:
    for it in items:
        if it.course_id is not None:
            access.college_course(db, caller, it.course_id)
    p.items.clear()
    db.flush()
    for n, it in enumerate(items):
        p.items.append(CurriculumItem(position=n, **it.model_dump(mode="json")))
    db.flush()
    _recheck(p)
    if p.status == ProgrammeStatus.approved.value:  # a changed plan needs approving again
        p.status, p.approved_at, p.approved_by_id = ProgrammeStatus.draft.value, None, None


def _code_taken(db: DB, model: type, college_id: int, code: str, except_id: int | None = None) -> bool:
    q = select(model.id).where(model.college_id == college_id, model.code == code)
    if except_id is not None:
        q = q.where(model.id != except_id)
    return db.execute(q).first() is not None


@router.post("/programmes", response_model=ProgrammeOut, status_code=201,
             summary="Create a programme (a draft; its plan is checked against the 30% rule)")
def create_programme(body: ProgrammeIn, db: DB, caller: CollegeActor) -> ProgrammeOut:
    if _code_taken(db, Programme, caller.college_id, body.code):
        raise Conflict(f"a programme with code {body.code} exists", {"field": "code"})
    p = Programme(college_id=caller.college_id, code=body.code, title=body.title, status=ProgrammeStatus.draft.value)
    db.add(p)
    db.flush()
    _set_items(db, caller, p, body.items)
    return programme_out(p)


@router.get("/programmes", response_model=list[ProgrammeOut])
def list_programmes(db: DB, caller: CollegeActor) -> list[ProgrammeOut]:
    rows = db.execute(select(Programme).where(Programme.college_id == caller.college_id).order_by(Programme.id))
    return [programme_out(p) for p in rows.scalars()]


@router.get("/programmes/{programme_id}", response_model=ProgrammeOut)
def get_programme(programme_id: int, db: DB, caller: CollegeActor) -> ProgrammeOut:
    return programme_out(access.college_programme(db, caller, programme_id))


@router.patch("/programmes/{programme_id}", response_model=ProgrammeOut)
def update_programme(programme_id: int, body: ProgrammePatch, db: DB, caller: CollegeActor) -> ProgrammeOut:
    p = access.college_programme(db, caller, programme_id)
    if body.code is not None and body.code != p.code:
        if _code_taken(db, Programme, caller.college_id, body.code, p.id):
            raise Conflict(f"a programme with code {body.code} exists", {"field": "code"})
        p.code = body.code
    if body.title is not None:
        p.title = body.title
    return programme_out(p)


@router.put("/programmes/{programme_id}/plan", response_model=ProgrammeOut,
            summary="Replace the plan; the 30% rule is checked and reported (an approved programme returns to draft)")
def set_plan(programme_id: int, body: PlanIn, db: DB, caller: CollegeActor) -> ProgrammeOut:
    p = access.college_programme(db, caller, programme_id)
    _set_items(db, caller, p, body.items)
    return programme_out(p)


@router.post("/programmes/{programme_id}/approve", response_model=ProgrammeOut,
             summary="Approve the plan: refused (422 rule_violation, with the figures) if it breaks the 30% rule")
def approve_programme(programme_id: int, db: DB, caller: CollegeActor) -> ProgrammeOut:
    p = access.college_programme(db, caller, programme_id)
    result = _recheck(p)
    if not result["ok"]:
        raise RuleViolation(result["message"], {"plan_check": result})
    p.status, p.approved_at, p.approved_by_id = ProgrammeStatus.approved.value, utcnow(), caller.user_id
    return programme_out(p)


# --- courses ----------------------------------------------------------------------------------------------
class CourseIn(BaseModel):
    code: Code
    title: Title
    programme_id: int | None = None


class CoursePatch(BaseModel):
    code: Code | None = None
    title: Title | None = None
    programme_id: int | None = None


class CourseOut(BaseModel):
    id: int
    code: str
    title: str
    programme_id: int | None


def course_out(c: Course) -> CourseOut:
    return CourseOut(id=c.id, code=c.code, title=c.title, programme_id=c.programme_id)


@router.post("/courses", response_model=CourseOut, status_code=201)
def create_course(body: CourseIn, db: DB, caller: CollegeActor) -> CourseOut:
    if body.programme_id is not None:
        access.college_programme(db, caller, body.programme_id)
    if _code_taken(db, Course, caller.college_id, body.code):
        raise Conflict(f"a course with code {body.code} exists", {"field": "code"})
    c = Course(college_id=caller.college_id, code=body.code, title=body.title, programme_id=body.programme_id)
    db.add(c)
    db.flush()
    return course_out(c)


@router.get("/courses", response_model=list[CourseOut])
def list_courses(db: DB, caller: CollegeActor) -> list[CourseOut]:
    rows = db.execute(select(Course).where(Course.college_id == caller.college_id).order_by(Course.id))
    return [course_out(c) for c in rows.scalars()]


@router.get("/courses/{course_id}", response_model=CourseOut)
def get_course(course_id: int, db: DB, caller: CollegeActor) -> CourseOut:
    return course_out(access.college_course(db, caller, course_id))


@router.patch("/courses/{course_id}", response_model=CourseOut)
def update_course(course_id: int, body: CoursePatch, db: DB, caller: CollegeActor) -> CourseOut:
    c = access.college_course(db, caller, course_id)
    data = body.model_dump(exclude_unset=True)
    if data.get("code") and data["code"] != c.code:
        if _code_taken(db, Course, caller.college_id, data["code"], c.id):
            raise Conflict(f"a course with code {data['code']} exists", {"field": "code"})
        c.code = data["code"]
    if data.get("title"):
        c.title = data["title"]
    if "programme_id" in data:
        if data["programme_id"] is not None:
            access.college_programme(db, caller, data["programme_id"])
        c.programme_id = data["programme_id"]
    return course_out(c)


class ClassIn(BaseModel):
    title: Title
    starts_at: AwareDatetime
    ends_at: AwareDatetime

    @model_validator(mode="after")
    def _order(self) -> "ClassIn":
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class MaterialIn(BaseModel):
    title: Title
    url: str | None = Field(default=None, max_length=1024)
    body: str | None = Field(default=None, max_length=200_000)


class TaskIn(BaseModel):
    title: Title
    due_at: AwareDatetime
    max_points: float = Field(default=100, gt=0, le=100000)


class ClassOut(BaseModel):
    id: int
    course_id: int
    title: str
    starts_at: str
    ends_at: str


class NewMaterialOut(BaseModel):
    id: int
    course_id: int
    title: str
    url: str | None


class TaskOut(BaseModel):
    id: int
    course_id: int
    title: str
    due_at: str
    max_points: Number


def _iso(d: datetime) -> str:
    return d.isoformat()


@router.post("/courses/{course_id}/classes", status_code=201, response_model=ClassOut,
             summary="Schedule a synchronous class")
def create_class(course_id: int, body: ClassIn, db: DB, caller: CollegeActor) -> dict[str, Any]:
    c = access.college_course(db, caller, course_id)
    row = ClassMeeting(course_id=c.id, title=body.title, starts_at=body.starts_at, ends_at=body.ends_at)
    db.add(row)
    db.flush()
    return {"id": row.id, "course_id": c.id, "title": row.title, "starts_at": _iso(row.starts_at),
            "ends_at": _iso(row.ends_at)}


@router.post("/courses/{course_id}/materials", status_code=201, response_model=NewMaterialOut,
             summary="Add a study material")
def create_material(course_id: int, body: MaterialIn, db: DB, caller: CollegeActor) -> dict[str, Any]:
    c = access.college_course(db, caller, course_id)
    row = Material(course_id=c.id, title=body.title, url=body.url, body=body.body)
    db.add(row)
    db.flush()
    return {"id": row.id, "course_id": c.id, "title": row.title, "url": row.url}


@router.post("/courses/{course_id}/tasks", status_code=201, response_model=TaskOut,
             summary="Add a task with a due date")
def create_task(course_id: int, body: TaskIn, db: DB, caller: CollegeActor) -> dict[str, Any]:
    c = access.college_course(db, caller, course_id)
    row = Task(course_id=c.id, title=body.title, due_at=body.due_at, max_points=body.max_points)
    db.add(row)
    db.flush()
    return {"id": row.id, "course_id": c.id, "title": row.title, "due_at": _iso(row.due_at),
            "max_points": row.max_points}
