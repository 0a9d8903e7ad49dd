"""Exams: created and changed under the regulations' rules (attestation is proctored, the window closes after it
opens, engine overrides name real settings), their questions (validated, replaced only before anyone has an
attempt), and per-student extra time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from proctor.settings import EngineSettings
from server.db.models import Allowance, Attempt, Course, Exam, Question, User
from server.db.queries import exams_of_college
from server.domain import grading
from server.domain.enums import ExamType, QuestionKind
from server.services.errors import Conflict, Invalid, RuleViolation

# What a question is made of (the keys of a question in a request body).
QuestionData = dict[str, Any]


def check_rules(exam_type: str, proctored: bool, opens_at: datetime, closes_at: datetime) -> None:
    if ExamType(exam_type).is_attestation and not proctored:
        raise RuleViolation("intermediate and final attestation must be proctored",
                            [{"field": "body.proctored", "message": "must be true for attestation"}])
    if closes_at <= opens_at:
        raise Invalid("the exam must close after it opens",
                      [{"field": "body.closes_at", "message": "must be after opens_at"}])


def check_engine_settings(overrides: dict[str, Any] | None) -> None:
    """Per-exam engine overrides must name real settings with valid values."""
    if not overrides:
        return
    try:
        EngineSettings().with_overrides(overrides)
    except (KeyError, ValidationError, TypeError) as exc:
        raise Invalid(f"engine_settings: {exc}", [{"field": "body.engine_settings", "message": str(exc)}])


def set_questions(db: Session, exam: Exam, questions: list[QuestionData]) -> None:
    """Replace the exam's questions (each checked first; nothing changes if one is wrong)."""
    for n, q in enumerate(questions):
        try:
            grading.validate_question(QuestionKind(q["kind"]), q.get("options"), q.get("correct"), q["points"])
        except grading.BadQuestion as exc:
            raise Invalid(f"question {n}: {exc}", [{"field": f"body.questions.{n}", "message": str(exc)}])
    exam.questions.clear()
    db.flush()
    for n, q in enumerate(questions):
        exam.questions.append(Question(position=n, kind=QuestionKind(q["kind"]).value, prompt=q["prompt"],
                                       options=q.get("options"), correct=q.get("correct"), points=q["points"]))
    db.flush()


def has_attempts(db: Session, exam_id: int) -> bool:
    return db.execute(select(Attempt.id).where(Attempt.exam_id == exam_id).limit(1)).first() is not None


def create(db: Session, course: Course, fields: dict[str, Any], questions: list[QuestionData]) -> Exam:
    """A new exam of ``course``; ``fields`` are the exam's columns (title, type, window, limits, proctored,
    pass_mark, engine_settings)."""
    check_rules(fields["type"], fields["proctored"], fields["opens_at"], fields["closes_at"])
    check_engine_settings(fields.get("engine_settings"))
    exam = Exam(course_id=course.id, **{**fields, "type": ExamType(fields["type"]).value})
    db.add(exam)
    db.flush()
    set_questions(db, exam, questions)
    return exam


def update(db: Session, exam: Exam, changes: dict[str, Any]) -> Exam:
    """Apply the given changes (a None leaves a field as it is, except pass_mark and engine_settings, which it
    clears); the rules are checked on the exam as it would be."""
    if "engine_settings" in changes:
        check_engine_settings(changes["engine_settings"])
    merged = {k: changes.get(k, getattr(exam, k)) for k in ("type", "proctored", "opens_at", "closes_at")}
    if merged["proctored"] is None:
        raise Invalid("proctored cannot be null", [{"field": "body.proctored"}])
    check_rules(merged["type"], merged["proctored"], merged["opens_at"], merged["closes_at"])
    for key, value in changes.items():
        if value is None and key not in ("pass_mark", "engine_settings"):
            continue
        setattr(exam, key, value.value if isinstance(value, ExamType) else value)
    db.flush()
    return exam


def replace_questions(db: Session, exam: Exam, questions: list[QuestionData]) -> Exam:
    if has_attempts(db, exam.id):
        raise Conflict("the exam already has attempts; its questions can no longer change")
    set_questions(db, exam, questions)
    return exam


def set_allowance(db: Session, exam: Exam, student: User, extra_time_min: int, note: str | None) -> Allowance:
    row = db.execute(select(Allowance).where(Allowance.exam_id == exam.id, Allowance.student_id == student.id)
                     ).scalar_one_or_none()
    if row is None:
        row = Allowance(exam_id=exam.id, student_id=student.id)
        db.add(row)
    row.extra_time_min, row.note = extra_time_min, note
    db.flush()
    return row


def of_college(db: Session, college_id: int, course_id: int | None = None) -> list[Exam]:
    q = exams_of_college(select(Exam), college_id)
    if course_id is not None:
        q = q.where(Exam.course_id == course_id)
    return list(db.execute(q.order_by(Exam.id)).scalars())
