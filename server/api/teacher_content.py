"""The teacher's own course content, for the teacher's pages: what the college API lets only a college admin or
an API key do, a teacher may do for the courses they teach: list and add classes, materials and tasks, list and
create exams and write their questions; and read a learner's footprint over time and the survey results of
their courses.

Every operation is the college API's own service (validation, checks, footprint) with the college API's answer
shapes: this module only adds the teacher's gate (the course must be one they teach; a college admin passes for
every course)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from server.api.college_exams import ExamIn, ExamOut, QuestionsIn, exam_out
from server.api.course_items import (
    ClassOut, NewMaterialOut, TaskOut, class_out, item_routes, material_out, task_out,
)
from server.api.deps import DB, Teacher
from server.api.surveys import QuestionResultOut, SurveyOut, survey_out
from server.api.teacher import CourseBrief
from server.db.models import Exam
from server.domain.enums import Role
from server.services import access, exams, marking, programmes
from server.services import footprint_query as fq
from server.services import surveys as survey_ops
from server.services.errors import NotFound

router = APIRouter(prefix="/api/teacher", tags=["teacher"])


# ---- response models -------------------------------------------------------------------------------------
class TaskRow(TaskOut):
    hand_ins: int
    graded: int


class LearnerOut(BaseModel):
    id: int
    full_name: str
    external_id: str | None


class ContentOut(BaseModel):
    course: CourseBrief
    classes: list[ClassOut]
    materials: list[NewMaterialOut]
    tasks: list[TaskRow]
    learners: list[LearnerOut]


class TeacherExamIn(ExamIn):
    """The college API's exam fields and rules; the course is the one in the path."""

    course_id: int | None = None  # the path's course is used


class TimelinePoint(BaseModel):
    at: str
    attendance_pct: float | None
    classes_held: int
    classes_attended: int
    on_time_pct: float | None
    tasks_considered: int
    tasks_on_time: int
    progress_pct: float | None
    materials_opened: int
    materials: int


class GradePoint(BaseModel):
    at: str
    exam_id: int
    exam: str
    percent: float | None
    score: float | None
    max_score: float | None


class TimelineOut(BaseModel):
    learner: LearnerOut
    course_id: int
    bucket: str
    points: list[TimelinePoint]
    grades: list[GradePoint]


class SurveyRow(BaseModel):
    id: int
    title: str
    topic: str
    course_id: int | None
    anonymous: bool
    is_open: bool


class SurveyResultsOut(BaseModel):
    survey: SurveyOut
    course_id: int
    responses: int
    questions: list[QuestionResultOut]


def _learner(u: Any) -> LearnerOut:
    return LearnerOut(id=u.id, full_name=u.full_name, external_id=u.external_id)


# ---- classes, materials, tasks ---------------------------------------------------------------------------
@router.get("/courses/{course_id}/content", response_model=ContentOut,
            summary="A course I teach: its classes, materials, tasks (with hand-in counts) and learners")
def course_content(course_id: int, db: DB, me: Teacher) -> ContentOut:
    c = access.taught_course(db, me, course_id)
    classes, materials, tasks = programmes.course_items(db, c)
    counts = marking.hand_in_counts(db, [t.id for t in tasks])
    return ContentOut(
        course=CourseBrief(id=c.id, code=c.code, title=c.title),
        classes=[class_out(m) for m in classes],
        materials=[material_out(m) for m in materials],
        tasks=[TaskRow(**task_out(t).model_dump(), hand_ins=counts.get(t.id, (0, 0))[0],
                       graded=counts.get(t.id, (0, 0))[1]) for t in tasks],
        learners=[_learner(u) for u in fq.course_learners(db, c.id, by_name=True)],
    )


item_routes(router, Teacher, access.taught_course,
            names=("add_class", "add_material", "add_task"),
            summaries=("Schedule a synchronous class in a course I teach", "Add a study material to a course I teach",
                       "Add a task with a due date to a course I teach"))


