"""What a validated launch means here: the LMS user becomes (or is) a person of the registering college, the
LMS course a course of ours, the resource link one of our exams, and a learner's launch an attempt.

Every function runs in the caller's transaction; nothing here trusts the browser: all inputs are claims of a
launch whose signature, nonce, state, audience and deployment were checked (server.lti.adapter).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.auth.keys import new_token
from server.db.base import utcnow
from server.db.models import (
    Attempt, AuthToken, Course, CourseTeacher, Enrolment, Exam, LtiAttemptLink, LtiContext, LtiRegistration,
    LtiResourceLink, LtiUserLink, User,
)
from server.domain.enums import ExamType, Role, Verb
from server.lti import claims as C
from server.lti.errors import LaunchConflict, LaunchNotFound, LaunchRefused, LaunchUnsupported
from server.services import attempts as attempt_ops
from server.services import exams, footprint
from server.services.errors import Invalid

log = logging.getLogger("server.lti")


@dataclass(frozen=True)
class Who:
    user: User
    staff: bool


def _synthetic_email(reg: LtiRegistration, sub: str) -> str:
    return f"lti-{reg.id}-{hashlib.sha256(sub.encode()).hexdigest()[:20]}@lti.invalid"


def person(db: Session, reg: LtiRegistration, sub: str, *, name: str | None, email: str | None,
           staff: bool) -> User:
    """The person an LMS user is: linked before, else the college's person with that e-mail, else a new one.
    An existing person's role is never raised by a launch (an LMS cannot make a student a teacher here)."""
    link = db.execute(select(LtiUserLink).where(LtiUserLink.registration_id == reg.id, LtiUserLink.sub == sub)
                      ).scalar_one_or_none()
    if link is not None:
        user = db.get(User, link.user_id)
        if user is not None:
            if not user.is_active:
                raise LaunchRefused("this account is disabled at the college")
            return user
    user = None
    if email:
        user = db.execute(select(User).where(User.college_id == reg.college_id,  # e-mail is unique per college
                                             func.lower(User.email) == email.strip().lower())).scalar_one_or_none()
        if user is not None and not _may_link(db, reg, user, staff):
            user = None
    if user is None:
        taken = bool(email) and db.execute(select(User.id).where(User.college_id == reg.college_id,
                                                                 func.lower(User.email) == email.strip().lower())
                                           ).first() is not None
        user = User(college_id=reg.college_id,
                    email=(email.strip().lower() if email and not taken else _synthetic_email(reg, sub)),
                    full_name=(name or "LMS user")[:255], role=(Role.teacher if staff else Role.student).value)
        db.add(user)
        db.flush()
    if not user.is_active:
        raise LaunchRefused("this account is disabled at the college")
    db.add(LtiUserLink(registration_id=reg.id, sub=sub, user_id=user.id))
    db.flush()
    return user


def _may_link(db: Session, reg: LtiRegistration, user: User, staff: bool) -> bool:
    """Whether an LMS user may be linked to an existing account by e-mail: same college, the role the LMS gives
    (a learner to a student, an instructor to a teacher; never to a proctor's or an admin's account), and not
    already linked to another user of this LMS (an e-mail changed in the LMS must not take over an account)."""
    if user.college_id != reg.college_id:
        return False
    if user.role != (Role.teacher if staff else Role.student):
        return False
    return db.execute(select(LtiUserLink.id).where(LtiUserLink.registration_id == reg.id,
                                                   LtiUserLink.user_id == user.id)).first() is None


def who(db: Session, reg: LtiRegistration, body: dict[str, Any]) -> Who:
    sub = body.get("sub")
    if not sub:
        raise LaunchUnsupported("the launch names no user")
    staff = C.is_instructor(body.get(C.ROLES))
    name = body.get("name") or " ".join(x for x in (body.get("given_name"), body.get("family_name")) if x) or None
    return Who(person(db, reg, str(sub), name=name, email=body.get("email"), staff=staff), staff)


def _course_code(context_id: str, label: str | None) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", (label or "LMS")).strip("-")[:40] or "LMS"
    return f"{base}-{hashlib.sha256(context_id.encode()).hexdigest()[:8]}"


def context(db: Session, reg: LtiRegistration, deployment_id: str, body: dict[str, Any],
            course_hint: int | None = None, create: bool = True) -> LtiContext | None:
    """The LMS course of the launch, mapped to our course (the hint's, or a new course of the college; with
    ``create=False`` an LMS course seen for the first time stays unmapped: None)."""
    ctx = body.get(C.CONTEXT) or {}
    cid = ctx.get("id")
    if not cid:
        return None
    row = db.execute(select(LtiContext).where(LtiContext.registration_id == reg.id,
                                              LtiContext.deployment_id == deployment_id,
                                              LtiContext.context_id == str(cid))).scalar_one_or_none()
    nrps = (body.get(C.NRPS) or {}).get("context_memberships_url")
    if row is None and not create and course_hint is None:
        return None
    if row is None:
        course_id = course_hint
        if course_id is None:
            code = _course_code(str(cid), ctx.get("label"))
            course = db.execute(select(Course).where(Course.college_id == reg.college_id, Course.code == code)
                                ).scalar_one_or_none()
            if course is None:
                course = Course(college_id=reg.college_id, code=code,
                                title=(ctx.get("title") or ctx.get("label") or "LMS course")[:255])
                db.add(course)
                db.flush()
            course_id = course.id
        row = LtiContext(registration_id=reg.id, deployment_id=deployment_id, context_id=str(cid),
                         title=(ctx.get("title") or None), course_id=course_id)
        db.add(row)
    if nrps:
        row.memberships_url = nrps
    db.flush()
    return row


