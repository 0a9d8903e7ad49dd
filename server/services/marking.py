"""A teacher's marking: hand-marking answers of handed-in attempts (the attempt is regraded, and its grade
published once nothing is left to mark) and grading task hand-ins (written to the learner's footprint)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.principal import Principal
from server.db.base import utcnow
from server.db.models import Answer, Attempt, Question, Task, TaskSubmission
from server.domain.attempts import OPEN
from server.domain.enums import Verb
from server.services import access, footprint
from server.services import attempts as attempt_ops
from server.services.errors import Invalid, NotFound, WrongState


def mark_answer(db: Session, me: Principal, attempt: Attempt, question_id: int, points: float) -> Attempt:
    if attempt.state in OPEN:
        raise WrongState("answers are marked after the attempt is handed in", {"from": attempt.state})
    q = db.get(Question, question_id)
    if q is None or q.exam_id != attempt.exam_id:
        raise NotFound.of("question", question_id)
    if points > q.points:
        raise Invalid(f"at most {q.points} points", [{"field": "body.points", "message": f"at most {q.points}"}])
    answer = db.execute(select(Answer).where(Answer.attempt_id == attempt.id, Answer.question_id == q.id)
                        ).scalar_one_or_none()
    if answer is None:
        answer = Answer(attempt_id=attempt.id, question_id=q.id, response=None)
        db.add(answer)
        attempt.answers.append(answer)
    was_pending = attempt.needs_manual_grading
    answer.manual_points, answer.graded_by_id = points, me.user_id
    db.flush()
    attempt_ops.regrade(db, attempt)
    if was_pending and not attempt.needs_manual_grading:
        attempt_ops.publish_after_manual_grading(db, attempt)
    return attempt


def taught_task(db: Session, me: Principal, task_id: int) -> Task:
    """A task of a course the caller teaches (a college admin: of any course of the college)."""
    t = db.get(Task, task_id)
    if t is None:
        raise NotFound.of("task", task_id)
    access.taught_course(db, me, t.course_id)
    return t


def submissions(db: Session, task: Task) -> list[TaskSubmission]:
    return list(db.execute(select(TaskSubmission).where(TaskSubmission.task_id == task.id)
                           .order_by(TaskSubmission.id)).scalars())


def grade_submission(db: Session, me: Principal, task: Task, student_id: int, points: float) -> TaskSubmission:
    s = db.execute(select(TaskSubmission).where(TaskSubmission.task_id == task.id,
                                                TaskSubmission.student_id == student_id)).scalar_one_or_none()
    if s is None:
        raise NotFound.of("submission", f"{task.id}/{student_id}")
    if points > task.max_points:
        raise Invalid(f"at most {task.max_points} points",
                      [{"field": "body.points", "message": f"at most {task.max_points}"}])
    s.points, s.graded_by_id, s.graded_at = points, me.user_id, utcnow()
    footprint.record(db, college_id=me.college_id, actor_id=student_id, verb=Verb.graded, object_type="task",
                     object_id=task.id, object_name=task.title, course_id=task.course_id,
                     result={"score": points, "max_score": task.max_points, "graded_by": me.user_id})
    return s


def hand_in_counts(db: Session, task_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per task: how many hand-ins it has and how many of them are graded (tasks with none are left out)."""
    counts: dict[int, tuple[int, int]] = {}
    if task_ids:
        for s in db.execute(select(TaskSubmission).where(TaskSubmission.task_id.in_(task_ids))).scalars():
            n, graded = counts.get(s.task_id, (0, 0))
            counts[s.task_id] = (n + 1, graded + (s.points is not None))
    return counts
