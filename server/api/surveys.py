"""Surveys about the LMS, the programme and the content: the college creates them and reads the results per
course; learners answer once, anonymously or by name as the survey says."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from server.api.deps import DB, CollegeActor, From, Student
from server.api.schemas import Number
from server.api.types import Title
from server.db.models import Survey
from server.domain.enums import SurveyQuestionKind, SurveyTopic
from server.services import access, surveys

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
    data = body.model_dump(exclude={"questions"})
    return survey_out(surveys.create(db, caller, **data, questions=[q.model_dump() for q in body.questions]))


@college_router.post("/{survey_id}/close", response_model=SurveyOut, summary="Stop taking answers")
def close_survey(survey_id: int, db: DB, caller: CollegeActor) -> dict[str, Any]:
    return survey_out(surveys.close(access.college_survey(db, caller, survey_id)))


@college_router.get("/{survey_id}/results", response_model=SurveyResultsOut, response_model_exclude_unset=True,
                    summary="Results overall and per course")
def results(survey_id: int, db: DB, caller: CollegeActor, course_id: int | None = None) -> dict[str, Any]:
    s = access.college_survey(db, caller, survey_id)
    return {"survey": survey_out(s)} | surveys.results(db, caller, s, course_id)


@router.get("", response_model=list[SurveyOut], summary="Open surveys I can answer")
def open_surveys(db: DB, me: Student) -> list[dict[str, Any]]:
    return [survey_out(s) for s in surveys.open_for(db, me)]


@router.post("/{survey_id}/responses", status_code=201, response_model=ResponseOut,
             summary="Answer a survey (once)")
def respond(survey_id: int, body: ResponseIn, db: DB, me: Student, origin: From) -> dict[str, Any]:
    s, answers = surveys.respond(db, me, survey_id, body.course_id, [a.model_dump() for a in body.answers],
                                 ip=origin.ip, user_agent=origin.user_agent)
    return {"survey_id": s.id, "anonymous": s.anonymous, "answers": answers}
