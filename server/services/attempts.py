"""Attempt operations: every state change goes through :func:`transition`, which checks the state machine
(server.domain.attempts), writes the transition log, grades, notifies webhooks and writes the footprint, all
in the caller's transaction.

The live-exam side calls :func:`mark_identity_verified` and :func:`mark_room_scanned` when its checks pass;
when both are done the attempt moves to ``ready_to_start`` by itself.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.services.errors import Conflict, Invalid, NotFound, ProctoringInterrupted, WrongState
from server.db.base import iso, utcnow
from server.db.models import (
    Allowance, Answer, Attempt, AttemptTransition, Exam, ProctoringSession, Question, Review, SessionEvent,
    User,
)
from proctor.events import fold_events
from server.db.queries import attempts_of_college as attempts_of_college_query
from server.domain import grading
from server.domain.attempts import OPEN, Guards, check_transition
from server.domain.enums import AttemptState as S
from server.domain.enums import QuestionKind, SessionStatus, Verb, WebhookEvent
from server.services import access, footprint
from server.storage.events import append_in, list_in, verify_in
from server.webhooks import outbox

log = logging.getLogger("server.attempts")

WEBHOOK_FOR = {S.verified: WebhookEvent.attempt_verified, S.rejected: WebhookEvent.attempt_rejected,
               S.second_review_required: WebhookEvent.attempt_review_required}


def college_of(db: Session, attempt: Attempt) -> int:
    return access.college_of_exam(db, attempt.exam)


def extra_minutes(db: Session, exam_id: int, student_id: int) -> int:
    row = db.execute(
        select(Allowance).where(Allowance.exam_id == exam_id, Allowance.student_id == student_id)
    ).scalar_one_or_none()
    return row.extra_time_min if row else 0


def window_end(db: Session, exam: Exam, student_id: int) -> datetime:
    """When the exam's window closes for this student (their extra time included)."""
    return exam.closes_at + timedelta(minutes=extra_minutes(db, exam.id, student_id))


def question_specs(exam: Exam) -> list[grading.QuestionSpec]:
    return [grading.QuestionSpec(q.id, QuestionKind(q.kind), q.options, q.correct, q.points) for q in exam.questions]


def regrade(db: Session, attempt: Attempt) -> grading.GradeResult:
    specs = question_specs(attempt.exam)
    answers = {a.question_id: a for a in attempt.answers}
    result = grading.grade(
        specs,
        {qid: a.response for qid, a in answers.items()},
        {qid: a.manual_points for qid, a in answers.items() if a.manual_points is not None},
    )
    for spec in specs:
        if spec.id in answers:
            answers[spec.id].auto_points = grading.auto_points(spec, answers[spec.id].response)
    attempt.score, attempt.max_score, attempt.needs_manual_grading = result.score, result.max_score, result.needs_manual
    return result


def grade_view(attempt: Attempt) -> grading.GradeView:
    return grading.grade_view(attempt.state, attempt.score, attempt.max_score,
                              needs_manual=attempt.needs_manual_grading, decision_reason=attempt.decision_reason,
                              pass_mark=attempt.exam.pass_mark)


def session_of(db: Session, attempt: Attempt) -> ProctoringSession | None:
    return db.execute(select(ProctoringSession).where(ProctoringSession.attempt_id == attempt.id)).scalar_one_or_none()


def summary(db: Session, attempt: Attempt) -> dict[str, Any]:
    """What the student, the college and webhooks see of an attempt (the score only when published)."""
    student = db.get(User, attempt.student_id)
    sess = session_of(db, attempt)
    return {
        "id": attempt.id,
        "exam_id": attempt.exam_id,
        "exam_title": attempt.exam.title,
        "exam_type": attempt.exam.type,
        "course_id": attempt.exam.course_id,
        "student": {"id": student.id, "external_id": student.external_id, "email": student.email,
                    "full_name": student.full_name},
        "number": attempt.number,
        "state": attempt.state,
        "created_at": attempt.created_at.isoformat(),
        "started_at": iso(attempt.started_at),
        "deadline_at": iso(attempt.deadline_at),
        "submitted_at": iso(attempt.submitted_at),
        "decided_at": iso(attempt.decided_at),
        "identity_verified": attempt.identity_verified_at is not None,
        "room_scanned": attempt.room_scanned_at is not None,
        "proctoring_session_id": sess.id if sess else None,
        "integrity_score": sess.integrity_score if sess else None,
        "grade": grade_view(attempt).to_dict(),
    }


