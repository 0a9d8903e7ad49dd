"""Surveys about the LMS, the programme and the content: the college creates them and reads the results per
course; learners answer once, anonymously or by name as the survey says."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import DB, CollegeActor, From, Student
from server.api.schemas import Number
from server.services.errors import Conflict, Invalid, NotFound
from server.services import access, footprint
from server.services import footprint_query as fq
from server.api.types import Title
from server.db.base import utcnow
from server.db.models import Course, Survey, SurveyAnswer, SurveyParticipation, SurveyQuestion, SurveyResponse
from server.domain.enums import SurveyQuestionKind, SurveyTopic, Verb

college_router = APIRouter(prefix="/api/v1/surveys", tags=["college: surveys"])
router = APIRouter(prefix="/api/surveys", tags=["surveys"])


class SurveyQuestionIn(BaseModel):
    kind: SurveyQuestionKind
    prompt: str = Field(min_length=1, max_length=5000)
    options: list[str] | None = Field(default=None, max_length=50)


class SurveyIn(BaseModel):
    title: Title
    topic: SurveyTopic
    course_id: int | None = None
    programme_id: int | None = None
    anonymous: bool = True
    questions: list[SurveyQuestionIn] = Field(min_length=1, max_length=200)


class AnswerIn(BaseModel):
    question_id: int
    value: int | str


class ResponseIn(BaseModel):
    course_id: int | None = None
    answers: list[AnswerIn] = Field(min_length=1, max_length=200)


class SurveyQuestionOut(BaseModel):
    id: int
    kind: str
    prompt: str
    options: list[str] | None


class SurveyOut(BaseModel):
    id: int
    title: str
    topic: str
    course_id: int | None
    programme_id: int | None
    anonymous: bool
    is_open: bool
    questions: list[SurveyQuestionOut]


class QuestionResultOut(BaseModel):
    """A question's answers: ``mean`` and ``distribution`` (1..5) for a rating, ``counts`` per option for a
    single choice, ``texts`` for a text question; only the keys of the question's kind are in the answer."""

    question_id: int
    prompt: str
    kind: str
    answers: int
    mean: Number | None = None
    distribution: dict[str, int] | None = None
    counts: dict[str, int] | None = None
    texts: list[str] | None = None


class CourseResultsOut(BaseModel):
    course_id: int | None
    course_title: str | None
    responses: int
    questions: list[QuestionResultOut]


class SurveyResultsOut(BaseModel):
    survey: SurveyOut
    responses: int
    questions: list[QuestionResultOut]
    by_course: list[CourseResultsOut]
    respondents: list[int] | None


class ResponseOut(BaseModel):
    survey_id: int
    anonymous: bool
    answers: int


def survey_out(s: Survey) -> dict[str, Any]:
    return {"id": s.id, "title": s.title, "topic": s.topic, "course_id": s.course_id, "programme_id": s.programme_id,
            "anonymous": s.anonymous, "is_open": s.is_open,
            "questions": [{"id": q.id, "kind": q.kind, "prompt": q.prompt, "options": q.options} for q in s.questions]}


@college_router.post("", status_code=201, response_model=SurveyOut, summary="Create a survey")
def create_survey(body: SurveyIn, db: DB, caller: CollegeActor) -> dict[str, Any]:
    if body.course_id is not None:
        access.college_course(db, caller, body.course_id)
    if body.programme_id is not None:
        access.college_programme(db, caller, body.programme_id)
    for n, q in enumerate(body.questions):
        if (q.kind is SurveyQuestionKind.single_choice) != bool(q.options and len(q.options) >= 2):
            raise Invalid(f"question {n}: single choice questions (only) have 2+ options",
                          [{"field": f"body.questions.{n}.options", "message": "2+ options for single_choice only"}])
    s = Survey(college_id=caller.college_id, title=body.title, topic=body.topic.value, course_id=body.course_id,
               programme_id=body.programme_id, anonymous=body.anonymous)
    for n, q in enumerate(body.questions):
        s.questions.append(SurveyQuestion(position=n, kind=q.kind.value, prompt=q.prompt, options=q.options))
    db.add(s)
    db.flush()
    return survey_out(s)


@college_router.post("/{survey_id}/close", response_model=SurveyOut, summary="Stop taking answers")
def close_survey(survey_id: int, db: DB, caller: CollegeActor) -> dict[str, Any]:
    s = access.college_survey(db, caller, survey_id)
    s.is_open = False
    return survey_out(s)


def _aggregate(s: Survey, responses: list[SurveyResponse]) -> list[dict[str, Any]]:
    by_q: dict[int, list[Any]] = defaultdict(list)
    for r in responses:
        for a in r.answers:
            by_q[a.question_id].append(a.value)
    out = []
    for q in s.questions:
        vals = by_q.get(q.id, [])
        item: dict[str, Any] = {"question_id": q.id, "prompt": q.prompt, "kind": q.kind, "answers": len(vals)}
        if q.kind == SurveyQuestionKind.rating:
            item["mean"] = round(sum(vals) / len(vals), 2) if vals else None
            item["distribution"] = {str(k): Counter(vals).get(k, 0) for k in range(1, 6)}
        elif q.kind == SurveyQuestionKind.single_choice:
            counts = Counter(vals)
            item["counts"] = {opt: counts.get(i, 0) for i, opt in enumerate(q.options or [])}
        else:
            item["texts"] = list(vals)
        out.append(item)
    return out


