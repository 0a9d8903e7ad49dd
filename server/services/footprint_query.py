"""Reading the digital footprint: per-learner facts for the summary, and xAPI statements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from server.db.base import utcnow
from server.db.models import (
    Activity, Attempt, ClassMeeting, Course, Enrolment, Exam, Material, Task, TaskSubmission, User,
)
from server.domain.enums import AttemptState, Verb
from server.domain.footprint import LearnerFacts, summarise
from server.domain.footprint_timeline import Row, bucket_ends, timeline
from server.domain.xapi import ActivityFacts, statement
from server.services import programmes
from server.services.attempts import grade_view
from server.services.errors import NotFound


def course_learners(db: Session, course_id: int, *, by_name: bool = False) -> list[User]:
    """The students enrolled in a course, by id (or by name)."""
    return list(db.execute(select(User).join(Enrolment, Enrolment.student_id == User.id)
                           .where(Enrolment.course_id == course_id)
                           .order_by(User.full_name if by_name else User.id)).scalars())


def filter_activities(q: Select[Any], *, learner_id: int | None = None, course_id: int | None = None,
                      since: datetime | None = None, until: datetime | None = None) -> Select[Any]:
    """``q`` (over ``Activity``) kept to one learner, one course and a time range [since, until)."""
    if learner_id is not None:
        q = q.where(Activity.actor_id == learner_id)
    if course_id is not None:
        q = q.where(Activity.course_id == course_id)
    if since is not None:
        q = q.where(Activity.at >= since)
    if until is not None:
        q = q.where(Activity.at < until)
    return q


def activities(db: Session, college_id: int, *, learner_id: int | None = None, course_id: int | None = None,
               since: datetime | None = None, until: datetime | None = None, limit: int = 500,
               after_id: int = 0) -> list[Activity]:
    """The college's raw activity log in order, from the row after ``after_id``."""
    q = filter_activities(select(Activity).where(Activity.college_id == college_id, Activity.id > after_id),
                          learner_id=learner_id, course_id=course_id, since=since, until=until)
    return list(db.execute(q.order_by(Activity.id).limit(limit)).scalars())


def learner_courses(db: Session, student_id: int) -> list[int]:
    return list(db.execute(select(Enrolment.course_id).where(Enrolment.student_id == student_id)).scalars())


def facts(db: Session, student_id: int, course_ids: list[int] | None = None, now: datetime | None = None
          ) -> LearnerFacts:
    now = now or utcnow()
    courses = learner_courses(db, student_id) if course_ids is None else course_ids
    f = LearnerFacts()
    if courses:
        f.classes_held = set(db.execute(select(ClassMeeting.id).where(ClassMeeting.course_id.in_(courses),
                                                                      ClassMeeting.starts_at <= now)).scalars())
        f.materials = set(db.execute(select(Material.id).where(Material.course_id.in_(courses))).scalars())
        tasks = db.execute(select(Task.id, Task.due_at).where(Task.course_id.in_(courses))).all()
        f.tasks = {t for t, _ in tasks}
        f.tasks_due = {t for t, due in tasks if due <= now}
        f.submissions = {t: ok for t, ok in db.execute(
            select(TaskSubmission.task_id, TaskSubmission.on_time)
            .where(TaskSubmission.student_id == student_id, TaskSubmission.task_id.in_(f.tasks or {-1})))}
        for a in db.execute(select(Attempt).join(Attempt.exam).where(
                Attempt.student_id == student_id, Attempt.state == AttemptState.verified.value)).scalars():
            if a.exam.course_id in courses:
                view = grade_view(a)
                if view.status == "published":
                    f.grades.append({"exam_id": a.exam_id, "exam": a.exam.title, "attempt_id": a.id,
                                     "score": view.score, "max_score": view.max_score, "percent": view.percent})
    act = select(Activity.verb, Activity.object_id).where(Activity.actor_id == student_id)
    for verb, object_id in db.execute(act.where(Activity.verb.in_([Verb.joined_class.value,
                                                                   Verb.opened_material.value]))):
        (f.classes_attended if verb == Verb.joined_class.value else f.materials_opened).add(int(object_id))
    f.sign_ins = db.execute(select(func.count(Activity.id)).where(Activity.actor_id == student_id,
                                                                  Activity.verb == Verb.signed_in.value)).scalar_one()
    f.last_activity_at = db.execute(select(func.max(Activity.at)).where(Activity.actor_id == student_id)).scalar_one()
    if f.last_activity_at is not None and f.last_activity_at.tzinfo is None:  # func.max skips the type decorator
        from datetime import timezone

        f.last_activity_at = f.last_activity_at.replace(tzinfo=timezone.utc)
    return f


