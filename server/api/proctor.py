"""The proctor's side: the college's proctoring sessions, the review queue, comments tied to times in a
session, manual identity/room confirmation, and review decisions (verify / reject / second review)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from server.api.deps import DB, Proctor
from server.api.schemas import AttemptOut, ChainCheckOut, CommentOut, Number, ReviewOut
from server.db.base import iso
from server.db.models import Attempt, ProctoringSession
from server.domain.enums import AttemptState, ReviewDecision, SessionStatus
from server.services import access, proctoring, reference_photos
from server.services import attempts as attempt_ops
from server.services import reviews as review_ops
from server.services.errors import Invalid
from server.storage.events import list_in, verify_in

router = APIRouter(prefix="/api/proctor", tags=["proctor"])


class CommentIn(BaseModel):
    t: float = Field(ge=0, description="seconds from the session start")
    text: str = Field(min_length=1, max_length=5000)
    event_seq: int | None = Field(default=None, ge=0)


class ReviewIn(BaseModel):
    decision: ReviewDecision
    reason: str | None = Field(default=None, max_length=5000)
    comments: list[CommentIn] = Field(default_factory=list, max_length=200)


class ChecksIn(BaseModel):
    identity_verified: bool = False
    room_scanned: bool = False


class SessionOut(BaseModel):
    id: str
    status: str
    created_at: str
    started_at: str | None
    ended_at: str | None
    last_seen_at: str | None
    node_id: str | None
    event_count: int
    integrity_score: Number | None
    stream_gaps: list[dict[str, Any]]
    attempt: AttemptOut


class RecordingOut(BaseModel):
    index: int
    kind: str
    bytes: int
    sha256: str
    t_start: Number | None
    t_end: Number | None


class SessionDetailOut(SessionOut):
    events: list[dict[str, Any]] = Field(description="the hash chain's entries: {seq, prev_hash, record, hash}")
    chain: ChainCheckOut
    report: dict[str, Any] | None
    recordings: list[RecordingOut]
    comments: list[CommentOut]
    reviews: list[ReviewOut]


class DecisionOut(ReviewOut):
    attempt: AttemptOut


def session_row(db: DB, s: ProctoringSession) -> dict[str, Any]:
    attempt = db.get(Attempt, s.attempt_id)
    return {"id": s.id, "status": s.status, "created_at": s.created_at.isoformat(),
            "started_at": iso(s.started_at),
            "ended_at": iso(s.ended_at),
            "last_seen_at": iso(s.last_seen_at), "node_id": s.node_id,
            "event_count": s.event_count, "integrity_score": s.integrity_score, "stream_gaps": s.stream_gaps or [],
            "attempt": attempt_ops.summary(db, attempt)}


@router.get("/sessions", response_model=list[SessionOut], summary="Proctoring sessions of my college")
def list_sessions(db: DB, me: Proctor, status: SessionStatus | None = None, needs_review: bool = False,
                  limit: int = Query(200, ge=1, le=1000)) -> list[dict[str, Any]]:
    rows = proctoring.sessions(db, me.college_id, status=status.value if status else None,
                               needs_review=needs_review, limit=limit)
    return [session_row(db, s) for s in rows]


@router.get("/sessions/{session_id}", response_model=SessionDetailOut,
            summary="A session: events, chain check, recordings, comments, reviews")
def get_session(session_id: str, db: DB, me: Proctor) -> dict[str, Any]:
    s = access.college_session(db, me, session_id)
    attempt = db.get(Attempt, s.attempt_id)
    segs = proctoring.recordings(db, s.id)
    comments = proctoring.comments(db, s.id)
    return session_row(db, s) | {
        "events": list_in(db, s.id),
        "chain": verify_in(db, s.id).to_dict(),
        "report": s.report,
        "recordings": [{"index": g.index, "kind": g.kind, "bytes": g.bytes, "sha256": g.sha256, "t_start": g.t_start,
                        "t_end": g.t_end} for g in segs],
        "comments": [review_ops.comment_dict(c) for c in comments],
        "reviews": [review_ops.review_dict(r) for r in review_ops.history(db, attempt.id)],
    }


@router.post("/sessions/{session_id}/comments", status_code=201, response_model=CommentOut,
             summary="Comment on a moment of the session")
def add_comment(session_id: str, body: CommentIn, db: DB, me: Proctor) -> dict[str, Any]:
    s = access.college_session(db, me, session_id)
    c = review_ops.add_comment(db, s, me.user_id, body.t, body.text, body.event_seq)
    return review_ops.comment_dict(c)


@router.post("/attempts/{attempt_id}/checks", response_model=AttemptOut, summary="Confirm identity and/or room scan by hand")
def confirm_checks(attempt_id: int, body: ChecksIn, db: DB, me: Proctor) -> dict[str, Any]:
    attempt = access.college_attempt(db, me, attempt_id)
    if not (body.identity_verified or body.room_scanned):
        raise Invalid("confirm identity_verified, room_scanned or both")
    if body.identity_verified:
        attempt_ops.mark_identity_verified(db, attempt, actor=me.actor, actor_id=me.user_id)
        reference_photos.record_identity_decision(db, attempt, me.actor)  # in the chain (e.g. after a mismatch)
    if body.room_scanned:
        attempt_ops.mark_room_scanned(db, attempt, actor=me.actor, actor_id=me.user_id)
    return attempt_ops.summary(db, attempt)


class ErrorIn(BaseModel):
    reason: str = Field(min_length=1, max_length=5000)


@router.post("/attempts/{attempt_id}/error", response_model=AttemptOut,
             summary="Mark a technical failure (the attempt does not count)")
def mark_error(attempt_id: int, body: ErrorIn, db: DB, me: Proctor) -> dict[str, Any]:
    attempt = access.college_attempt(db, me, attempt_id)
    attempt_ops.transition(db, attempt, AttemptState.error, actor=me.actor, actor_id=me.user_id, reason=body.reason)
    return attempt_ops.summary(db, attempt)


class AllowUnproctoredIn(BaseModel):
    reason: str = Field(min_length=1, max_length=5000)


class AllowedOut(BaseModel):
    attempt: AttemptOut
    seq: int


@router.post("/attempts/{attempt_id}/allow-unproctored", response_model=AllowedOut,
             summary="Let a proctored attempt go on without live proctoring (its answers are accepted again); "
                     "recorded in the session's chain with the reason")
def allow_unproctored(attempt_id: int, body: AllowUnproctoredIn, db: DB, me: Proctor) -> dict[str, Any]:
    attempt = access.college_attempt(db, me, attempt_id)
    entry = attempt_ops.allow_unproctored(db, attempt, me.user_id, body.reason)
    return {"attempt": attempt_ops.summary(db, attempt), "seq": entry["seq"]}


@router.post("/attempts/{attempt_id}/review", status_code=201, response_model=DecisionOut,
             summary="Record a decision: verify, reject or send to a second review (moves the attempt's state)")
def review(attempt_id: int, body: ReviewIn, db: DB, me: Proctor) -> dict[str, Any]:
    attempt = access.college_attempt(db, me, attempt_id)
    r = review_ops.decide(db, attempt, me.user_id, body.decision, body.reason,
                          [c.model_dump() for c in body.comments])
    return review_ops.review_dict(r) | {"attempt": attempt_ops.summary(db, attempt)}


@router.get("/attempts/{attempt_id}/reviews", response_model=list[ReviewOut], summary="The decision audit log of an attempt")
def reviews(attempt_id: int, db: DB, me: Proctor) -> list[dict[str, Any]]:
    attempt = access.college_attempt(db, me, attempt_id)
    return [review_ops.review_dict(r) for r in review_ops.history(db, attempt.id)]
