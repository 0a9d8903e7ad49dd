"""Loading objects for a caller: anything outside the caller's college (or, for a student, not their own)
answers 404, so ids of other colleges' objects reveal nothing."""

from __future__ import annotations

from typing import Callable, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.services.errors import NotFound
from server.auth.principal import Principal
from server.db.models import (
    Attempt, ClassMeeting, Course, CourseTeacher, Enrolment, Exam, Material, ProctoringSession, Programme, Survey,
    Task, User, WebhookEndpoint,
)
from server.domain.enums import Role

T = TypeVar("T")


def college_of_exam(db: Session, exam: Exam) -> int:
    """The college an exam belongs to (through its course)."""
    return db.get(Course, exam.course_id).college_id


def _visible(db: Session, model: type[T], row_id, what: str, allowed: Callable[[T], bool]) -> T:
    """The row, or 404 when it is missing or the caller may not see it (the two answer alike)."""
    row = db.get(model, row_id)
    if row is None or not allowed(row):
        raise NotFound.of(what, row_id)
    return row


def college_course(db: Session, p: Principal, course_id: int) -> Course:
    return _visible(db, Course, course_id, "course", lambda c: c.college_id == p.college_id)


def college_programme(db: Session, p: Principal, programme_id: int) -> Programme:
    return _visible(db, Programme, programme_id, "programme", lambda g: g.college_id == p.college_id)


def college_exam(db: Session, p: Principal, exam_id: int) -> Exam:
    return _visible(db, Exam, exam_id, "exam", lambda e: college_of_exam(db, e) == p.college_id)


def college_user(db: Session, p: Principal, user_id: int, role: Role | None = None) -> User:
    return _visible(db, User, user_id, role.value if role else "user",
                    lambda u: u.college_id == p.college_id and (role is None or u.role == role.value))


def college_attempt(db: Session, p: Principal, attempt_id: int) -> Attempt:
    return _visible(db, Attempt, attempt_id, "attempt", lambda a: college_of_exam(db, a.exam) == p.college_id)


def own_attempt(db: Session, p: Principal, attempt_id: int) -> Attempt:
    return _visible(db, Attempt, attempt_id, "attempt", lambda a: a.student_id == p.user_id)


def college_session(db: Session, p: Principal, session_id: str) -> ProctoringSession:
    # the same answer for another college's session, naming nothing of it
    return _visible(db, ProctoringSession, session_id, "proctoring session",
                    lambda s: (a := db.get(Attempt, s.attempt_id)) is not None
                    and college_of_exam(db, a.exam) == p.college_id)


def college_endpoint(db: Session, p: Principal, endpoint_id: int) -> WebhookEndpoint:
    return _visible(db, WebhookEndpoint, endpoint_id, "webhook endpoint", lambda w: w.college_id == p.college_id)


def college_survey(db: Session, p: Principal, survey_id: int) -> Survey:
    return _visible(db, Survey, survey_id, "survey", lambda s: s.college_id == p.college_id)


def is_enrolled(db: Session, student_id: int, course_id: int) -> bool:
    return db.execute(
        select(Enrolment.id).where(Enrolment.student_id == student_id, Enrolment.course_id == course_id)
    ).first() is not None


def teaches(db: Session, teacher_id: int, course_id: int) -> bool:
    return db.get(CourseTeacher, (course_id, teacher_id)) is not None


def taught_course(db: Session, p: Principal, course_id: int) -> Course:
    """A course the caller teaches (a college admin: any course of the college)."""
    course = college_course(db, p, course_id)
    if p.role is Role.teacher and not teaches(db, p.user_id, course.id):
        raise NotFound.of("course", course_id)
    return course


def course_for_learner(db: Session, p: Principal, course_id: int) -> Course:
    """A course the caller may see as a learner (enrolled) or teacher/admin of the college."""
    course = college_course(db, p, course_id)
    if p.role is Role.student and not is_enrolled(db, p.user_id, course_id):
        raise NotFound.of("course", course_id)
    return course


def enrolled_exam(db: Session, p: Principal, exam_id: int) -> Exam:
    """An exam of a course the student is enrolled in."""
    return _visible(db, Exam, exam_id, "exam", lambda e: college_of_exam(db, e) == p.college_id
                    and is_enrolled(db, p.user_id, e.course_id))


def enrolled_item(db: Session, p: Principal, model: type[T], item_id: int, what: str) -> T:
    """A class, material or task of a course the student is enrolled in."""
    def allowed(item) -> bool:
        course = db.get(Course, item.course_id)
        return course.college_id == p.college_id and is_enrolled(db, p.user_id, course.id)
    return _visible(db, model, item_id, what, allowed)


__all__ = ["ClassMeeting", "Material", "Task"]