def learner_summary(db: Session, student: User, course_ids: list[int] | None = None) -> dict[str, Any]:
    return {"learner": {"id": student.id, "external_id": student.external_id, "full_name": student.full_name},
            "course_ids": course_ids} | summarise(facts(db, student.id, course_ids))


def statements(db: Session, college_id: int, base_url: str, *, learner_id: int | None = None,
               course_id: int | None = None, since: datetime | None = None, until: datetime | None = None,
               limit: int = 500, after_id: int = 0) -> tuple[list[dict[str, Any]], int | None]:
    """Statements in time order and the last row id (for the next page) when the page is full."""
    q = filter_activities(select(Activity, User).join(User, User.id == Activity.actor_id)
                          .where(Activity.college_id == college_id, Activity.id > after_id),
                          learner_id=learner_id, course_id=course_id, since=since, until=until)
    rows = db.execute(q.order_by(Activity.id).limit(limit)).all()
    courses = programmes.course_titles(db, college_id)
    out = [statement(ActivityFacts(
        statement_id=a.statement_id, actor_account=str(u.id), actor_name=u.full_name, verb=Verb(a.verb),
        object_type=a.object_type, object_id=a.object_id, object_name=a.object_name, at=a.at, result=a.result,
        course_id=a.course_id, course_name=courses.get(a.course_id), ip=a.ip), base_url) for a, u in rows]
    return out, (rows[-1][0].id if len(rows) == limit else None)


def learner_timeline(db: Session, course: Course, student: User, now: datetime | None = None) -> dict[str, Any]:
    """A learner's footprint in one course over time (``server.domain.footprint_timeline``): ``bucket`` (day or
    week), ``points`` (the summary's figures at the end of each) and ``grades`` (published, in the order they
    were decided). An unknown learner of the course answers as not found."""
    enrolment = db.execute(select(Enrolment).where(Enrolment.course_id == course.id,
                                                   Enrolment.student_id == student.id)).scalar_one_or_none()
    if enrolment is None:
        raise NotFound.of("learner", student.id)
    now = now or utcnow()
    rows: list[Row] = [Row(m.starts_at, "class", m.id) for m in db.execute(
        select(ClassMeeting).where(ClassMeeting.course_id == course.id, ClassMeeting.starts_at <= now)).scalars()]
    tasks = list(db.execute(select(Task).where(Task.course_id == course.id)).scalars())
    rows += [Row(t.due_at, "task_due", t.id) for t in tasks if t.due_at <= now]
    if tasks:
        rows += [Row(s.submitted_at, "submission", s.task_id, s.on_time) for s in db.execute(
            select(TaskSubmission).where(TaskSubmission.student_id == student.id,
                                         TaskSubmission.task_id.in_([t.id for t in tasks]))).scalars()]
    rows += [Row(a.at, a.verb, int(a.object_id)) for a in db.execute(select(Activity).where(
        Activity.actor_id == student.id, Activity.course_id == course.id,
        Activity.verb.in_([Verb.joined_class.value, Verb.opened_material.value]))).scalars()]
    materials = set(db.execute(select(Material.id).where(Material.course_id == course.id)).scalars())
    first = min([r.at for r in rows] + [enrolment.created_at])
    bucket, ends = bucket_ends(min(first, now), now)
    grades = []
    for a in db.execute(select(Attempt).join(Exam, Exam.id == Attempt.exam_id).where(
            Attempt.student_id == student.id, Exam.course_id == course.id,
            Attempt.state == AttemptState.verified.value).order_by(Attempt.decided_at)).scalars():
        view = grade_view(a)
        if view.status == "published":
            at: datetime = a.decided_at or a.submitted_at or a.created_at
            grades.append({"at": at.isoformat(), "exam_id": a.exam_id, "exam": a.exam.title, "percent": view.percent,
                           "score": view.score, "max_score": view.max_score})
    return {"bucket": bucket, "points": timeline(rows, materials, {t.id for t in tasks}, ends), "grades": grades}