# ---- exams and questions ---------------------------------------------------------------------------------
def _my_exam(db: DB, me: Teacher, exam_id: int) -> Exam:
    exam = access.college_exam(db, me, exam_id)
    access.taught_course(db, me, exam.course_id)
    return exam


@router.get("/courses/{course_id}/exams", response_model=list[ExamOut],
            summary="Exams of a course I teach, with their questions and answers")
def course_exams(course_id: int, db: DB, me: Teacher) -> list[dict[str, Any]]:
    c = access.taught_course(db, me, course_id)
    return [exam_out(e) for e in exams.of_college(db, me.college_id, c.id)]


@router.post("/courses/{course_id}/exams", status_code=201, response_model=ExamOut,
             summary="Create an exam in a course I teach (same rules as the college API)")
def add_exam(course_id: int, body: TeacherExamIn, db: DB, me: Teacher) -> dict[str, Any]:
    c = access.taught_course(db, me, course_id)
    return exam_out(exams.create(db, c, body.model_dump(exclude={"course_id", "questions"}),
                                 [q.model_dump() for q in body.questions]))


@router.get("/exams/{exam_id}", response_model=ExamOut, summary="An exam of a course I teach")
def get_exam(exam_id: int, db: DB, me: Teacher) -> dict[str, Any]:
    return exam_out(_my_exam(db, me, exam_id))


@router.put("/exams/{exam_id}/questions", response_model=ExamOut,
            summary="Replace an exam's questions (only before anyone has an attempt)")
def put_questions(exam_id: int, body: QuestionsIn, db: DB, me: Teacher) -> dict[str, Any]:
    exam = _my_exam(db, me, exam_id)
    return exam_out(exams.replace_questions(db, exam, [q.model_dump() for q in body.questions]))


# ---- a learner's footprint over time ---------------------------------------------------------------------
@router.get("/courses/{course_id}/learners/{student_id}/timeline", response_model=TimelineOut,
            summary="A learner's footprint in a course I teach, day by day or week by week, and their grades")
def learner_timeline(course_id: int, student_id: int, db: DB, me: Teacher) -> TimelineOut:
    c = access.taught_course(db, me, course_id)
    student = access.college_user(db, me, student_id, Role.student)
    tl = fq.learner_timeline(db, c, student)
    return TimelineOut(learner=_learner(student), course_id=c.id, bucket=tl["bucket"],
                       points=[TimelinePoint(**p) for p in tl["points"]],
                       grades=[GradePoint(**g) for g in tl["grades"]])


# ---- survey results of my courses ------------------------------------------------------------------------
@router.get("/surveys", response_model=list[SurveyRow],
            summary="Surveys my learners can answer: the college's and those of my courses")
def my_surveys(db: DB, me: Teacher) -> list[SurveyRow]:
    mine = [c.id for c in programmes.taught_courses(db, me)]
    return [SurveyRow(id=s.id, title=s.title, topic=s.topic, course_id=s.course_id, anonymous=s.anonymous,
                      is_open=s.is_open) for s in survey_ops.of_courses(db, me.college_id, mine)]


@router.get("/surveys/{survey_id}/results", response_model=SurveyResultsOut, response_model_exclude_unset=True,
            summary="A survey's results from the learners of one course I teach")
def my_survey_results(survey_id: int, course_id: int, db: DB, me: Teacher) -> SurveyResultsOut:
    access.taught_course(db, me, course_id)
    s = access.college_survey(db, me, survey_id)
    if s.course_id is not None and s.course_id != course_id:
        raise NotFound.of("survey", survey_id)
    out = survey_ops.results(db, me, s, course_id)
    return SurveyResultsOut(survey=SurveyOut(**survey_out(s)), course_id=course_id, responses=out["responses"],
                            questions=[QuestionResultOut(**q) for q in out["questions"]])