def integrity_report(db: Session, attempt: Attempt) -> dict[str, Any]:
    """The attempt's integrity report (college API, webhooks): its reviews and its proctoring session's score
    (recommendation, breakdown; provisional while the session runs), events by kind, chain head and the chain
    verified now."""
    sess = session_of(db, attempt)
    reviews = db.execute(select(Review).where(Review.attempt_id == attempt.id).order_by(Review.id)).scalars().all()
    out: dict[str, Any] = {
        "proctored": attempt.exam.proctored,
        "reviews": [{"id": r.id, "decision": r.decision, "reviewer_id": r.reviewer_id, "reason": r.reason,
                     "from_state": r.from_state, "to_state": r.to_state, "is_override": r.is_override,
                     "created_at": r.created_at.isoformat()} for r in reviews],
    }
    if sess is None:
        return out | {"session": None}
    chain = verify_in(db, sess.id)
    records = db.execute(select(SessionEvent.record).where(SessionEvent.session_id == sess.id)
                         .order_by(SessionEvent.seq)).scalars()
    events = fold_events(records)  # the final state of each engine event
    by_kind: dict[str, dict[str, Any]] = {}
    for e in events:
        k = by_kind.setdefault(e["kind"], {"count": 0, "seconds": 0.0, "severities": {}})
        k["count"] += 1
        k["seconds"] = round(k["seconds"] + (e.get("duration") or 0.0), 3)
        sev = str(e.get("severity"))
        k["severities"][sev] = k["severities"].get(sev, 0) + 1
    return out | {"session": {
        "id": sess.id, "status": sess.status, "started_at": iso(sess.started_at),
        "ended_at": iso(sess.ended_at), "integrity_score": sess.integrity_score,
        "score_recommendation": sess.score_recommendation, "score_breakdown": sess.score_breakdown,
        "score_provisional": bool(sess.integrity_score is not None and (sess.report or {}).get("provisional")),
        "counts": {kind: k["count"] for kind, k in sorted(by_kind.items())},
        "chain_head": {"seq": sess.event_count - 1, "hash": sess.chain_head} if sess.chain_head else None,
        "event_count": sess.event_count, "events": len(events), "events_by_kind": by_kind, "stream_gaps": sess.stream_gaps or [],
        "chain": chain.to_dict(), "report": sess.report,
    }}


