"""Recording a reviewer's decision: the rule (server.domain.reviews) decides whether it is allowed and where
it moves the attempt; the ``reviews`` row is the audit log; comments are tied to times in the session."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db.models import Attempt, ProctoringSession, Review, ReviewComment
from server.domain.enums import ReviewDecision
from server.domain.reviews import MissingReason, PastReview, plan_decision
from server.services import attempts as attempt_ops
from server.services.errors import Invalid


def history(db: Session, attempt_id: int) -> list[Review]:
    return list(db.execute(select(Review).where(Review.attempt_id == attempt_id).order_by(Review.id)).scalars())


def decide(db: Session, attempt: Attempt, reviewer_id: int, decision: ReviewDecision, reason: str | None,
           comments: list[dict[str, Any]] | None = None) -> Review:
    past = history(db, attempt.id)
    try:
        plan = plan_decision(attempt.state, decision, reviewer_id,
                             [PastReview(r.id, r.reviewer_id, ReviewDecision(r.decision), r.is_override) for r in past],
                             reason)
    except MissingReason as exc:
        raise Invalid(str(exc), [{"field": "body.reason", "message": str(exc)}])
    frm = attempt.state
    sess = attempt_ops.session_of(db, attempt)
    attempt_ops.transition(db, attempt, plan.target, actor=f"user:{reviewer_id}", actor_id=reviewer_id,
                           reason=reason, override=plan.is_override)
    review = Review(attempt_id=attempt.id, session_id=sess.id if sess else None, reviewer_id=reviewer_id,
                    decision=ReviewDecision(decision).value, reason=reason, from_state=frm, to_state=plan.target.value,
                    is_override=plan.is_override, overrides_review_id=plan.override_of)
    db.add(review)
    db.flush()
    for c in comments or []:
        if sess is None:
            break
        db.add(ReviewComment(session_id=sess.id, review_id=review.id, author_id=reviewer_id, t=float(c["t"]),
                             event_seq=c.get("event_seq"), text=c["text"]))
    db.flush()
    return review


def add_comment(db: Session, sess: ProctoringSession, author_id: int, t: float, text: str,
                event_seq: int | None = None) -> ReviewComment:
    """A comment on a moment of the session (``t`` seconds from its start), optionally on one of its events."""
    if event_seq is not None and event_seq >= sess.event_count:
        raise Invalid(f"the session has no event {event_seq}",
                      [{"field": "body.event_seq", "message": "no such event"}])
    c = ReviewComment(session_id=sess.id, author_id=author_id, t=t, event_seq=event_seq, text=text)
    db.add(c)
    db.flush()
    return c


def review_dict(r: Review) -> dict[str, Any]:
    return {"id": r.id, "attempt_id": r.attempt_id, "session_id": r.session_id, "reviewer_id": r.reviewer_id,
            "decision": r.decision, "reason": r.reason, "from_state": r.from_state, "to_state": r.to_state,
            "is_override": r.is_override, "overrides_review_id": r.overrides_review_id,
            "created_at": r.created_at.isoformat(),
            "comments": [comment_dict(c) for c in r.comments]}


def comment_dict(c: ReviewComment) -> dict[str, Any]:
    return {"id": c.id, "session_id": c.session_id, "review_id": c.review_id, "author_id": c.author_id, "t": c.t,
            "event_seq": c.event_seq, "text": c.text, "created_at": c.created_at.isoformat()}
