"""What the tool sends back to a platform, queued in ``lti_service_calls`` in the transaction of the change it
reports (so a rolled-back decision sends nothing) and delivered by :mod:`server.lti.deliverer`.

* **AGS score** when an attempt that came from the LMS is decided: ``verified`` and fully graded sends the
  score with ``gradingProgress: FullyGraded``; ``verified`` with hand-marked answers still open sends
  ``PendingManual`` (no score) and the score follows when the last answer gets its points; ``rejected``
  sends the decision as ``gradingProgress: Failed`` with the reason and no score; ``second_review_required``
  sends ``Pending``. A later decision (a second reviewer's override) sends a newer score that replaces it.
* **ACS terminate** when a proctor ends a running LTI-proctored attempt (started -> submitted/error by someone
  other than the student) or rejects it; **ACS flag** for each new engine event at least
  ``lti_flag_min_severity`` severe while the LMS assessment runs (:func:`scan_flags`).

The hook is a SQLAlchemy ``before_flush`` listener on attempt state changes (:func:`install_hooks`): no
change to the attempt or review code is needed, and every path that decides an attempt is covered.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from server.db.base import utcnow
from server.db.models import (
    Attempt, AttemptTransition, LtiAttemptLink, LtiResourceLink, LtiServiceCall, ProctoringSession, SessionEvent,
)
from server.lti import claims as C

log = logging.getLogger("server.lti")

SEVERITY_VALUE = {"low": 0.25, "medium": 0.5, "high": 0.9}
_wakers: list[Any] = []


def add_waker(fn: Any) -> None:
    _wakers.append(fn)


def remove_waker(fn: Any) -> None:
    if fn in _wakers:
        _wakers.remove(fn)


def _wake(_session: Session) -> None:
    for fn in list(_wakers):
        fn()


def _iso(t: datetime) -> str:
    return t.astimezone().isoformat(timespec="milliseconds").replace("+00:00", "Z")


def score_payload(attempt: Attempt, sub: str, now: datetime) -> dict[str, Any] | None:
    """The AGS Score for the attempt's state, or None when nothing is to be sent yet."""
    from server.services.attempts import grade_view

    state = attempt.state
    out: dict[str, Any] = {"userId": sub, "timestamp": _iso(now), "activityProgress": "Completed"}
    if state == "verified":
        view = grade_view(attempt)
        if view.status == "published":
            return out | {"scoreGiven": float(view.score), "scoreMaximum": float(view.max_score or 0.0),
                          "gradingProgress": "FullyGraded", "comment": "verified by the proctoring review"}
        return out | {"gradingProgress": "PendingManual", "comment": "verified; hand-marked answers are being graded"}
    if state == "rejected":
        return out | {"gradingProgress": "Failed",
                      "comment": f"rejected by the proctoring review: {attempt.decision_reason or 'no reason given'}"}
    if state == "second_review_required":
        return out | {"gradingProgress": "Pending", "comment": "awaiting a second proctoring review"}
    return None


def _queue(db: Session, reg_id: int, attempt_id: int | None, kind: str, url: str, payload: dict[str, Any]) -> None:
    db.add(LtiServiceCall(registration_id=reg_id, attempt_id=attempt_id, kind=kind, url=url, payload=payload,
                          next_attempt_at=utcnow(), log=[]))
    if not event.contains(db, "after_commit", _wake):
        event.listen(db, "after_commit", _wake, once=True)


def queue_score(db: Session, attempt: Attempt, now: datetime | None = None) -> bool:
    link = db.execute(select(LtiAttemptLink).where(LtiAttemptLink.attempt_id == attempt.id)).scalar_one_or_none()
    if link is None or link.proctoring:
        return False  # not from an LMS, or the LMS grades its own assessment
    rl = db.get(LtiResourceLink, link.resource_link_id)
    if rl is None or C.SCOPE_SCORE not in (rl.ags_scopes or []) or not (rl.ags_lineitem_url or rl.ags_lineitems_url):
        return False
    payload = score_payload(attempt, link.sub, now or utcnow())
    if payload is None:
        return False
    payload["_exam_id"] = attempt.exam_id  # to find or create the line item when the link named none
    _queue(db, rl.registration_id, attempt.id, "ags_score", rl.ags_lineitem_url or rl.ags_lineitems_url, payload)
    return True


def acs_payload(link: LtiAttemptLink, rl: LtiResourceLink, issuer: str, action: str, now: datetime, *,
                severity: float | None = None, code: str | None = None, message: str | None = None
                ) -> dict[str, Any]:
    out: dict[str, Any] = {"user": {"iss": issuer, "sub": link.sub}, "resource_link": {"id": rl.resource_link_id},
                           "attempt_number": link.lms_attempt_number, "action": action,
                           "incident_time": _iso(now)}
    if severity is not None:
        out["incident_severity"] = round(float(severity), 3)
    if code:
        out["reason_code"] = code
    if message:
        out["reason_msg"] = message[:1000]
    return out


def queue_acs(db: Session, attempt_id: int, action: str, *, severity: float | None = None, code: str | None = None,
              message: str | None = None, now: datetime | None = None, event_id: str | None = None) -> bool:
    from server.db.models import LtiRegistration

    link = db.execute(select(LtiAttemptLink).where(LtiAttemptLink.attempt_id == attempt_id)).scalar_one_or_none()
    if link is None or not link.proctoring or not link.acs_url:
        return False
    if link.acs_actions and action not in link.acs_actions:
        return False  # the platform said which actions it supports
    rl = db.get(LtiResourceLink, link.resource_link_id)
    reg = db.get(LtiRegistration, rl.registration_id)
    payload = acs_payload(link, rl, reg.issuer, action, now or utcnow(), severity=severity, code=code,
                          message=message)
    if event_id:
        payload["_event_id"] = event_id  # ours, not sent: the same event is not flagged twice
    _queue(db, reg.id, attempt_id, f"acs_{action}", link.acs_url, payload)
    return True