def enrol(db: Session, course_id: int, user: User, staff: bool) -> None:
    if staff:
        if db.get(CourseTeacher, (course_id, user.id)) is None and user.role in (Role.teacher, Role.college_admin):
            db.add(CourseTeacher(course_id=course_id, teacher_id=user.id))
    elif user.role == Role.student:
        exists = db.execute(select(Enrolment.id).where(Enrolment.course_id == course_id,
                                                       Enrolment.student_id == user.id)).first()
        if not exists:
            db.add(Enrolment(course_id=course_id, student_id=user.id))
    db.flush()


def college_exam(db: Session, reg: LtiRegistration, exam_id: Any) -> Exam:
    try:
        exam = db.get(Exam, int(exam_id))
    except (TypeError, ValueError):
        exam = None
    if exam is None or db.get(Course, exam.course_id).college_id != reg.college_id:
        raise LaunchNotFound("the link names an exam this college does not have")
    return exam


def resource_link(db: Session, reg: LtiRegistration, deployment_id: str, body: dict[str, Any],
                  ctx: LtiContext | None, exam: Exam | None) -> LtiResourceLink | None:
    """The placement of the launch, with its AGS endpoint (kept for grade passback)."""
    rl = body.get(C.RESOURCE_LINK) or {}
    rid = rl.get("id")
    if not rid:
        return None
    row = db.execute(select(LtiResourceLink).where(LtiResourceLink.registration_id == reg.id,
                                                   LtiResourceLink.deployment_id == deployment_id,
                                                   LtiResourceLink.resource_link_id == str(rid))
                     ).scalar_one_or_none()
    if row is None:
        if exam is None:
            return None
        row = LtiResourceLink(registration_id=reg.id, deployment_id=deployment_id, resource_link_id=str(rid),
                              exam_id=exam.id, ags_scopes=[])
        db.add(row)
    elif exam is not None and row.exam_id != exam.id:
        raise LaunchConflict("this LMS link already opens another exam")
    row.context_id = ctx.id if ctx is not None else row.context_id
    row.title = (rl.get("title") or row.title or None)
    ags = body.get(C.AGS_ENDPOINT) or {}
    if ags:
        row.ags_lineitem_url = ags.get("lineitem") or row.ags_lineitem_url
        row.ags_lineitems_url = ags.get("lineitems") or row.ags_lineitems_url
        row.ags_scopes = list(ags.get("scope") or [])
    db.flush()
    return row


def lms_assessment_exam(db: Session, ctx: LtiContext | None, body: dict[str, Any]) -> Exam:
    """An LTI Proctoring launch proctors the platform's own assessment: it is held here as a proctored exam
    with no questions of ours (the LMS grades it; attempts are counted by the LMS)."""
    if ctx is None:
        raise LaunchUnsupported("a proctoring launch needs the course (context claim)")
    rl = body.get(C.RESOURCE_LINK) or {}
    now = utcnow()
    return exams.create(db, db.get(Course, ctx.course_id), {
        "title": (rl.get("title") or "LMS assessment")[:255], "type": ExamType.intermediate_attestation.value,
        "opens_at": now - timedelta(minutes=1),
        "closes_at": now + timedelta(days=3650),  # the LMS decides when the assessment is open
        "time_limit_min": 24 * 60, "attempts_allowed": 1000, "proctored": True, "pass_mark": None}, [])


def taught_course_ids(db: Session, user: User) -> list[int]:
    """The courses the person teaches here (the courses a teacher may add to an LMS course in Deep Linking)."""
    return [ct.course_id for ct in db.execute(select(CourseTeacher).where(CourseTeacher.teacher_id == user.id)
                                              ).scalars()]


def proctored_exams(db: Session, course_ids: list[int]) -> list[Exam]:
    """The proctored exams of the courses, the latest opening first (Deep Linking's choices)."""
    if not course_ids:
        return []
    return list(db.execute(select(Exam).where(Exam.course_id.in_(course_ids), Exam.proctored.is_(True))
                           .order_by(Exam.opens_at.desc())).scalars())


def attempt_counts(db: Session, exam: Exam) -> dict[str, int]:
    """How many attempts of the exam are in each state (the teacher's launch page)."""
    return {state: n for state, n in db.execute(select(Attempt.state, func.count(Attempt.id))
                                                .where(Attempt.exam_id == exam.id).group_by(Attempt.state))}


