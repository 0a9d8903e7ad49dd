"""College API: programmes and their plans (the 30% rule), courses, and a course's classes, materials and
tasks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from server.api.deps import DB, CollegeActor
from server.api.schemas import Number
from server.api.types import Code, Title
from server.db.base import iso
from server.db.models import ClassMeeting, Course, Material, Programme, Task
from server.domain.enums import ItemFormat
from server.services import access, programmes

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


@router.post("/programmes", response_model=ProgrammeOut, status_code=201,
             summary="Create a programme (a draft; its plan is checked against the 30% rule)")
def create_programme(body: ProgrammeIn, db: DB, caller: CollegeActor) -> ProgrammeOut:
    items = [it.model_dump(mode="json") for it in body.items]
    return programme_out(programmes.create_programme(db, caller, body.code, body.title, items))


@router.get("/programmes", response_model=list[ProgrammeOut])
def list_programmes(db: DB, caller: CollegeActor) -> list[ProgrammeOut]:
    return [programme_out(p) for p in programmes.programmes_of_college(db, caller.college_id)]


@router.get("/programmes/{programme_id}", response_model=ProgrammeOut)
def get_programme(programme_id: int, db: DB, caller: CollegeActor) -> ProgrammeOut:
    return programme_out(access.college_programme(db, caller, programme_id))


@router.patch("/programmes/{programme_id}", response_model=ProgrammeOut)
def update_programme(programme_id: int, body: ProgrammePatch, db: DB, caller: CollegeActor) -> ProgrammeOut:
    p = access.college_programme(db, caller, programme_id)
    return programme_out(programmes.update_programme(db, caller, p, body.code, body.title))


@router.put("/programmes/{programme_id}/plan", response_model=ProgrammeOut,
            summary="Replace the plan; the 30% rule is checked and reported (an approved programme returns to draft)")
def set_plan(programme_id: int, body: PlanIn, db: DB, caller: CollegeActor) -> ProgrammeOut:
    p = access.college_programme(db, caller, programme_id)
    items = [it.model_dump(mode="json") for it in body.items]
    return programme_out(programmes.set_plan(db, caller, p, items))


@router.post("/programmes/{programme_id}/approve", response_model=ProgrammeOut,
             summary="Approve the plan: refused (422 rule_violation, with the figures) if it breaks the 30% rule")
def approve_programme(programme_id: int, db: DB, caller: CollegeActor) -> ProgrammeOut:
    p = access.college_programme(db, caller, programme_id)
    return programme_out(programmes.approve(p, caller.user_id))


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
    return course_out(programmes.create_course(db, caller, body.code, body.title, body.programme_id))


@router.get("/courses", response_model=list[CourseOut])
def list_courses(db: DB, caller: CollegeActor) -> list[CourseOut]:
    return [course_out(c) for c in programmes.courses_of_college(db, caller.college_id)]


@router.get("/courses/{course_id}", response_model=CourseOut)
def get_course(course_id: int, db: DB, caller: CollegeActor) -> CourseOut:
    return course_out(access.college_course(db, caller, course_id))


@router.patch("/courses/{course_id}", response_model=CourseOut)
def update_course(course_id: int, body: CoursePatch, db: DB, caller: CollegeActor) -> CourseOut:
    c = access.college_course(db, caller, course_id)
    return course_out(programmes.update_course(db, caller, c, body.model_dump(exclude_unset=True)))


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


def class_out(row: ClassMeeting) -> ClassOut:
    return ClassOut(id=row.id, course_id=row.course_id, title=row.title, starts_at=row.starts_at.isoformat(),
                    ends_at=row.ends_at.isoformat())


def material_out(row: Material) -> NewMaterialOut:
    return NewMaterialOut(id=row.id, course_id=row.course_id, title=row.title, url=row.url)


def task_out(row: Task) -> TaskOut:
    return TaskOut(id=row.id, course_id=row.course_id, title=row.title, due_at=row.due_at.isoformat(),
                   max_points=row.max_points)


@router.post("/courses/{course_id}/classes", status_code=201, response_model=ClassOut,
             summary="Schedule a synchronous class")
def create_class(course_id: int, body: ClassIn, db: DB, caller: CollegeActor) -> ClassOut:
    c = access.college_course(db, caller, course_id)
    return class_out(programmes.add_class(db, c, body.title, body.starts_at, body.ends_at))


@router.post("/courses/{course_id}/materials", status_code=201, response_model=NewMaterialOut,
             summary="Add a study material")
def create_material(course_id: int, body: MaterialIn, db: DB, caller: CollegeActor) -> NewMaterialOut:
    c = access.college_course(db, caller, course_id)
    return material_out(programmes.add_material(db, c, body.title, body.url, body.body))


@router.post("/courses/{course_id}/tasks", status_code=201, response_model=TaskOut,
             summary="Add a task with a due date")
def create_task(course_id: int, body: TaskIn, db: DB, caller: CollegeActor) -> TaskOut:
    c = access.college_course(db, caller, course_id)
    return task_out(programmes.add_task(db, c, body.title, body.due_at, body.max_points))