@college_router.get("/{survey_id}/results", response_model=SurveyResultsOut, response_model_exclude_unset=True,
                    summary="Results overall and per course")
def results(survey_id: int, db: DB, caller: CollegeActor, course_id: int | None = None) -> dict[str, Any]:
    s = access.college_survey(db, caller, survey_id)
    q = select(SurveyResponse).where(SurveyResponse.survey_id == s.id)
    if course_id is not None:
        q = q.where(SurveyResponse.course_id == course_id)
    responses = list(db.execute(q.order_by(SurveyResponse.id)).scalars())
    by_course: dict[int | None, list[SurveyResponse]] = defaultdict(list)
    for r in responses:
        by_course[r.course_id].append(r)
    titles = {c.id: c.title for c in db.execute(select(Course).where(Course.college_id == caller.college_id)).scalars()}
    return {
        "survey": survey_out(s), "responses": len(responses), "questions": _aggregate(s, responses),
        "by_course": [{"course_id": cid, "course_title": titles.get(cid), "responses": len(rs),
                       "questions": _aggregate(s, rs)} for cid, rs in sorted(by_course.items(), key=lambda x: x[0] or 0)],
        "respondents": None if s.anonymous else sorted({r.respondent_id for r in responses}),
    }


def _visible(db: DB, me: Student, s: Survey) -> bool:
    if s.college_id != me.college_id:
        return False
    return s.course_id is None or access.is_enrolled(db, me.user_id, s.course_id)


@router.get("", response_model=list[SurveyOut], summary="Open surveys I can answer")
def open_surveys(db: DB, me: Student) -> list[dict[str, Any]]:
    done = set(db.execute(select(SurveyParticipation.survey_id).where(SurveyParticipation.user_id == me.user_id))
               .scalars())
    rows = db.execute(select(Survey).where(Survey.college_id == me.college_id, Survey.is_open.is_(True))
                      .order_by(Survey.id)).scalars()
    return [survey_out(s) for s in rows if s.id not in done and _visible(db, me, s)]


@router.post("/{survey_id}/responses", status_code=201, response_model=ResponseOut,
             summary="Answer a survey (once)")
def respond(survey_id: int, body: ResponseIn, db: DB, me: Student, origin: From) -> dict[str, Any]:
    s = db.get(Survey, survey_id)
    if s is None or not _visible(db, me, s):
        raise NotFound.of("survey", survey_id)
    if not s.is_open:
        raise Conflict("the survey is closed")
    if db.execute(select(SurveyParticipation.user_id).where(SurveyParticipation.survey_id == s.id,
                                                       SurveyParticipation.user_id == me.user_id)).first():
        raise Conflict("you have already answered this survey")
    course_id = s.course_id if s.course_id is not None else body.course_id
    if course_id is not None and course_id not in fq.learner_courses(db, me.user_id):
        raise NotFound.of("course", course_id)
    questions = {q.id: q for q in s.questions}
    seen: set[int] = set()
    answers = []
    for n, a in enumerate(body.answers):
        q = questions.get(a.question_id)
        field = f"body.answers.{n}.value"
        if q is None or a.question_id in seen:
            raise Invalid(f"answer {n}: unknown or repeated question {a.question_id}",
                          [{"field": f"body.answers.{n}.question_id", "message": "not a question of this survey"}])
        seen.add(a.question_id)
        if q.kind == SurveyQuestionKind.rating and not (isinstance(a.value, int) and 1 <= a.value <= 5):
            raise Invalid(f"answer {n}: a rating is 1..5", [{"field": field}])
        if q.kind == SurveyQuestionKind.single_choice and not (isinstance(a.value, int)
                                                                and 0 <= a.value < len(q.options or [])):
            raise Invalid(f"answer {n}: an option index", [{"field": field}])
        if q.kind == SurveyQuestionKind.text and not (isinstance(a.value, str) and 0 < len(a.value) <= 5000):
            raise Invalid(f"answer {n}: text of 1..5000 characters", [{"field": field}])
        answers.append(SurveyAnswer(question_id=q.id, value=a.value))
    db.add(SurveyParticipation(survey_id=s.id, user_id=me.user_id))
    resp = SurveyResponse(survey_id=s.id, respondent_id=None if s.anonymous else me.user_id, course_id=course_id,
                          submitted_on=utcnow().date().isoformat(), answers=answers)
    db.add(resp)
    footprint.record(db, college_id=me.college_id, actor_id=me.user_id, verb=Verb.answered_survey,
                     object_type="survey", object_id=s.id, object_name=s.title, course_id=course_id,
                     ip=origin.ip, user_agent=origin.user_agent)
    db.flush()
    return {"survey_id": s.id, "anonymous": s.anonymous, "answers": len(answers)}
