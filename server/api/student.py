"""The student's side of exams: list my exams, start an attempt, get the questions (without answers), save
each answer as it is given, submit; my attempts with their grade (shown only once verified)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select

from server.api.deps import DB, Settings, Student
from server.api.errors import answer
from server.api.schemas import AttemptOut, QuestionView
from server.db.base import iso, utcnow
from server.db.models import Answer, Attempt, Course, Enrolment, Exam
from server.db.queries import join_course
from server.domain.enums import AttemptState
from server.services import access
from server.services import attempts as attempt_ops
from server.services.errors import WrongState

router = APIRouter(prefix="/api/student", tags=["student"])


class AnswerIn(BaseModel):
    response: Any


class CourseRef(BaseModel):
    id: int
    title: str


class StudentExamOut(BaseModel):
    id: int
    title: str
    type: str
    course: CourseRef
    opens_at: str
    closes_at: str
    time_limit_min: int
    extra_time_min: int
    proctored: bool
    attempts_allowed: int
    attempts_used: int
    questions: int
    can_start: bool


class StudentQuestionOut(QuestionView):
    response: Any


class QuestionsOut(BaseModel):
    attempt_id: int
    deadline_at: str | None
    questions: list[StudentQuestionOut]


class SavedAnswerOut(BaseModel):
    question_id: int
    response: Any
    saved_at: str


def _timed_out(db: DB, attempt: Attempt) -> JSONResponse:
    """The time ran out: the move to timed_out is kept (the request commits), the action is refused."""
    return answer(WrongState("the time for this attempt ran out; answers given in time were kept",
                             {"from": AttemptState.started.value, "to": AttemptState.timed_out.value,
                              "attempt": attempt_ops.summary(db, attempt)}))


@router.get("/exams", response_model=list[StudentExamOut], summary="Exams of my courses, with what I can do now")
def my_exams(db: DB, me: Student) -> list[dict[str, Any]]:
    now = utcnow()
    rows = db.execute(
        join_course(select(Exam, Course)).join(Enrolment, Enrolment.course_id == Course.id)
        .where(Enrolment.student_id == me.user_id).order_by(Exam.opens_at, Exam.id)
    ).all()
    out = []
    for exam, course in rows:
        used = attempt_ops.attempts_used(db, exam.id, me.user_id)
        open_now = exam.opens_at <= now < exam.closes_at
        out.append({
            "id": exam.id, "title": exam.title, "type": exam.type, "course": {"id": course.id, "title": course.title},
            "opens_at": exam.opens_at.isoformat(), "closes_at": exam.closes_at.isoformat(),
            "time_limit_min": exam.time_limit_min,
            "extra_time_min": attempt_ops.extra_minutes(db, exam.id, me.user_id), "proctored": exam.proctored,
            "attempts_allowed": exam.attempts_allowed, "attempts_used": used, "questions": len(exam.questions),
            "can_start": open_now and used < exam.attempts_allowed,
        })
    return out


@router.post("/exams/{exam_id}/attempts", status_code=201, response_model=AttemptOut,
             summary="Start an attempt (or get my open one): a proctored exam waits for identity and room checks")
def start_attempt(exam_id: int, db: DB, me: Student, response: Response) -> dict[str, Any]:
    exam = access.enrolled_exam(db, me, exam_id)
    attempt, created = attempt_ops.start(db, exam, me.user_id)
    if not created:
        response.status_code = 200
    return attempt_ops.summary(db, attempt)


@router.get("/attempts", response_model=list[AttemptOut], summary="My attempts")
def my_attempts(db: DB, me: Student, settings: Settings) -> list[dict[str, Any]]:
    rows = db.execute(select(Attempt).where(Attempt.student_id == me.user_id).order_by(Attempt.id)).scalars().all()
    for a in rows:
        attempt_ops.expire_if_overdue(db, a, settings.deadline_grace_s)
    return [attempt_ops.summary(db, a) for a in rows]


@router.get("/attempts/{attempt_id}", response_model=AttemptOut, summary="One of my attempts")
def my_attempt(attempt_id: int, db: DB, me: Student, settings: Settings) -> dict[str, Any]:
    attempt = access.own_attempt(db, me, attempt_id)
    attempt_ops.expire_if_overdue(db, attempt, settings.deadline_grace_s)
    return attempt_ops.summary(db, attempt)


@router.post("/attempts/{attempt_id}/start", response_model=AttemptOut,
             summary="Begin answering (the attempt must be ready to start)")
def begin(attempt_id: int, db: DB, me: Student, settings: Settings) -> Any:
    attempt = access.own_attempt(db, me, attempt_id)
    if attempt_ops.expire_if_overdue(db, attempt, 0):
        return _timed_out(db, attempt)
    attempt_ops.transition(db, attempt, AttemptState.started, actor=me.actor, actor_id=me.user_id)
    return attempt_ops.summary(db, attempt)


@router.get("/attempts/{attempt_id}/questions", response_model=QuestionsOut,
            summary="The questions, without answers, with my saved responses")
def questions(attempt_id: int, db: DB, me: Student, settings: Settings) -> Any:
    attempt = access.own_attempt(db, me, attempt_id)
    if attempt_ops.expire_if_overdue(db, attempt, settings.deadline_grace_s):
        return _timed_out(db, attempt)
    if attempt.state != AttemptState.started:
        return answer(WrongState(f"questions are shown only while the attempt is started (it is {attempt.state})",
                                 {"from": attempt.state}))
    saved = {a.question_id: a for a in db.execute(select(Answer).where(Answer.attempt_id == attempt.id)).scalars()}
    return {
        "attempt_id": attempt.id, "deadline_at": iso(attempt.deadline_at),
        "questions": [{"id": q.id, "position": q.position, "kind": q.kind, "prompt": q.prompt, "options": q.options,
                       "points": q.points, "response": saved[q.id].response if q.id in saved else None}
                      for q in attempt.exam.questions],
    }


@router.put("/attempts/{attempt_id}/answers/{question_id}", response_model=SavedAnswerOut,
            summary="Save an answer as it is given")
def save_answer(attempt_id: int, question_id: int, body: AnswerIn, db: DB, me: Student, settings: Settings) -> Any:
    attempt = access.own_attempt(db, me, attempt_id)
    if attempt_ops.expire_if_overdue(db, attempt, settings.deadline_grace_s):
        return _timed_out(db, attempt)
    answer = attempt_ops.save_answer(db, attempt, question_id, body.response, live_grace_s=settings.live_grace_s)
    return {"question_id": question_id, "response": answer.response, "saved_at": answer.saved_at.isoformat()}


async def _end_proctoring(request: Request, session_id: str, reason: str) -> None:
    """(After the response, the attempt's change committed) end the attempt's live proctoring session with its
    final score: the server ends it, never the page (the live hub's watchdog would also see it within seconds)."""
    hub = getattr(request.app.state, "live_hub", None)
    if hub is not None:
        await hub.end_session(session_id, status="ended", reason=reason)


@router.post("/attempts/{attempt_id}/submit", response_model=AttemptOut,
             summary="Hand the attempt in (a proctored attempt's live session then ends, scored)")
def submit(attempt_id: int, db: DB, me: Student, settings: Settings, request: Request,
           background: BackgroundTasks) -> Any:
    attempt = access.own_attempt(db, me, attempt_id)
    sess = attempt_ops.session_of(db, attempt)
    if attempt_ops.expire_if_overdue(db, attempt, settings.deadline_grace_s):
        if sess is not None:
            background.add_task(_end_proctoring, request, sess.id, "the attempt timed out")
        return _timed_out(db, attempt)
    attempt_ops.submit(db, attempt, me.user_id)
    if sess is not None:
        background.add_task(_end_proctoring, request, sess.id, "the attempt was submitted")
    return attempt_ops.summary(db, attempt)
