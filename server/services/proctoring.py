"""What a proctor reads of a college's proctoring sessions: the list (by status, or those whose attempt waits
for a review), and a session's recording segments and comments."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db.models import Attempt, ProctoringSession, RecordingSegment, ReviewComment
from server.db.queries import sessions_of_college
from server.domain.attempts import REVIEWABLE


def sessions(db: Session, college_id: int, *, status: str | None = None, needs_review: bool = False,
             limit: int = 200) -> list[ProctoringSession]:
    """The college's sessions, newest first."""
    q = sessions_of_college(select(ProctoringSession), college_id)
    if status is not None:
        q = q.where(ProctoringSession.status == status)
    if needs_review:
        q = q.where(Attempt.state.in_([s.value for s in REVIEWABLE]))
    return list(db.execute(q.order_by(ProctoringSession.created_at.desc()).limit(limit)).scalars())


def recordings(db: Session, session_id: str) -> list[RecordingSegment]:
    return list(db.execute(select(RecordingSegment).where(RecordingSegment.session_id == session_id)
                           .order_by(RecordingSegment.kind, RecordingSegment.index)).scalars())


def comments(db: Session, session_id: str) -> list[ReviewComment]:
    """The session's comments in the order of the moments they are about."""
    return list(db.execute(select(ReviewComment).where(ReviewComment.session_id == session_id)
                           .order_by(ReviewComment.t, ReviewComment.id)).scalars())
