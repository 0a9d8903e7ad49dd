"""College API: exams (questions, allowances) and reading attempts with their status, score and integrity
report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy import select

from proctor.settings import EngineSettings
from server.api.deps import DB, CollegeActor
from server.api.schemas import AttemptOut, ChainCheckOut, Number
from server.services.errors import Conflict, Invalid
from server.services import access
from server.services import attempts as attempt_ops
from server.api.types import Title
from server.db.queries import attempts_of_college, exams_of_college
from server.db.models import Allowance, Attempt, Exam, Question
from server.domain import grading
from server.domain.enums import AttemptState, ExamType, QuestionKind, Role

router = APIRouter(prefix="/api/v1", tags=["college: exams and attempts"])


class QuestionIn(BaseModel):
    kind: QuestionKind
    prompt: str = Field(min_length=1, max_length=20000)
    options: list[str] | None = Field(default=None, max_length=50)
    correct: list[Any] | None = Field(default=None, max_length=50)
    points: float = Field(default=1.0, ge=0, le=1000)


class ExamIn(BaseModel):
    course_id: int
    title: Title
    type: ExamType
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    time_limit_min: int = Field(ge=1, le=24 * 60)
    attempts_allowed: int = Field(default=1, ge=1, le=100)
    proctored: bool = True
    pass_mark: float | None = Field(default=None, ge=0, le=100)
    engine_settings: dict[str, Any] | None = None
    questions: list[QuestionIn] = Field(default_factory=list, max_length=500)


class ExamPatch(BaseModel):
    title: Title | None = None
    type: ExamType | None = None
    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None
    time_limit_min: int | None = Field(default=None, ge=1, le=24 * 60)
    attempts_allowed: int | None = Field(default=None, ge=1, le=100)
    proctored: bool | None = None
    pass_mark: float | None = Field(default=None, ge=0, le=100)
    engine_settings: dict[str, Any] | None = None


class QuestionsIn(BaseModel):
    questions: list[QuestionIn] = Field(max_length=500)


class AllowanceIn(BaseModel):
    extra_time_min: int = Field(ge=0, le=24 * 60)
    note: str | None = Field(default=None, max_length=255)


class ExamQuestionOut(BaseModel):
    id: int
    position: int
    kind: str
    prompt: str
    options: list[str] | None
    points: Number
    correct: list[Any] | None


class ExamOut(BaseModel):
    id: int
    course_id: int
    title: str
    type: str
    opens_at: str
    closes_at: str
    time_limit_min: int
    attempts_allowed: int
    proctored: bool
    pass_mark: Number | None
    engine_settings: dict[str, Any] | None
    questions: list[ExamQuestionOut]


class AllowanceOut(BaseModel):
    exam_id: int
    student_id: int
    extra_time_min: int
    note: str | None


class ReviewBrief(BaseModel):
    id: int
    decision: str
    reviewer_id: int
    reason: str | None
    from_state: str
    to_state: str
    is_override: bool
    created_at: str


class KindTally(BaseModel):
    count: int
    seconds: Number
    severities: dict[str, int]


class IntegritySessionOut(BaseModel):
    id: str
    status: str
    started_at: str | None
    ended_at: str | None
    integrity_score: Number | None
    event_count: int = Field(description="entries in the session's hash chain")
    events: int = Field(description="engine events, each counted once (folded)")
    events_by_kind: dict[str, KindTally]
    stream_gaps: list[dict[str, Any]]
    chain: ChainCheckOut
    report: dict[str, Any] | None


class IntegrityOut(BaseModel):
    proctored: bool
    reviews: list[ReviewBrief]
    session: IntegritySessionOut | None


class AttemptDetailOut(AttemptOut):
    integrity: IntegrityOut


def exam_out(exam: Exam) -> dict[str, Any]:
    """An exam as the college sees it: with each question's correct answers."""
    return {
        "id": exam.id, "course_id": exam.course_id, "title": exam.title, "type": exam.type,
        "opens_at": exam.opens_at.isoformat(), "closes_at": exam.closes_at.isoformat(),
        "time_limit_min": exam.time_limit_min, "attempts_allowed": exam.attempts_allowed, "proctored": exam.proctored,
        "pass_mark": exam.pass_mark, "engine_settings": exam.engine_settings,
        "questions": [
            {"id": q.id, "position": q.position, "kind": q.kind, "prompt": q.prompt, "options": q.options,
             "points": q.points, "correct": q.correct}
            for q in exam.questions
        ],
    }


def _check_engine_settings(overrides: dict[str, Any] | None) -> None:
    if not overrides:
        return
    try:
        EngineSettings().with_overrides(overrides)
    except (KeyError, ValidationError, TypeError) as exc:
        raise Invalid(f"engine_settings: {exc}",
                      [{"field": "body.engine_settings", "message": str(exc)}])


def _set_questions(db: DB, exam: Exam, questions: list[QuestionIn]) -> None:
    for n, q in enumerate(questions):
        try:
            grading.validate_question(q.kind, q.options, q.correct, q.points)
        except grading.BadQuestion as exc:
            raise Invalid(f"question {n}: {exc}",
                          [{"field": f"body.questions.{n}", "message": str(exc)}])
    exam.questions.clear()
    db.flush()
    for n, q in enumerate(questions):
        exam.questions.append(Question(position=n, kind=q.kind.value, prompt=q.prompt, options=q.options,
                                       correct=q.correct, points=q.points))
    db.flush()


