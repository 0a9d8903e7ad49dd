"""A college's people and enrolments: accounts (e-mail and external id unique in the college, passwords hashed
with argon2 and refused when weak; a password reset or a disabled account revokes the person's sign-in tokens;
API keys may not create or change college admins nor set passwords), enrolling students, assigning teachers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.auth.passwords import WeakPassword, hash_password
from server.auth.principal import Principal
from server.auth.tokens import revoke_all
from server.db.models import CourseTeacher, Enrolment, User
from server.domain.enums import Role
from server.security.scopes import check_key_may_manage
from server.services import access
from server.services.errors import Conflict, Invalid, NotFound


def _password_hash(pw: str | None) -> str | None:
    if pw is None:
        return None
    try:
        return hash_password(pw)
    except WeakPassword as exc:
        raise Invalid(str(exc), [{"field": "body.password", "message": str(exc)}])


def email_taken(db: Session, email: str, college_id: int, except_id: int | None = None) -> bool:
    """Whether the address is in use in this college (other colleges' addresses are neither seen nor told)."""
    q = select(User.id).where(func.lower(User.email) == email.lower(), User.college_id == college_id)
    if except_id is not None:
        q = q.where(User.id != except_id)
    return db.execute(q).first() is not None


def create_user(db: Session, p: Principal, *, email: str, full_name: str, role: Role, external_id: str | None,
                password: str | None) -> User:
    check_key_may_manage(p, Role(role).value, password is not None)
    if email_taken(db, email, p.college_id):
        raise Conflict(f"a user with e-mail {email} exists", {"field": "email"})
    if external_id and db.execute(select(User.id).where(User.college_id == p.college_id,
                                                        User.external_id == external_id)).first():
        raise Conflict(f"a user with external id {external_id} exists", {"field": "external_id"})
    user = User(college_id=p.college_id, email=email.lower(), full_name=full_name, role=Role(role).value,
                external_id=external_id, password_hash=_password_hash(password))
    db.add(user)
    db.flush()
    return user


def update_user(db: Session, p: Principal, user: User, changes: dict[str, Any]) -> User:
    """Apply the given changes (None leaves a field as it is, except external_id, which it clears). A new
    password signs the person out everywhere (but the caller's own session when they reset their own), and so
    does disabling the account."""
    check_key_may_manage(p, user.role, "password" in changes)
    if "email" in changes and changes["email"] is not None:
        if email_taken(db, changes["email"], user.college_id, user.id):
            raise Conflict(f"a user with e-mail {changes['email']} exists", {"field": "email"})
        user.email = changes["email"].lower()
    for key in ("full_name", "external_id", "is_active"):
        if key in changes and (changes[key] is not None or key == "external_id"):
            setattr(user, key, changes[key])
    if changes.get("password"):
        user.password_hash = _password_hash(changes["password"])
        revoke_all(db, user.id, p.token_id if p.user_id == user.id else None)  # a reset signs them out
    if changes.get("is_active") is False:
        revoke_all(db, user.id)
    db.flush()
    return user


def users_of_college(db: Session, college_id: int, role: Role | None = None, limit: int = 200,
                     offset: int = 0) -> list[User]:
    q = select(User).where(User.college_id == college_id)
    if role:
        q = q.where(User.role == role.value)
    return list(db.execute(q.order_by(User.id).limit(limit).offset(offset)).scalars())


def enrol(db: Session, p: Principal, course_id: int, student_id: int) -> Enrolment:
    course = access.college_course(db, p, course_id)
    student = access.college_user(db, p, student_id, Role.student)
    if access.is_enrolled(db, student.id, course.id):
        raise Conflict("the student is already enrolled in this course")
    row = Enrolment(course_id=course.id, student_id=student.id)
    db.add(row)
    db.flush()
    return row


def enrolments_of_college(db: Session, college_id: int, course_id: int | None = None,
                          student_id: int | None = None) -> list[Enrolment]:
    q = select(Enrolment).join(User, User.id == Enrolment.student_id).where(User.college_id == college_id)
    if course_id is not None:
        q = q.where(Enrolment.course_id == course_id)
    if student_id is not None:
        q = q.where(Enrolment.student_id == student_id)
    return list(db.execute(q.order_by(Enrolment.id)).scalars())


def unenrol(db: Session, p: Principal, enrolment_id: int) -> None:
    row = db.get(Enrolment, enrolment_id)
    if row is None or access.college_course(db, p, row.course_id) is None:
        raise NotFound.of("enrolment", enrolment_id)
    db.delete(row)


def assign_teacher(db: Session, p: Principal, course_id: int, teacher_id: int) -> None:
    course = access.college_course(db, p, course_id)
    teacher = access.college_user(db, p, teacher_id, Role.teacher)
    if not access.teaches(db, teacher.id, course.id):
        db.add(CourseTeacher(course_id=course.id, teacher_id=teacher.id))
