"""Classes, materials and tasks of a course: their request and answer shapes, and the three routes that add
them. The college API (college admin or API key) and the teacher's pages (a course they teach) add items the
same way; only who may and how the course is looked up differ, so both register these routes with their own
gate.

This module does not use postponed annotations: the routes' parameter types are the caller's gate, chosen when
the routes are registered."""

from typing import Any, Callable

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from server.api.deps import DB
from server.api.schemas import Number
from server.api.types import Title
from server.auth.principal import Principal
from server.db.models import ClassMeeting, Course, Material, Task
from server.services import programmes


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


def item_routes(router: APIRouter, caller: Any, course_of: Callable[[Session, Principal, int], Course], *,
                names: tuple[str, str, str], summaries: tuple[str, str, str]) -> None:
    """Register the three 'add to a course' routes on `router`: `caller` is the gate's dependency type,
    `course_of` finds the course the caller may add to (404 otherwise); `names` keep each API's operation ids."""
    course_path = "/courses/{course_id}"

    @router.post(course_path + "/classes", status_code=201, response_model=ClassOut, name=names[0],
                 summary=summaries[0])
    def new_class(course_id: int, body: ClassIn, db: DB, who: caller) -> ClassOut:
        c = course_of(db, who, course_id)
        return class_out(programmes.add_class(db, c, body.title, body.starts_at, body.ends_at))

    @router.post(course_path + "/materials", status_code=201, response_model=NewMaterialOut, name=names[1],
                 summary=summaries[1])
    def new_material(course_id: int, body: MaterialIn, db: DB, who: caller) -> NewMaterialOut:
        c = course_of(db, who, course_id)
        return material_out(programmes.add_material(db, c, body.title, body.url, body.body))

    @router.post(course_path + "/tasks", status_code=201, response_model=TaskOut, name=names[2],
                 summary=summaries[2])
    def new_task(course_id: int, body: TaskIn, db: DB, who: caller) -> TaskOut:
        c = course_of(db, who, course_id)
        return task_out(programmes.add_task(db, c, body.title, body.due_at, body.max_points))
