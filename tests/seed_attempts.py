"""Seeding for the browser tests: a submitted attempt of a student with given answers, graded as the server
grades it (an open answer waits for marking)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from server.db.base import utcnow
from server.db.models import Answer, Attempt, Exam
from server.services.attempts import regrade


def submitted_attempt(db: Session, exam: Exam, student_id: int, number: int, responses: list[Any]) -> Attempt:
    """Attempt `number` of the student, submitted now after 20 minutes (identity checked, room scanned), with
    `responses` to the exam's questions in order, auto-graded where it can be."""
    now = utcnow()
    a = Attempt(exam_id=exam.id, student_id=student_id, number=number, state="submitted", created_at=now,
                started_at=now - timedelta(minutes=20), submitted_at=now, identity_verified_at=now,
                room_scanned_at=now)
    db.add(a)
    db.flush()
    db.add_all([Answer(attempt_id=a.id, question_id=q.id, response=r) for q, r in zip(exam.questions, responses)])
    db.flush()
    db.refresh(a)
    regrade(db, a)
    return a
