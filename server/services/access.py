"""Loading objects for a caller: anything outside the caller's college (or, for a student, not their own)
answers 404, so ids of other colleges' objects reveal nothing."""

from __future__ import annotations

from typing import TypeVar

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


def college_course(db: Session, p: Principal, course_id: int) -> Course:
    course = db.get(Course, course_id)
    if course is None or course.college_id != p.college_id:
        raise NotFound.of("course", course_id)
    return course


def college_programme(db: Session, p: Principal, programme_id: int) -> Programme:
    prog = db.get(Programme, programme_id)
    if prog is None or prog.college_id != p.college_id:
        raise NotFound.of("programme", programme_id)
    return prog


def college_exam(db: Session, p: Principal, exam_id: int) -> Exam:
    exam = db.get(Exam, exam_id)
    if exam is None or college_of_exam(db, exam) != p.college_id:
        raise NotFound.of("exam", exam_id)
    return exam


def college_user(db: Session, p: Principal, user_id: int, role: Role | None = None) -> User:
    user = db.get(User, user_id)
    if user is None or user.college_id != p.college_id or (role is not None and user.role != role.value):
        raise NotFound.of(role.value if role else "user", user_id)
    return user


def college_attempt(db: Session, p: Principal, attempt_id: int) -> Attempt:
    attempt = db.get(Attempt, attempt_id)
    if attempt is None or college_of_exam(db, attempt.exam) != p.college_id:
        raise NotFound.of("attempt", attempt_id)
    return attempt


def own_attempt(db: Session, p: Principal, attempt_id: int) -> Attempt:
    attempt = db.get(Attempt, attempt_id)
    if attempt is None or attempt.student_id != p.user_id:
        raise NotFound.of("attempt", attempt_id)
    return attempt


def college_session(db: Session, p: Principal, session_id: str) -> ProctoringSession:
    sess = db.get(ProctoringSession, session_id)
    attempt = db.get(Attempt, sess.attempt_id) if sess is not None else None
    if attempt is None or college_of_exam(db, attempt.exam) != p.college_id:
        raise NotFound.of("proctoring session", session_id)  # the same answer, naming nothing of another college
    return sess


def college_endpoint(db: Session, p: Principal, endpoint_id: int) -> WebhookEndpoint:
    ep = db.get(WebhookEndpoint, endpoint_id)
    if ep is None or ep.college_id != p.college_id:
        raise NotFound.of("webhook endpoint", endpoint_id)
    return ep


def college_survey(db: Session, p: Principal, survey_id: int) -> Survey:
    s = db.get(Survey, survey_id)
    if s is None or s.college_id != p.college_id:
        raise NotFound.of("survey", survey_id)
    return s


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
    exam = db.get(Exam, exam_id)
    if exam is None or college_of_exam(db, exam) != p.college_id or not is_enrolled(db, p.user_id, exam.course_id):
        raise NotFound.of("exam", exam_id)
    return exam


def enrolled_item(db: Session, p: Principal, model: type[T], item_id: int, what: str) -> T:
    """A class, material or task of a course the student is enrolled in."""
    item = db.get(model, item_id)
    if item is None:
        raise NotFound.of(what, item_id)
    course = db.get(Course, item.course_id)
    if course.college_id != p.college_id or not is_enrolled(db, p.user_id, course.id):
        raise NotFound.of(what, item_id)
    return item


__all__ = ["ClassMeeting", "Material", "Task"]
