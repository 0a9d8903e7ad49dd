"""The teacher's own course content, for the teacher's pages: what the college API lets only a college admin or
an API key do, a teacher may now do for the courses they teach: list and add classes, materials and tasks,
list and create exams and write their questions; and read a learner's footprint over time and the survey
results of their courses.

Every write goes through the college API's own functions (validation, checks, footprint): this module only
adds the teacher's gate (the course must be one they teach; a college admin passes for every course)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import or_, select

from server.api import college_exams, college_programmes, surveys
from server.api.deps import DB, Teacher
from server.api.errors import not_found
from server.services import access
from server.services.attempts import grade_view
from server.api.teacher import _my_course
from server.db.base import utcnow
from server.db.models import (
    Activity, Attempt, ClassMeeting, Course, CourseTeacher, Enrolment, Exam, Material, Survey, Task, TaskSubmission,
    User,
)
from server.domain.enums import AttemptState, Role, Verb
from server.domain.footprint_timeline import Row, bucket_ends, timeline

router = APIRouter(prefix="/api/teacher", tags=["teacher"])


# ---- response models -------------------------------------------------------------------------------------
class ClassOut(BaseModel):
    id: int
    course_id: int
    title: str
    starts_at: str
    ends_at: str


class MaterialOut(BaseModel):
    id: int
    course_id: int
    title: str
    url: str | None


class TaskOut(BaseModel):
    id: int
    course_id: int
    title: str
    due_at: str
    max_points: float


class TaskRow(TaskOut):
    hand_ins: int
    graded: int


class LearnerOut(BaseModel):
    id: int
    full_name: str
    external_id: str | None


class ContentOut(BaseModel):
    course: dict[str, Any]
    classes: list[ClassOut]
    materials: list[MaterialOut]
    tasks: list[TaskRow]
    learners: list[LearnerOut]


class QuestionOut(BaseModel):
    id: int
    position: int
    kind: str
    prompt: str
    options: list[str] | None
    points: float
    correct: list[Any] | None = None


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
    pass_mark: float | None
    engine_settings: dict[str, Any] | None
    questions: list[QuestionOut]


class TeacherExamIn(college_exams.ExamIn):
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
    survey: dict[str, Any]
    course_id: int
    responses: int
    questions: list[dict[str, Any]]


# ---- classes, materials, tasks ---------------------------------------------------------------------------
@router.get("/courses/{course_id}/content", response_model=ContentOut,
            summary="A course I teach: its classes, materials, tasks (with hand-in counts) and learners")
def course_content(course_id: int, db: DB, me: Teacher) -> ContentOut:
    c = _my_course(db, me, course_id)
    classes = db.execute(select(ClassMeeting).where(ClassMeeting.course_id == c.id)
                         .order_by(ClassMeeting.starts_at)).scalars()
    materials = db.execute(select(Material).where(Material.course_id == c.id).order_by(Material.id)).scalars()
    tasks = list(db.execute(select(Task).where(Task.course_id == c.id).order_by(Task.due_at)).scalars())
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    if tasks:
        for s in db.execute(select(TaskSubmission).where(TaskSubmission.task_id.in_([t.id for t in tasks]))).scalars():
            counts[s.task_id][0] += 1
            counts[s.task_id][1] += s.points is not None
    learners = db.execute(select(User).join(Enrolment, Enrolment.student_id == User.id)
                          .where(Enrolment.course_id == c.id).order_by(User.full_name)).scalars()
    return ContentOut(
        course={"id": c.id, "code": c.code, "title": c.title},
        classes=[ClassOut(id=m.id, course_id=c.id, title=m.title, starts_at=m.starts_at.isoformat(),
                          ends_at=m.ends_at.isoformat()) for m in classes],
        materials=[MaterialOut(id=m.id, course_id=c.id, title=m.title, url=m.url) for m in materials],
        tasks=[TaskRow(id=t.id, course_id=c.id, title=t.title, due_at=t.due_at.isoformat(), max_points=t.max_points,
                       hand_ins=counts[t.id][0], graded=counts[t.id][1]) for t in tasks],
        learners=[LearnerOut(id=u.id, full_name=u.full_name, external_id=u.external_id) for u in learners],
    )


@router.post("/courses/{course_id}/classes", status_code=201, response_model=ClassOut,
             summary="Schedule a synchronous class in a course I teach")
def add_class(course_id: int, body: college_programmes.ClassIn, db: DB, me: Teacher) -> Any:
    _my_course(db, me, course_id)
    return college_programmes.create_class(course_id, body, db, me)


@router.post("/courses/{course_id}/materials", status_code=201, response_model=MaterialOut,
             summary="Add a study material to a course I teach")
def add_material(course_id: int, body: college_programmes.MaterialIn, db: DB, me: Teacher) -> Any:
    _my_course(db, me, course_id)
    return college_programmes.create_material(course_id, body, db, me)


@router.post("/courses/{course_id}/tasks", status_code=201, response_model=TaskOut,
             summary="Add a task with a due date to a course I teach")
def add_task(course_id: int, body: college_programmes.TaskIn, db: DB, me: Teacher) -> Any:
    _my_course(db, me, course_id)
    return college_programmes.create_task(course_id, body, db, me)


# ---- exams and questions ---------------------------------------------------------------------------------
def _my_exam(db: DB, me: Teacher, exam_id: int) -> Exam:
    exam = access.college_exam(db, me, exam_id)
    _my_course(db, me, exam.course_id)
    return exam


@router.get("/courses/{course_id}/exams", response_model=list[ExamOut],
            summary="Exams of a course I teach, with their questions and answers")
def course_exams(course_id: int, db: DB, me: Teacher) -> Any:
    c = _my_course(db, me, course_id)
    rows = db.execute(select(Exam).where(Exam.course_id == c.id).order_by(Exam.id)).scalars()
    return [college_exams.exam_out(e, with_answers=True) for e in rows]


@router.post("/courses/{course_id}/exams", status_code=201, response_model=ExamOut,
             summary="Create an exam in a course I teach (same rules as the college API)")
def add_exam(course_id: int, body: TeacherExamIn, db: DB, me: Teacher) -> Any:
    _my_course(db, me, course_id)
    return college_exams.create_exam(body.model_copy(update={"course_id": course_id}), db, me)


@router.get("/exams/{exam_id}", response_model=ExamOut, summary="An exam of a course I teach")
def get_exam(exam_id: int, db: DB, me: Teacher) -> Any:
    return college_exams.exam_out(_my_exam(db, me, exam_id), with_answers=True)


@router.put("/exams/{exam_id}/questions", response_model=ExamOut,
            summary="Replace an exam's questions (only before anyone has an attempt)")
def put_questions(exam_id: int, body: college_exams.QuestionsIn, db: DB, me: Teacher) -> Any:
    _my_exam(db, me, exam_id)
    return college_exams.set_questions(exam_id, body, db, me)


# ---- a learner's footprint over time ---------------------------------------------------------------------
@router.get("/courses/{course_id}/learners/{student_id}/timeline", response_model=TimelineOut,
            summary="A learner's footprint in a course I teach, day by day or week by week, and their grades")
def learner_timeline(course_id: int, student_id: int, db: DB, me: Teacher) -> TimelineOut:
    c = _my_course(db, me, course_id)
    student = access.college_user(db, me, student_id, Role.student)
    enrolment = db.execute(select(Enrolment).where(Enrolment.course_id == c.id, Enrolment.student_id == student.id)
                           ).scalar_one_or_none()
    if enrolment is None:
        raise not_found("learner", student_id)
    now = utcnow()
    rows: list[Row] = []
    for m in db.execute(select(ClassMeeting).where(ClassMeeting.course_id == c.id, ClassMeeting.starts_at <= now)
                        ).scalars():
        rows.append(Row(m.starts_at, "class", m.id))
    tasks = list(db.execute(select(Task).where(Task.course_id == c.id)).scalars())
    rows += [Row(t.due_at, "task_due", t.id) for t in tasks if t.due_at <= now]
    if tasks:
        rows += [Row(s.submitted_at, "submission", s.task_id, s.on_time) for s in db.execute(
            select(TaskSubmission).where(TaskSubmission.student_id == student.id,
                                         TaskSubmission.task_id.in_([t.id for t in tasks]))).scalars()]
    for a in db.execute(select(Activity).where(
            Activity.actor_id == student.id, Activity.course_id == c.id,
            Activity.verb.in_([Verb.joined_class.value, Verb.opened_material.value]))).scalars():
        rows.append(Row(a.at, a.verb, int(a.object_id)))
    materials = set(db.execute(select(Material.id).where(Material.course_id == c.id)).scalars())
    first = min([r.at for r in rows] + [enrolment.created_at])
    bucket, ends = bucket_ends(min(first, now), now)
    grades = []
    for a in db.execute(select(Attempt).join(Exam, Exam.id == Attempt.exam_id).where(
            Attempt.student_id == student.id, Exam.course_id == c.id, Attempt.state == AttemptState.verified.value)
            .order_by(Attempt.decided_at)).scalars():
        view = grade_view(a)
        if view.status == "published":
            at: datetime = a.decided_at or a.submitted_at or a.created_at
            grades.append(GradePoint(at=at.isoformat(), exam_id=a.exam_id, exam=a.exam.title, percent=view.percent,
                                     score=view.score, max_score=view.max_score))
    return TimelineOut(learner=LearnerOut(id=student.id, full_name=student.full_name, external_id=student.external_id),
                       course_id=c.id, bucket=bucket,
                       points=[TimelinePoint(**p) for p in timeline(rows, materials, {t.id for t in tasks}, ends)],
                       grades=grades)


# ---- survey results of my courses ------------------------------------------------------------------------
def _my_course_ids(db: DB, me: Teacher) -> list[int]:
    q = select(Course.id).where(Course.college_id == me.college_id)
    if me.role is Role.teacher:
        q = q.join(CourseTeacher, CourseTeacher.course_id == Course.id).where(CourseTeacher.teacher_id == me.user_id)
    return list(db.execute(q).scalars())


@router.get("/surveys", response_model=list[SurveyRow],
            summary="Surveys my learners can answer: the college's and those of my courses")
def my_surveys(db: DB, me: Teacher) -> list[SurveyRow]:
    mine = _my_course_ids(db, me)
    q = select(Survey).where(Survey.college_id == me.college_id,
                             or_(Survey.course_id.is_(None), Survey.course_id.in_(mine or [-1])))
    return [SurveyRow(id=s.id, title=s.title, topic=s.topic, course_id=s.course_id, anonymous=s.anonymous,
                      is_open=s.is_open) for s in db.execute(q.order_by(Survey.id)).scalars()]


@router.get("/surveys/{survey_id}/results", response_model=SurveyResultsOut,
            summary="A survey's results from the learners of one course I teach")
def my_survey_results(survey_id: int, course_id: int, db: DB, me: Teacher) -> SurveyResultsOut:
    _my_course(db, me, course_id)
    s = access.college_survey(db, me, survey_id)
    if s.course_id is not None and s.course_id != course_id:
        raise not_found("survey", survey_id)
    out = surveys.results(survey_id, db, me, course_id=course_id)
    return SurveyResultsOut(survey=out["survey"], course_id=course_id, responses=out["responses"],
                            questions=out["questions"])
