"""Surveys: created by the college (single-choice questions, and only they, have options), answered once per
learner (anonymously or by name, as the survey says; the answer goes to the footprint), and results per
question overall and per course."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.auth.principal import Principal
from server.db.base import utcnow
from server.db.models import Survey, SurveyAnswer, SurveyParticipation, SurveyQuestion, SurveyResponse
from server.domain.enums import SurveyQuestionKind, SurveyTopic, Verb
from server.services import access, footprint, programmes
from server.services import footprint_query as fq
from server.services.errors import Conflict, Invalid, NotFound


def create(db: Session, p: Principal, *, title: str, topic: SurveyTopic, course_id: int | None,
           programme_id: int | None, anonymous: bool, questions: list[dict[str, Any]]) -> Survey:
    if course_id is not None:
        access.college_course(db, p, course_id)
    if programme_id is not None:
        access.college_programme(db, p, programme_id)
    for n, q in enumerate(questions):
        if (SurveyQuestionKind(q["kind"]) is SurveyQuestionKind.single_choice) != bool(
                q.get("options") and len(q["options"]) >= 2):
            raise Invalid(f"question {n}: single choice questions (only) have 2+ options",
                          [{"field": f"body.questions.{n}.options", "message": "2+ options for single_choice only"}])
    s = Survey(college_id=p.college_id, title=title, topic=SurveyTopic(topic).value, course_id=course_id,
               programme_id=programme_id, anonymous=anonymous)
    for n, q in enumerate(questions):
        s.questions.append(SurveyQuestion(position=n, kind=SurveyQuestionKind(q["kind"]).value, prompt=q["prompt"],
                                          options=q.get("options")))
    db.add(s)
    db.flush()
    return s


def close(s: Survey) -> Survey:
    """Stop taking answers."""
    s.is_open = False
    return s


def aggregate(s: Survey, responses: list[SurveyResponse]) -> list[dict[str, Any]]:
    """Per question: the number of answers, and the mean and distribution of a rating, the count of each
    option of a single choice, or the texts."""
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


def results(db: Session, p: Principal, s: Survey, course_id: int | None = None) -> dict[str, Any]:
    """The results overall and per course (``survey`` is left for the caller to present)."""
    q = select(SurveyResponse).where(SurveyResponse.survey_id == s.id)
    if course_id is not None:
        q = q.where(SurveyResponse.course_id == course_id)
    responses = list(db.execute(q.order_by(SurveyResponse.id)).scalars())
    by_course: dict[int | None, list[SurveyResponse]] = defaultdict(list)
    for r in responses:
        by_course[r.course_id].append(r)
    titles = programmes.course_titles(db, p.college_id)
    return {
        "responses": len(responses), "questions": aggregate(s, responses),
        "by_course": [{"course_id": cid, "course_title": titles.get(cid), "responses": len(rs),
                       "questions": aggregate(s, rs)} for cid, rs in sorted(by_course.items(), key=lambda x: x[0] or 0)],
        "respondents": None if s.anonymous else sorted({r.respondent_id for r in responses}),
    }


def of_courses(db: Session, college_id: int, course_ids: list[int]) -> list[Survey]:
    """The college's surveys for everyone and those of the given courses, by id."""
    q = select(Survey).where(Survey.college_id == college_id,
                             or_(Survey.course_id.is_(None), Survey.course_id.in_(course_ids or [-1])))
    return list(db.execute(q.order_by(Survey.id)).scalars())


def visible(db: Session, me: Principal, s: Survey) -> bool:
    """Whether a learner may see (and answer) the survey: their college's, and of a course of theirs if any."""
    if s.college_id != me.college_id:
        return False
    return s.course_id is None or access.is_enrolled(db, me.user_id, s.course_id)


def open_for(db: Session, me: Principal) -> list[Survey]:
    """The open surveys the learner may answer and has not answered yet."""
    done = set(db.execute(select(SurveyParticipation.survey_id).where(SurveyParticipation.user_id == me.user_id))
               .scalars())
    rows = db.execute(select(Survey).where(Survey.college_id == me.college_id, Survey.is_open.is_(True))
                      .order_by(Survey.id)).scalars()
    return [s for s in rows if s.id not in done and visible(db, me, s)]


def respond(db: Session, me: Principal, survey_id: int, course_id: int | None, answers_in: list[dict[str, Any]],
            *, ip: str | None = None, user_agent: str | None = None) -> tuple[Survey, int]:
    """Store a learner's answers (once per survey); returns the survey and the number of answers."""
    s = db.get(Survey, survey_id)
    if s is None or not visible(db, me, s):
        raise NotFound.of("survey", survey_id)
    if not s.is_open:
        raise Conflict("the survey is closed")
    if db.execute(select(SurveyParticipation.user_id).where(SurveyParticipation.survey_id == s.id,
                                                       SurveyParticipation.user_id == me.user_id)).first():
        raise Conflict("you have already answered this survey")
    course_id = s.course_id if s.course_id is not None else course_id
    if course_id is not None and course_id not in fq.learner_courses(db, me.user_id):
        raise NotFound.of("course", course_id)
    questions = {q.id: q for q in s.questions}
    seen: set[int] = set()
    answers = []
    for n, a in enumerate(answers_in):
        qid, value = a["question_id"], a["value"]
        q = questions.get(qid)
        field = f"body.answers.{n}.value"
        if q is None or qid in seen:
            raise Invalid(f"answer {n}: unknown or repeated question {qid}",
                          [{"field": f"body.answers.{n}.question_id", "message": "not a question of this survey"}])
        seen.add(qid)
        if q.kind == SurveyQuestionKind.rating and not (isinstance(value, int) and 1 <= value <= 5):
            raise Invalid(f"answer {n}: a rating is 1..5", [{"field": field}])
        if q.kind == SurveyQuestionKind.single_choice and not (isinstance(value, int)
                                                                and 0 <= value < len(q.options or [])):
            raise Invalid(f"answer {n}: an option index", [{"field": field}])
        if q.kind == SurveyQuestionKind.text and not (isinstance(value, str) and 0 < len(value) <= 5000):
            raise Invalid(f"answer {n}: text of 1..5000 characters", [{"field": field}])
        answers.append(SurveyAnswer(question_id=q.id, value=value))
    db.add(SurveyParticipation(survey_id=s.id, user_id=me.user_id))
    resp = SurveyResponse(survey_id=s.id, respondent_id=None if s.anonymous else me.user_id, course_id=course_id,
                          submitted_on=utcnow().date().isoformat(), answers=answers)
    db.add(resp)
    footprint.record(db, college_id=me.college_id, actor_id=me.user_id, verb=Verb.answered_survey,
                     object_type="survey", object_id=s.id, object_name=s.title, course_id=course_id,
                     ip=ip, user_agent=user_agent)
    db.flush()
    return s, len(answers)