def transition(db: Session, attempt: Attempt, target: S, *, actor: str = "system", actor_id: int | None = None,
               reason: str | None = None, override: bool = False, now: datetime | None = None) -> S:
    now = now or utcnow()
    exam = attempt.exam
    guards = Guards(proctored=exam.proctored, identity_verified=attempt.identity_verified_at is not None,
                    room_scanned=attempt.room_scanned_at is not None, override=override)
    frm = S(attempt.state)
    tgt = check_transition(frm, target, guards)
    attempt.state = tgt.value
    db.add(AttemptTransition(attempt_id=attempt.id, from_state=frm.value, to_state=tgt.value, actor=actor,
                             actor_id=actor_id, reason=reason, at=now))
    college_id = college_of(db, attempt)
    if tgt is S.started:
        attempt.started_at = now
        limit = timedelta(minutes=exam.time_limit_min + extra_minutes(db, exam.id, attempt.student_id))
        attempt.deadline_at = min(now + limit, window_end(db, exam, attempt.student_id))
        footprint.record(db, college_id=college_id, actor_id=attempt.student_id, verb=Verb.attempt_started,
                         object_type="exam", object_id=exam.id, object_name=exam.title, course_id=exam.course_id,
                         at=now)
    elif tgt in (S.submitted, S.timed_out):
        if attempt.started_at is not None:
            attempt.submitted_at = now
        regrade(db, attempt)
        if tgt is S.submitted:
            footprint.record(db, college_id=college_id, actor_id=attempt.student_id, verb=Verb.attempt_submitted,
                             object_type="exam", object_id=exam.id, object_name=exam.title,
                             course_id=exam.course_id, result={"completion": True}, at=now)
    elif tgt is S.error:
        attempt.error_reason = reason
    if tgt in (S.verified, S.rejected, S.second_review_required):
        attempt.decided_at = now
        attempt.decision_reason = reason
        if tgt is S.verified:
            view = grade_view(attempt)
            if view.status == "published":
                _footprint_grade(db, attempt, college_id, view, now)
        outbox.enqueue(db, college_id, WEBHOOK_FOR[tgt], summary(db, attempt) | {"integrity": integrity_report(db, attempt)})
    db.flush()
    log.info("attempt transition", extra={"attempt_id": attempt.id, "from": frm.value, "to": tgt.value,
                                          "actor": actor, "reason": reason})
    return tgt


def _footprint_grade(db: Session, attempt: Attempt, college_id: int, view: grading.GradeView, now: datetime) -> None:
    footprint.record(db, college_id=college_id, actor_id=attempt.student_id, verb=Verb.graded, object_type="exam",
                     object_id=attempt.exam_id, object_name=attempt.exam.title, course_id=attempt.exam.course_id,
                     result={"score": view.score, "max_score": view.max_score, "success": view.passed,
                             "attempt_id": attempt.id}, at=now)


def publish_after_manual_grading(db: Session, attempt: Attempt) -> None:
    """A verified attempt whose last hand-marked answer just got points: the grade is published now."""
    view = grade_view(attempt)
    if attempt.state == S.verified and view.status == "published":
        _footprint_grade(db, attempt, college_of(db, attempt), view, utcnow())


# --- the live-exam side's checks ---------------------------------------------------------------------------
def _maybe_ready(db: Session, attempt: Attempt, actor: str, actor_id: int | None) -> None:
    if (attempt.state == S.created and attempt.identity_verified_at is not None
            and attempt.room_scanned_at is not None):
        transition(db, attempt, S.ready_to_start, actor=actor, actor_id=actor_id,
                   reason="identity verified and room scanned")


def mark_identity_verified(db: Session, attempt: Attempt, *, enrolment_id: int | None = None,
                           actor: str = "system", actor_id: int | None = None) -> None:
    if attempt.state != S.created:
        raise WrongState(f"identity is checked before the exam starts (attempt is "
                         f"{attempt.state})", {"from": attempt.state})
    attempt.identity_verified_at = attempt.identity_verified_at or utcnow()
    sess = session_of(db, attempt)
    if sess is not None and enrolment_id is not None:
        sess.enrolment_id = enrolment_id
    _maybe_ready(db, attempt, actor, actor_id)


def mark_room_scanned(db: Session, attempt: Attempt, *, actor: str = "system", actor_id: int | None = None) -> None:
    if attempt.state != S.created:
        raise WrongState(f"the room is scanned before the exam starts (attempt is "
                         f"{attempt.state})", {"from": attempt.state})
    attempt.room_scanned_at = attempt.room_scanned_at or utcnow()
    _maybe_ready(db, attempt, actor, actor_id)


# --- the student's side ------------------------------------------------------------------------------------
def expire_if_overdue(db: Session, attempt: Attempt, grace_s: float, now: datetime | None = None) -> bool:
    """Move an attempt whose time ran out to ``timed_out`` (answers saved in time are graded)."""
    now = now or utcnow()
    exam = attempt.exam
    if attempt.state == S.started and attempt.deadline_at and now > attempt.deadline_at + timedelta(seconds=grace_s):
        transition(db, attempt, S.timed_out, reason="the time limit ran out", now=now)
        return True
    if attempt.state in (S.created, S.ready_to_start):
        if now > window_end(db, exam, attempt.student_id):
            transition(db, attempt, S.timed_out, reason="the exam window closed before the attempt started", now=now)
            return True
    return False


