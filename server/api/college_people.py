"""College API: people (students, teachers, proctors, admins) and enrolments."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from server.api.auth import UserOut, user_out
from server.api.deps import DB, CollegeActor
from server.api.types import Email
from server.domain.enums import Role
from server.services import access, people

router = APIRouter(prefix="/api/v1", tags=["college: people"])


class UserIn(BaseModel):
    email: Email
    full_name: str = Field(min_length=1, max_length=255)
    role: Role = Role.student
    external_id: str | None = Field(default=None, max_length=128)
    password: str | None = Field(default=None, min_length=8, max_length=1024)


class UserPatch(BaseModel):
    email: Email | None = None
    full_name: str | None = Field(default=None, min_length=1, max_length=255)
    external_id: str | None = Field(default=None, max_length=128)
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    is_active: bool | None = None


class EnrolmentIn(BaseModel):
    course_id: int
    student_id: int


class EnrolmentOut(BaseModel):
    id: int
    course_id: int
    student_id: int


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a student, teacher, proctor or admin")
def create_user(body: UserIn, db: DB, caller: CollegeActor) -> UserOut:
    return user_out(people.create_user(db, caller, **body.model_dump()))


@router.get("/users", response_model=list[UserOut], summary="List the college's people")
def list_users(db: DB, caller: CollegeActor, role: Role | None = None,
               limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0)) -> list[UserOut]:
    return [user_out(u) for u in people.users_of_college(db, caller.college_id, role, limit, offset)]


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: int, db: DB, caller: CollegeActor) -> UserOut:
    return user_out(access.college_user(db, caller, user_id))


@router.patch("/users/{user_id}", response_model=UserOut, summary="Update a person")
def update_user(user_id: int, body: UserPatch, db: DB, caller: CollegeActor) -> UserOut:
    user = access.college_user(db, caller, user_id)
    return user_out(people.update_user(db, caller, user, body.model_dump(exclude_unset=True)))


@router.post("/enrolments", response_model=EnrolmentOut, status_code=201, summary="Enrol a student in a course")
def enrol(body: EnrolmentIn, db: DB, caller: CollegeActor) -> EnrolmentOut:
    row = people.enrol(db, caller, body.course_id, body.student_id)
    return EnrolmentOut(id=row.id, course_id=row.course_id, student_id=row.student_id)


@router.get("/enrolments", response_model=list[EnrolmentOut])
def list_enrolments(db: DB, caller: CollegeActor, course_id: int | None = None,
                    student_id: int | None = None) -> list[EnrolmentOut]:
    return [EnrolmentOut(id=e.id, course_id=e.course_id, student_id=e.student_id)
            for e in people.enrolments_of_college(db, caller.college_id, course_id, student_id)]


@router.delete("/enrolments/{enrolment_id}", status_code=204)
def unenrol(enrolment_id: int, db: DB, caller: CollegeActor) -> Response:
    people.unenrol(db, caller, enrolment_id)
    return Response(status_code=204)


@router.put("/courses/{course_id}/teachers/{teacher_id}", status_code=204, summary="Assign a teacher to a course")
def assign_teacher(course_id: int, teacher_id: int, db: DB, caller: CollegeActor) -> Response:
    people.assign_teacher(db, caller, course_id, teacher_id)
    return Response(status_code=204)
