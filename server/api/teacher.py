"""The teacher's side: my courses, hand-marking short answers, grading tasks, the course footprint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import DB, Teacher
from server.api.schemas import AttemptOut, LearnerSummaryOut, Number, PointsOut
from server.db.models import Attempt
from server.services import access, marking, programmes
from server.services import attempts as attempt_ops
from server.services import footprint_query as fq

router = APIRouter(prefix="/api/teacher", tags=["teacher"])


class PointsIn(BaseModel):
    points: float = Field(ge=0)


class CourseBrief(BaseModel):
    id: int
    code: str
    title: str


class AnswerMarksOut(BaseModel):
    question_id: int
    kind: str
    prompt: str
    response: Any
    auto_points: Number | None
    manual_points: Number | None
    max_points: Number


class MarkedAttemptOut(AttemptOut):
    points: PointsOut


class AttemptWithAnswersOut(MarkedAttemptOut):
    answers: list[AnswerMarksOut]


class SubmissionOut(BaseModel):
    student_id: int
    submitted_at: str
    on_time: bool
    content: str
    points: Number | None


class TaskGradeOut(BaseModel):
    task_id: int
    student_id: int
    points: Number | None


def _points(a: Attempt) -> dict[str, Any]:
    return {"score": a.score, "max_score": a.max_score, "needs_manual_grading": a.needs_manual_grading}


@router.get("/courses", response_model=list[CourseBrief], summary="Courses I teach (a college admin sees all)")
def my_courses(db: DB, me: Teacher) -> list[dict[str, Any]]:
    return [{"id": c.id, "code": c.code, "title": c.title} for c in programmes.taught_courses(db, me)]


@router.get("/attempts", response_model=list[AttemptWithAnswersOut],
            summary="Attempts of my courses' exams, with answers and points")
def attempts(db: DB, me: Teacher, exam_id: int, needs_grading: bool = False) -> list[dict[str, Any]]:
    exam = access.college_exam(db, me, exam_id)
    access.taught_course(db, me, exam.course_id)
    q = select(Attempt).where(Attempt.exam_id == exam.id)
    if needs_grading:
        q = q.where(Attempt.needs_manual_grading.is_(True))
    out = []
    for a in db.execute(q.order_by(Attempt.id)).scalars():
        answers = {x.question_id: x for x in a.answers}
        out.append(attempt_ops.summary(db, a) | {
            "points": _points(a),
            "answers": [{"question_id": q.id, "kind": q.kind, "prompt": q.prompt,
                         "response": answers[q.id].response if q.id in answers else None,
                         "auto_points": answers[q.id].auto_points if q.id in answers else None,
                         "manual_points": answers[q.id].manual_points if q.id in answers else None,
                         "max_points": q.points} for q in exam.questions]})
    return out


@router.put("/attempts/{attempt_id}/answers/{question_id}/points", response_model=MarkedAttemptOut,
            summary="Hand-mark an answer")
def mark_answer(attempt_id: int, question_id: int, body: PointsIn, db: DB, me: Teacher) -> dict[str, Any]:
    attempt = access.college_attempt(db, me, attempt_id)
    access.taught_course(db, me, attempt.exam.course_id)
    marking.mark_answer(db, me, attempt, question_id, body.points)
    return attempt_ops.summary(db, attempt) | {"points": _points(attempt)}


@router.get("/tasks/{task_id}/submissions", response_model=list[SubmissionOut], summary="Hand-ins of a task")
def submissions(task_id: int, db: DB, me: Teacher) -> list[dict[str, Any]]:
    t = marking.taught_task(db, me, task_id)
    return [{"student_id": s.student_id, "submitted_at": s.submitted_at.isoformat(), "on_time": s.on_time,
             "content": s.content, "points": s.points} for s in marking.submissions(db, t)]


@router.put("/tasks/{task_id}/submissions/{student_id}/grade", response_model=TaskGradeOut,
            summary="Grade a hand-in")
def grade_task(task_id: int, student_id: int, body: PointsIn, db: DB, me: Teacher) -> dict[str, Any]:
    t = marking.taught_task(db, me, task_id)
    s = marking.grade_submission(db, me, t, student_id, body.points)
    return {"task_id": t.id, "student_id": student_id, "points": s.points}


@router.get("/courses/{course_id}/footprint", response_model=list[LearnerSummaryOut],
            summary="Footprint summary of every learner of my course")
def course_footprint(course_id: int, db: DB, me: Teacher) -> list[dict[str, Any]]:
    course = access.taught_course(db, me, course_id)
    return [fq.learner_summary(db, s, [course.id]) for s in fq.course_learners(db, course.id)]

