"""A learner's actions on courses, each written to the digital footprint: joining and leaving a synchronous
class (attendance), opening a material, handing in a task (on time or late)."""

from __future__ import annotations

from datetime import timedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.principal import Principal
from server.db.base import utcnow
from server.db.models import Activity, ClassMeeting, Material, Task, TaskSubmission
from server.domain.enums import Verb
from server.services import access, footprint
from server.services.errors import Conflict

JOIN_EARLY = timedelta(minutes=15)  # a class can be joined this long before it starts


def join_class(db: Session, me: Principal, class_id: int, *, ip: str | None = None,
               user_agent: str | None = None) -> tuple[ClassMeeting, Activity]:
    m = access.enrolled_item(db, me, ClassMeeting, class_id, "class")
    now = utcnow()
    if not (m.starts_at - JOIN_EARLY <= now <= m.ends_at):
        raise Conflict("the class is not running now", {"starts_at": m.starts_at.isoformat(),
                                                        "ends_at": m.ends_at.isoformat()})
    a = footprint.record(db, college_id=me.college_id, actor_id=me.user_id, verb=Verb.joined_class,
                         object_type="class", object_id=m.id, object_name=m.title, course_id=m.course_id,
                         ip=ip, user_agent=user_agent, at=now)
    return m, a


def leave_class(db: Session, me: Principal, class_id: int, *, ip: str | None = None,
                user_agent: str | None = None) -> tuple[ClassMeeting, Activity]:
    """Leaving records how long the learner stayed since they last joined."""
    m = access.enrolled_item(db, me, ClassMeeting, class_id, "class")
    joined = db.execute(select(Activity.at).where(
        Activity.actor_id == me.user_id, Activity.verb == Verb.joined_class.value, Activity.object_type == "class",
        Activity.object_id == str(m.id)).order_by(Activity.id.desc()).limit(1)).scalar_one_or_none()
    if joined is None:
        raise Conflict("you have not joined this class")
    now = utcnow()
    a = footprint.record(db, college_id=me.college_id, actor_id=me.user_id, verb=Verb.left_class, object_type="class",
                         object_id=m.id, object_name=m.title, course_id=m.course_id,
                         result={"duration_s": round((now - joined).total_seconds(), 2)}, ip=ip,
                         user_agent=user_agent, at=now)
    return m, a


def open_material(db: Session, me: Principal, material_id: int, *, ip: str | None = None,
                  user_agent: str | None = None) -> Material:
    m = access.enrolled_item(db, me, Material, material_id, "material")
    footprint.record(db, college_id=me.college_id, actor_id=me.user_id, verb=Verb.opened_material,
                     object_type="material", object_id=m.id, object_name=m.title, course_id=m.course_id,
                     ip=ip, user_agent=user_agent)
    return m


def submit_task(db: Session, me: Principal, task_id: int, content: str, *, ip: str | None = None,
                user_agent: str | None = None) -> TaskSubmission:
    """Hand a task in, once; on time if before its due date."""
    t = access.enrolled_item(db, me, Task, task_id, "task")
    if db.execute(select(TaskSubmission.id).where(TaskSubmission.task_id == t.id,
                                                  TaskSubmission.student_id == me.user_id)).first():
        raise Conflict("the task was already handed in")
    now = utcnow()
    on_time = now <= t.due_at
    sub = TaskSubmission(task_id=t.id, student_id=me.user_id, submitted_at=now, on_time=on_time, content=content)
    db.add(sub)
    footprint.record(db, college_id=me.college_id, actor_id=me.user_id, verb=Verb.submitted_task, object_type="task",
                     object_id=t.id, object_name=t.title, course_id=t.course_id,
                     result={"completion": True, "on_time": on_time}, ip=ip, user_agent=user_agent, at=now)
    return sub
