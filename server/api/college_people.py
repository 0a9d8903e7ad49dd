"""College API: people (students, teachers, proctors, admins) and enrolments."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from server.api.auth import UserOut, user_out
from server.api.deps import DB, CollegeActor
from server.api.errors import ApiError, conflict, not_found
from server.api.types import Email
from server.api.services import access
from server.auth.passwords import WeakPassword, hash_password
from server.db.models import CourseTeacher, Enrolment, User
from server.domain.enums import Role
from server.auth.tokens import revoke_all
from server.security.scopes import check_key_may_manage

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


def _password(pw: str | None) -> str | None:
    if pw is None:
        return None
    try:
        return hash_password(pw)
    except WeakPassword as exc:
        raise ApiError(422, "validation_error", str(exc), [{"field": "body.password", "message": str(exc)}])


def _email_taken(db: DB, email: str, except_id: int | None = None, college_id: int | None = None) -> bool:
    q = select(User.id).where(func.lower(User.email) == email.lower(), User.college_id == college_id)
    if except_id is not None:
        q = q.where(User.id != except_id)
    return db.execute(q).first() is not None


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a student, teacher, proctor or admin")
def create_user(body: UserIn, db: DB, caller: CollegeActor) -> UserOut:
    check_key_may_manage(caller, body.role.value, body.password is not None)
    if _email_taken(db, body.email, college_id=caller.college_id):
        raise conflict(f"a user with e-mail {body.email} exists", {"field": "email"})
    if body.external_id and db.execute(select(User.id).where(User.college_id == caller.college_id,
                                                             User.external_id == body.external_id)).first():
        raise conflict(f"a user with external id {body.external_id} exists", {"field": "external_id"})
    user = User(college_id=caller.college_id, email=body.email.lower(), full_name=body.full_name, role=body.role.value,
                external_id=body.external_id, password_hash=_password(body.password))
    db.add(user)
    db.flush()
    return user_out(user)


@router.get("/users", response_model=list[UserOut], summary="List the college's people")
def list_users(db: DB, caller: CollegeActor, role: Role | None = None,
               limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0)) -> list[UserOut]:
    q = select(User).where(User.college_id == caller.college_id)
    if role:
        q = q.where(User.role == role.value)
    return [user_out(u) for u in db.execute(q.order_by(User.id).limit(limit).offset(offset)).scalars()]


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: int, db: DB, caller: CollegeActor) -> UserOut:
    return user_out(access.college_user(db, caller, user_id))


@router.patch("/users/{user_id}", response_model=UserOut, summary="Update a person")
def update_user(user_id: int, body: UserPatch, db: DB, caller: CollegeActor) -> UserOut:
    user = access.college_user(db, caller, user_id)
    data = body.model_dump(exclude_unset=True)
    check_key_may_manage(caller, user.role, "password" in data)
    if "email" in data and data["email"] is not None:
        if _email_taken(db, data["email"], user.id, caller.college_id):
            raise conflict(f"a user with e-mail {data['email']} exists", {"field": "email"})
        user.email = data["email"].lower()
    for key in ("full_name", "external_id", "is_active"):
        if key in data and (data[key] is not None or key == "external_id"):
            setattr(user, key, data[key])
    if data.get("password"):
        user.password_hash = _password(data["password"])
        revoke_all(db, user.id, caller.token_id if caller.user_id == user.id else None)  # a reset signs them out
    if data.get("is_active") is False:
        revoke_all(db, user.id)
    db.flush()
    return user_out(user)


@router.post("/enrolments", response_model=EnrolmentOut, status_code=201, summary="Enrol a student in a course")
def enrol(body: EnrolmentIn, db: DB, caller: CollegeActor) -> EnrolmentOut:
    course = access.college_course(db, caller, body.course_id)
    student = access.college_user(db, caller, body.student_id, Role.student)
    if access.is_enrolled(db, student.id, course.id):
        raise conflict("the student is already enrolled in this course")
    row = Enrolment(course_id=course.id, student_id=student.id)
    db.add(row)
    db.flush()
    return EnrolmentOut(id=row.id, course_id=row.course_id, student_id=row.student_id)


@router.get("/enrolments", response_model=list[EnrolmentOut])
def list_enrolments(db: DB, caller: CollegeActor, course_id: int | None = None,
                    student_id: int | None = None) -> list[EnrolmentOut]:
    q = select(Enrolment).join(User, User.id == Enrolment.student_id).where(User.college_id == caller.college_id)
    if course_id is not None:
        q = q.where(Enrolment.course_id == course_id)
    if student_id is not None:
        q = q.where(Enrolment.student_id == student_id)
    return [EnrolmentOut(id=e.id, course_id=e.course_id, student_id=e.student_id)
            for e in db.execute(q.order_by(Enrolment.id)).scalars()]


@router.delete("/enrolments/{enrolment_id}", status_code=204)
def unenrol(enrolment_id: int, db: DB, caller: CollegeActor) -> Response:
    row = db.get(Enrolment, enrolment_id)
    if row is None or access.college_course(db, caller, row.course_id) is None:
        raise not_found("enrolment", enrolment_id)
    db.delete(row)
    return Response(status_code=204)


@router.put("/courses/{course_id}/teachers/{teacher_id}", status_code=204, summary="Assign a teacher to a course")
def assign_teacher(course_id: int, teacher_id: int, db: DB, caller: CollegeActor) -> Response:
    course = access.college_course(db, caller, course_id)
    teacher = access.college_user(db, caller, teacher_id, Role.teacher)
    if not access.teaches(db, teacher.id, course.id):
        db.add(CourseTeacher(course_id=course.id, teacher_id=teacher.id))
    return Response(status_code=204)
