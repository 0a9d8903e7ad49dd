"""Answer shapes shared by several routers (attempts, reviews, footprint summaries, xAPI pages), so that
``/openapi.json`` says what each answer holds. Times are ISO 8601 strings; ``Number`` keeps an integer an
integer in the JSON (a plain ``float`` field would print ``5`` as ``5.0``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

Number = int | float


class QuestionView(BaseModel):
    """A question as shown: the staff's view adds the correct answer, the student's their saved response."""

    id: int
    position: int
    kind: str
    prompt: str
    options: list[str] | None
    points: Number


class StudentRef(BaseModel):
    id: int
    external_id: str | None
    email: str
    full_name: str


class GradeOut(BaseModel):
    """What may be shown of the grade: the score only once the attempt is verified and fully graded."""

    status: str
    score: Number | None
    max_score: Number | None
    percent: Number | None
    passed: bool | None
    reason: str | None


class AttemptOut(BaseModel):
    """What the student, the college and webhooks see of an attempt."""

    id: int
    exam_id: int
    exam_title: str
    exam_type: str
    course_id: int
    student: StudentRef
    number: int
    state: str
    created_at: str
    started_at: str | None
    deadline_at: str | None
    submitted_at: str | None
    decided_at: str | None
    identity_verified: bool
    room_scanned: bool
    proctoring_session_id: str | None
    integrity_score: Number | None
    grade: GradeOut


class PointsOut(BaseModel):
    score: Number | None
    max_score: Number | None
    needs_manual_grading: bool


class CommentOut(BaseModel):
    id: int
    session_id: str
    review_id: int | None
    author_id: int
    t: Number
    event_seq: int | None
    text: str
    created_at: str


class ReviewOut(BaseModel):
    """One decision of the audit log, with the comments made with it."""

    id: int
    attempt_id: int
    session_id: str | None
    reviewer_id: int
    decision: str
    reason: str | None
    from_state: str
    to_state: str
    is_override: bool
    overrides_review_id: int | None
    created_at: str
    comments: list[CommentOut]


class ChainCheckOut(BaseModel):
    """The hash chain of a session's events, recomputed: the first entry that does not hold, if any."""

    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str | None


class LearnerRef(BaseModel):
    id: int
    external_id: str | None
    full_name: str


class PublishedGrade(BaseModel):
    exam_id: int
    exam: str
    attempt_id: int
    score: Number | None
    max_score: Number | None
    percent: Number | None


class LearnerSummaryOut(BaseModel):
    """A learner's footprint summary: attendance %, on-time %, progress % and published grades."""

    learner: LearnerRef
    course_ids: list[int] | None
    attendance_pct: Number | None
    classes_held: int
    classes_attended: int
    on_time_pct: Number | None
    tasks_considered: int
    tasks_on_time: int
    tasks_late: int
    tasks_missing: int
    progress_pct: Number | None
    materials_opened: int
    materials: int
    sign_ins: int
    last_activity_at: str | None
    grades: list[PublishedGrade]


class XapiPage(BaseModel):
    """xAPI 1.0.3 StatementResult: the statements and the link to the next page ("" when this is the last)."""

    statements: list[dict[str, Any]]
    more: str
