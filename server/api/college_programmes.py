"""College API: programmes and their plans (the 30% rule), courses, and a course's classes, materials and
tasks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from server.api.course_items import item_routes
from server.api.deps import DB, CollegeActor
from server.api.types import Code, Title
from server.db.base import iso
from server.db.models import Course, Programme
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


item_routes(router, CollegeActor, access.college_course,
            names=("create_class", "create_material", "create_task"),
            summaries=("Schedule a synchronous class", "Add a study material", "Add a task with a due date"))