def _has_attempts(db: DB, exam_id: int) -> bool:
    return db.execute(select(Attempt.id).where(Attempt.exam_id == exam_id).limit(1)).first() is not None


@router.post("/exams", status_code=201, response_model=ExamOut, summary="Create an exam with its questions")
def create_exam(body: ExamIn, db: DB, caller: CollegeActor) -> dict[str, Any]:
    course = access.college_course(db, caller, body.course_id)
    attempt_ops.check_exam_rules(body.type, body.proctored, body.opens_at, body.closes_at)
    _check_engine_settings(body.engine_settings)
    exam = Exam(course_id=course.id, title=body.title, type=body.type.value, opens_at=body.opens_at,
                closes_at=body.closes_at, time_limit_min=body.time_limit_min, attempts_allowed=body.attempts_allowed,
                proctored=body.proctored, pass_mark=body.pass_mark, engine_settings=body.engine_settings)
    db.add(exam)
    db.flush()
    _set_questions(db, exam, body.questions)
    return exam_out(exam)


@router.get("/exams", response_model=list[ExamOut], summary="List exams (optionally of one course)")
def list_exams(db: DB, caller: CollegeActor, course_id: int | None = None) -> list[dict[str, Any]]:
    q = exams_of_college(select(Exam), caller.college_id)
    if course_id is not None:
        q = q.where(Exam.course_id == course_id)
    return [exam_out(e) for e in db.execute(q.order_by(Exam.id)).scalars()]


@router.get("/exams/{exam_id}", response_model=ExamOut, summary="One exam with its questions and answers")
def get_exam(exam_id: int, db: DB, caller: CollegeActor) -> dict[str, Any]:
    return exam_out(access.college_exam(db, caller, exam_id))


@router.patch("/exams/{exam_id}", response_model=ExamOut, summary="Update an exam's settings")
def update_exam(exam_id: int, body: ExamPatch, db: DB, caller: CollegeActor) -> dict[str, Any]:
    exam = access.college_exam(db, caller, exam_id)
    data = body.model_dump(exclude_unset=True)
    if "engine_settings" in data:
        _check_engine_settings(data["engine_settings"])
    merged = {k: data.get(k, getattr(exam, k)) for k in ("type", "proctored", "opens_at", "closes_at")}
    if merged["proctored"] is None:
        raise Invalid("proctored cannot be null", [{"field": "body.proctored"}])
    attempt_ops.check_exam_rules(merged["type"], merged["proctored"], merged["opens_at"], merged["closes_at"])
    for key, value in data.items():
        if value is None and key not in ("pass_mark", "engine_settings"):
            continue
        setattr(exam, key, value.value if isinstance(value, ExamType) else value)
    db.flush()
    return exam_out(exam)


@router.put("/exams/{exam_id}/questions", response_model=ExamOut,
            summary="Replace the questions (only before anyone has an attempt)")
def set_questions(exam_id: int, body: QuestionsIn, db: DB, caller: CollegeActor) -> dict[str, Any]:
    exam = access.college_exam(db, caller, exam_id)
    if _has_attempts(db, exam.id):
        raise Conflict("the exam already has attempts; its questions can no longer change")
    _set_questions(db, exam, body.questions)
    return exam_out(exam)


@router.put("/exams/{exam_id}/allowances/{student_id}", response_model=AllowanceOut,
            summary="Give a student extra time on an exam")
def set_allowance(exam_id: int, student_id: int, body: AllowanceIn, db: DB, caller: CollegeActor) -> dict[str, Any]:
    exam = access.college_exam(db, caller, exam_id)
    student = access.college_user(db, caller, student_id, Role.student)
    row = db.execute(select(Allowance).where(Allowance.exam_id == exam.id, Allowance.student_id == student.id)
                     ).scalar_one_or_none()
    if row is None:
        row = Allowance(exam_id=exam.id, student_id=student.id)
        db.add(row)
    row.extra_time_min, row.note = body.extra_time_min, body.note
    db.flush()
    return {"exam_id": exam.id, "student_id": student.id, "extra_time_min": row.extra_time_min, "note": row.note}


@router.get("/attempts", response_model=list[AttemptOut],
            summary="Attempts with status and score (the score only when verified)")
def list_attempts(db: DB, caller: CollegeActor, exam_id: int | None = None, student_id: int | None = None,
                  state: AttemptState | None = None, limit: int = Query(200, ge=1, le=1000),
                  offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
    q = attempts_of_college(select(Attempt), caller.college_id)
    if exam_id is not None:
        q = q.where(Attempt.exam_id == exam_id)
    if student_id is not None:
        q = q.where(Attempt.student_id == student_id)
    if state is not None:
        q = q.where(Attempt.state == state.value)
    rows = db.execute(q.order_by(Attempt.id).limit(limit).offset(offset)).scalars()
    return [attempt_ops.summary(db, a) for a in rows]


@router.get("/attempts/{attempt_id}", response_model=AttemptDetailOut, summary="One attempt with its integrity report")
def get_attempt(attempt_id: int, db: DB, caller: CollegeActor) -> dict[str, Any]:
    a = access.college_attempt(db, caller, attempt_id)
    return attempt_ops.summary(db, a) | {"integrity": attempt_ops.integrity_report(db, a)}
