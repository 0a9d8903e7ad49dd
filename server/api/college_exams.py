"""College API: exams (questions, allowances) and reading attempts with their status, score and integrity
report."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from server.api.deps import DB, CollegeActor
from server.api.schemas import AttemptOut, ChainCheckOut, Number, QuestionView
from server.api.types import Title
from server.db.models import Exam
from server.domain.enums import AttemptState, ExamType, QuestionKind, Role
from server.services import access, exams
from server.services import attempts as attempt_ops

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


class ExamQuestionOut(QuestionView):
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


class ChainHeadOut(BaseModel):
    seq: int
    hash: str


class IntegritySessionOut(BaseModel):
    id: str
    status: str
    started_at: str | None
    ended_at: str | None
    integrity_score: Number | None
    score_recommendation: str | None = Field(description="clean, suspicious or violation (proctor.score)")
    score_breakdown: dict[str, Any] | None = Field(description="kind -> {count, seconds, share, weight, penalty}")
    score_provisional: bool = Field(description="true while the session runs: the latest provisional score; "
                                                "false once it ended (the final score)")
    counts: dict[str, int] = Field(description="engine events by kind, each counted once")
    chain_head: ChainHeadOut | None = Field(description="the last entry of the session's hash chain")
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


@router.post("/exams", status_code=201, response_model=ExamOut, summary="Create an exam with its questions")
def create_exam(body: ExamIn, db: DB, caller: CollegeActor) -> dict[str, Any]:
    course = access.college_course(db, caller, body.course_id)
    exam = exams.create(db, course, body.model_dump(exclude={"course_id", "questions"}),
                        [q.model_dump() for q in body.questions])
    return exam_out(exam)


@router.get("/exams", response_model=list[ExamOut], summary="List exams (optionally of one course)")
def list_exams(db: DB, caller: CollegeActor, course_id: int | None = None) -> list[dict[str, Any]]:
    return [exam_out(e) for e in exams.of_college(db, caller.college_id, course_id)]


@router.get("/exams/{exam_id}", response_model=ExamOut, summary="One exam with its questions and answers")
def get_exam(exam_id: int, db: DB, caller: CollegeActor) -> dict[str, Any]:
    return exam_out(access.college_exam(db, caller, exam_id))


@router.patch("/exams/{exam_id}", response_model=ExamOut, summary="Update an exam's settings")
def update_exam(exam_id: int, body: ExamPatch, db: DB, caller: CollegeActor) -> dict[str, Any]:
    exam = access.college_exam(db, caller, exam_id)
    return exam_out(exams.update(db, exam, body.model_dump(exclude_unset=True)))


@router.put("/exams/{exam_id}/questions", response_model=ExamOut,
            summary="Replace the questions (only before anyone has an attempt)")
def set_questions(exam_id: int, body: QuestionsIn, db: DB, caller: CollegeActor) -> dict[str, Any]:
    exam = access.college_exam(db, caller, exam_id)
    return exam_out(exams.replace_questions(db, exam, [q.model_dump() for q in body.questions]))


@router.put("/exams/{exam_id}/allowances/{student_id}", response_model=AllowanceOut,
            summary="Give a student extra time on an exam")
def set_allowance(exam_id: int, student_id: int, body: AllowanceIn, db: DB, caller: CollegeActor) -> dict[str, Any]:
    exam = access.college_exam(db, caller, exam_id)
    student = access.college_user(db, caller, student_id, Role.student)
    row = exams.set_allowance(db, exam, student, body.extra_time_min, body.note)
    return {"exam_id": exam.id, "student_id": student.id, "extra_time_min": row.extra_time_min, "note": row.note}


@router.get("/attempts", response_model=list[AttemptOut],
            summary="Attempts with status and score (the score only when verified)")
def list_attempts(db: DB, caller: CollegeActor, exam_id: int | None = None, student_id: int | None = None,
                  state: AttemptState | None = None, limit: int = Query(200, ge=1, le=1000),
                  offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
    rows = attempt_ops.attempts_of_college(db, caller.college_id, exam_id=exam_id, student_id=student_id,
                                           state=state.value if state else None, limit=limit, offset=offset)
    return [attempt_ops.summary(db, a) for a in rows]


@router.get("/attempts/{attempt_id}", response_model=AttemptDetailOut, summary="One attempt with its integrity report")
def get_attempt(attempt_id: int, db: DB, caller: CollegeActor) -> dict[str, Any]:
    a = access.college_attempt(db, caller, attempt_id)
    return attempt_ops.summary(db, a) | {"integrity": attempt_ops.integrity_report(db, a)}