def start(db: Session, exam: Exam, student_id: int, now: datetime | None = None) -> tuple[Attempt, bool]:
    """The student's open attempt of the exam, or a new one. Returns (attempt, created). An open attempt whose
    time ran out is moved to timed_out first (so it does not count as open)."""
    now = now or utcnow()
    for a in db.execute(select(Attempt).where(Attempt.exam_id == exam.id, Attempt.student_id == student_id,
                                              Attempt.state.in_([s.value for s in OPEN]))).scalars().all():
        expire_if_overdue(db, a, 0, now)
    if now < exam.opens_at:
        raise Conflict(f"the exam opens at {exam.opens_at.isoformat()}", {"opens_at": exam.opens_at.isoformat()})
    if now >= exam.closes_at:
        raise Conflict(f"the exam closed at {exam.closes_at.isoformat()}", {"closes_at": exam.closes_at.isoformat()})
    mine = db.execute(
        select(Attempt).where(Attempt.exam_id == exam.id, Attempt.student_id == student_id).order_by(Attempt.number)
    ).scalars().all()
    for a in mine:
        if a.state in OPEN:
            return a, False
    counted = [a for a in mine if a.state != S.error]  # a technical error does not use up an attempt
    if len(counted) >= exam.attempts_allowed:
        raise Conflict(f"no attempts left: {exam.attempts_allowed} allowed", {"attempts_allowed": exam.attempts_allowed})
    number = (max((a.number for a in mine), default=0)) + 1
    attempt = Attempt(exam_id=exam.id, student_id=student_id, number=number, state=S.created.value, created_at=now)
    db.add(attempt)
    db.flush()
    db.add(AttemptTransition(attempt_id=attempt.id, from_state="", to_state=S.created.value, actor=f"user:{student_id}",
                             actor_id=student_id, reason="attempt created", at=now))
    if exam.proctored:
        db.add(ProctoringSession(attempt_id=attempt.id, created_at=now))
    else:
        transition(db, attempt, S.ready_to_start, actor="system", reason="the exam is not proctored", now=now)
    db.flush()
    return attempt, True


NODE_SILENCE_S = 10.0  # a live session's node sends heartbeats every 5 s: silent this much longer, it is gone
UNPROCTORED_ALLOWED = "unproctored_allowed"  # the chain record of a proctor letting the attempt go on unwatched


def proctoring_interruption(db: Session, attempt: Attempt, grace_s: float,
                            now: datetime | None = None) -> dict[str, Any] | None:
    """Why a started proctored attempt has no live proctoring now (its session ended, or its stream has been
    lost for longer than ``grace_s``), or None: proctored, not proctored, or a proctor allowed it to go on."""
    if not attempt.exam.proctored:
        return None
    sess = session_of(db, attempt)
    if sess is None:
        return None
    now = now or utcnow()
    reason = None
    if sess.status in (SessionStatus.ended.value, SessionStatus.error.value):
        reason = f"the proctoring session has {'ended' if sess.status == 'ended' else 'failed'}"
    elif sess.status == SessionStatus.live.value and sess.last_seen_at is not None and \
            (now - sess.last_seen_at).total_seconds() > grace_s + NODE_SILENCE_S:
        reason = f"the server analysing the camera stream has been silent for longer than the {grace_s:g} s grace period"
    elif sess.status == SessionStatus.stream_lost.value:
        gaps = sess.stream_gaps or []
        start = gaps[-1].get("start") if gaps and gaps[-1].get("end") is None else None
        if start is not None and (now - datetime.fromisoformat(start)).total_seconds() > grace_s:
            reason = f"the camera stream has been lost for longer than the {grace_s:g} s grace period"
    if reason is None:
        return None
    if any(e["record"].get("type") == UNPROCTORED_ALLOWED for e in list_in(db, sess.id)):
        return None
    return {"reason": reason, "session_id": sess.id, "session_status": sess.status}