def new_exam(db: Session, ctx: LtiContext, *, title: str, exam_type: str, opens_at: datetime, closes_at: datetime,
             time_limit_min: int) -> Exam:
    """A new proctored exam in the LMS course's course, chosen by its teacher in Deep Linking (the college API's
    rules hold: the window closes after it opens)."""
    try:
        kind = ExamType(exam_type)
    except ValueError:
        raise Invalid(f"not an exam type: {exam_type!r}", [{"field": "body.type", "message": "not an exam type"}])
    return exams.create(db, db.get(Course, ctx.course_id), {
        "title": title[:255], "type": kind.value, "opens_at": opens_at, "closes_at": closes_at,
        "time_limit_min": max(1, time_limit_min), "attempts_allowed": 1, "proctored": True}, [])


def sign_in(db: Session, user: User, settings: Any, ip: str | None, user_agent: str | None) -> tuple[str, int]:
    """A sign-in token for the person (as after a password sign-in); returns (token, max_age seconds)."""
    token, digest = new_token()
    ttl = int(settings.token_ttl_hours * 3600)
    db.add(AuthToken(user_id=user.id, token_hash=digest, expires_at=utcnow() + timedelta(seconds=ttl), ip=ip,
                     user_agent=user_agent))
    footprint.record(db, college_id=user.college_id, actor_id=user.id, verb=Verb.signed_in, object_type="lms",
                     object_id="lti", object_name="LMS (LTI 1.3)", ip=ip, user_agent=user_agent)
    return token, ttl


def learner_attempt(db: Session, exam: Exam, user: User, link: LtiResourceLink, sub: str) -> Attempt:
    """The student's open attempt of the exam (or a new one), tied to the LMS link for grade passback."""
    if user.role != Role.student:
        raise LaunchRefused("only students take exams; your account here is not a student's")
    attempt, _ = attempt_ops.start(db, exam, user.id)
    if db.execute(select(LtiAttemptLink.id).where(LtiAttemptLink.attempt_id == attempt.id)).first() is None:
        db.add(LtiAttemptLink(attempt_id=attempt.id, resource_link_id=link.id, sub=sub, acs_actions=[]))
        db.flush()
    return attempt


def proctoring_attempt(db: Session, exam: Exam, user: User, link: LtiResourceLink, sub: str,
                       body: dict[str, Any]) -> tuple[Attempt, LtiAttemptLink]:
    """LtiStartProctoring: the attempt for the platform's attempt number (the same one if the student comes
    back to it), with what LtiStartAssessment must echo and the Assessment Control endpoint."""
    if user.role != Role.student:
        raise LaunchRefused("only students are proctored; your account here is not a student's")
    number = int(body[C.AP_ATTEMPT_NUMBER])
    row = db.execute(select(LtiAttemptLink).where(LtiAttemptLink.resource_link_id == link.id,
                                                  LtiAttemptLink.sub == sub,
                                                  LtiAttemptLink.lms_attempt_number == number)).scalar_one_or_none()
    if row is not None:
        attempt = db.get(Attempt, row.attempt_id)
        if attempt.student_id != user.id:
            raise LaunchRefused("this LMS attempt belongs to someone else")
    else:
        attempt, _ = attempt_ops.start(db, exam, user.id)
        row = LtiAttemptLink(attempt_id=attempt.id, resource_link_id=link.id, sub=sub, proctoring=True,
                             lms_attempt_number=number, acs_actions=[])
        db.add(row)
    acs = body.get(C.AP_ACS) or {}
    row.session_data = body.get(C.AP_SESSION_DATA)
    row.start_assessment_url = body.get(C.AP_START_ASSESSMENT_URL)
    row.acs_url = acs.get("assessment_control_url") or row.acs_url
    row.acs_actions = list(acs.get("actions") or row.acs_actions or [])
    db.flush()
    return attempt, row


def end_assessment(db: Session, link: LtiResourceLink, user: User, sub: str, body: dict[str, Any]) -> Attempt:
    """LtiEndAssessment: the student finished the platform's assessment; the attempt is handed in."""
    number = int(body[C.AP_ATTEMPT_NUMBER])
    row = db.execute(select(LtiAttemptLink).where(LtiAttemptLink.resource_link_id == link.id,
                                                  LtiAttemptLink.sub == sub,
                                                  LtiAttemptLink.lms_attempt_number == number)).scalar_one_or_none()
    if row is None:
        raise LaunchNotFound("no proctored attempt matches this end of assessment")
    attempt = db.get(Attempt, row.attempt_id)
    if attempt.student_id != user.id:
        raise LaunchRefused("this LMS attempt belongs to someone else")
    row.assessment_ended_at = row.assessment_ended_at or utcnow()
    if attempt.state == "started":
        attempt_ops.transition(db, attempt, attempt_ops.S.submitted, actor=f"user:{user.id}", actor_id=user.id,
                               reason="the LMS ended the assessment (LtiEndAssessment)")
    sess = attempt_ops.session_of(db, attempt)
    if sess is not None and sess.status in ("pending", "live", "stream_lost"):
        sess.status, sess.ended_at = "ended", utcnow()
    db.flush()
    return attempt