# --- the hook on attempt decisions ------------------------------------------------------------------------
# before_flush notes which attempts were decided (or got their last hand-marked points) and which were ended by
# a proctor; before_commit queues the calls from their final state in the same transaction (a decision's
# reason, grade and state are all set by then). A rollback forgets the notes.
_KEY = "lti_pending"


def _pending(db: Session) -> dict[str, Any]:
    return db.info.setdefault(_KEY, {"scores": set(), "terminate": {}})


def _on_flush(db: Session, _ctx: Any, _instances: Any) -> None:
    transitions = [o for o in db.new if isinstance(o, AttemptTransition)]
    dirty = [o for o in db.dirty if isinstance(o, Attempt)]
    if not transitions and not dirty:
        return
    p = _pending(db)
    for o in dirty:
        attrs = inspect(o).attrs
        if o.state == "verified" and (attrs.score.history.has_changes()
                                      or attrs.needs_manual_grading.history.has_changes()):
            p["scores"].add(o.id)  # hand-marked points arrived after the verification
    for t in transitions:
        if t.to_state in ("verified", "rejected", "second_review_required"):
            p["scores"].add(t.attempt_id)
        by_other = t.actor_id is not None and t.actor != "system"
        if t.to_state == "rejected" or (t.from_state == "started" and t.to_state in ("submitted", "error")
                                        and by_other):
            p["terminate"][t.attempt_id] = (t.to_state, t.reason, t.actor_id)


def _on_commit(db: Session) -> None:
    p = db.info.pop(_KEY, None)
    if not p:
        return
    with db.no_autoflush:
        for attempt_id in sorted(p["scores"]):
            a = db.get(Attempt, attempt_id)
            if a is not None:
                queue_score(db, a)
        for attempt_id, (to_state, reason, actor_id) in p["terminate"].items():
            _terminate(db, attempt_id, to_state, reason, actor_id)
    db.flush()


def _on_rollback(db: Session, *_args: Any) -> None:
    db.info.pop(_KEY, None)


def _terminate(db: Session, attempt_id: int, to_state: str, reason: str | None, actor_id: int) -> None:
    link = db.execute(select(LtiAttemptLink).where(LtiAttemptLink.attempt_id == attempt_id)).scalar_one_or_none()
    if link is None or not link.proctoring or link.assessment_started_at is None:
        return
    a = db.get(Attempt, attempt_id)
    if to_state != "rejected" and (link.assessment_ended_at is not None or actor_id == a.student_id):
        return  # the student handed in, or the LMS already ended it
    queue_acs(db, attempt_id, "terminate", code="proctor_decision",
              message=f"{to_state} by the proctor: {reason or 'no reason given'}")


def install_hooks() -> None:
    for name, fn in (("before_flush", _on_flush), ("before_commit", _on_commit),
                     ("after_rollback", _on_rollback)):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)


# --- flags from engine events -----------------------------------------------------------------------------
def scan_flags(db: Session, min_severity: float, now: datetime | None = None) -> int:
    """Queue an ACS ``flag`` for every new engine event at least ``min_severity`` severe, on the LTI-proctored
    attempts whose LMS assessment is running. Returns how many were queued."""
    from proctor.events import fold_events

    now = now or utcnow()
    links = db.execute(select(LtiAttemptLink).where(LtiAttemptLink.proctoring.is_(True),
                                                    LtiAttemptLink.assessment_started_at.is_not(None),
                                                    LtiAttemptLink.assessment_ended_at.is_(None),
                                                    LtiAttemptLink.acs_url.is_not(None))).scalars().all()
    queued = 0
    for link in links:
        sess = db.execute(select(ProctoringSession).where(ProctoringSession.attempt_id == link.attempt_id)
                          ).scalar_one_or_none()
        if sess is None:
            continue
        rows = db.execute(select(SessionEvent.seq, SessionEvent.record).where(
            SessionEvent.session_id == sess.id, SessionEvent.seq > link.flagged_seq).order_by(SessionEvent.seq)).all()
        if not rows:
            continue
        sent: dict[str, float] = {}  # event id -> the highest severity already flagged
        for c in db.execute(select(LtiServiceCall.payload).where(LtiServiceCall.attempt_id == link.attempt_id,
                                                                 LtiServiceCall.kind == "acs_flag")).scalars():
            eid = c.get("_event_id")
            if eid:
                sent[eid] = max(sent.get(eid, 0.0), float(c.get("incident_severity") or 0.0))
        for e in fold_events(r.record for r in rows):
            sev = SEVERITY_VALUE.get(str(e.get("severity")), 0.0)
            if sev < min_severity or sent.get(e["id"], -1.0) >= sev:
                continue  # not severe enough, or already flagged at this severity (an update of the same event)
            sent[e["id"]] = sev
            if queue_acs(db, link.attempt_id, "flag", severity=sev, code=str(e.get("kind")),
                         message=str(e.get("message") or e.get("kind")), now=now, event_id=e["id"]):
                queued += 1
        link.flagged_seq = rows[-1].seq
    db.flush()
    return queued