def allow_unproctored(db: Session, attempt: Attempt, actor_id: int, reason: str,
                      now: datetime | None = None) -> dict[str, Any]:
    """A proctor lets a proctored attempt go on without live proctoring: recorded in the session's chain (the
    answers it then accepts are on the record as given unwatched)."""
    if not attempt.exam.proctored:
        raise Conflict("the exam is not proctored: nothing to allow", {"attempt_id": attempt.id})
    if attempt.state not in (S.started, S.ready_to_start, S.created):
        raise WrongState(f"the attempt is {attempt.state}: it is over", {"from": attempt.state})
    sess = session_of(db, attempt)
    if sess is None:
        raise NotFound.of("proctoring session of attempt", attempt.id)
    now = now or utcnow()
    t = (now - sess.started_at).total_seconds() if sess.started_at else None
    [entry] = append_in(db, sess.id, [{"type": UNPROCTORED_ALLOWED, "t": None if t is None else round(t, 3),
                                       "by": f"user:{actor_id}", "reason": reason, "session_status": sess.status}])
    log.info("unproctored allowed", extra={"attempt_id": attempt.id, "by": actor_id})
    return entry


def save_answer(db: Session, attempt: Attempt, question_id: int, response: Any, now: datetime | None = None,
                live_grace_s: float = float("inf")) -> Answer:
    now = now or utcnow()
    if attempt.state != S.started:
        raise WrongState(f"answers are saved only while the attempt is started "
                         f"(it is {attempt.state})", {"from": attempt.state})
    interrupted = proctoring_interruption(db, attempt, live_grace_s, now)
    if interrupted is not None:
        raise ProctoringInterrupted(f"answers are not accepted: {interrupted['reason']}; reconnect the camera or "
                                    f"ask the proctor", interrupted)
    question = db.get(Question, question_id)
    if question is None or question.exam_id != attempt.exam_id:
        raise NotFound.of("question", question_id)
    spec = grading.QuestionSpec(question.id, QuestionKind(question.kind), question.options, question.correct,
                                question.points)
    try:
        value = grading.validate_response(spec, response)
    except grading.BadResponse as exc:
        raise Invalid(str(exc), [{"field": "body.response", "message": str(exc)}])
    answer = db.execute(
        select(Answer).where(Answer.attempt_id == attempt.id, Answer.question_id == question_id)
    ).scalar_one_or_none()
    if answer is None:
        answer = Answer(attempt_id=attempt.id, question_id=question_id, response=value, saved_at=now)
        db.add(answer)
    else:
        answer.response, answer.saved_at = value, now
    db.flush()
    return answer


def submit(db: Session, attempt: Attempt, student_id: int, now: datetime | None = None) -> None:
    transition(db, attempt, S.submitted, actor=f"user:{student_id}", actor_id=student_id, now=now)
    if not attempt.exam.proctored:
        # unproctored (practice) exams need no review: they are verified on submission
        transition(db, attempt, S.verified, actor="system", reason="unproctored exam: verified on submission", now=now)


def attempts_of_college(db: Session, college_id: int, *, exam_id: int | None = None, student_id: int | None = None,
                        state: str | None = None, limit: int = 200, offset: int = 0) -> list[Attempt]:
    q = attempts_of_college_query(select(Attempt), college_id)
    if exam_id is not None:
        q = q.where(Attempt.exam_id == exam_id)
    if student_id is not None:
        q = q.where(Attempt.student_id == student_id)
    if state is not None:
        q = q.where(Attempt.state == state)
    return list(db.execute(q.order_by(Attempt.id).limit(limit).offset(offset)).scalars())


def attempts_used(db: Session, exam_id: int, student_id: int) -> int:
    return db.execute(
        select(func.count(Attempt.id)).where(Attempt.exam_id == exam_id, Attempt.student_id == student_id,
                                             Attempt.state != S.error.value)
    ).scalar_one()
