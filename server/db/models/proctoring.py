"""Proctoring: one session per attempt, the engine's hash-chained events, recording segments,
identity enrolments, reviews and time-stamped review comments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.base import Base, UTCDateTime, one_of, utcnow
from server.db.guards import AppendOnly
from server.domain.enums import ReviewDecision, SessionStatus, TrackKind, values


def new_session_id() -> str:
    return uuid.uuid4().hex


class IdentityEnrolment(Base):
    """A student's reference identity: the photos' sha256s and the face embedding made from them."""

    __tablename__ = "identity_enrolments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    photo_sha256s: Mapped[list[str]] = mapped_column(JSON, default=list)
    embedding: Mapped[list[float] | None] = mapped_column(JSON)
    model: Mapped[str | None] = mapped_column(String(255))  # which descriptor made the embedding (~180 chars)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # where the photos came from: "college" (the college API: the student's reference), "identity_step" (taken at
    # a live exam's identity step), "proctor" (a proctor's replacement), "import" (an imported offline run)
    source: Mapped[str | None] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(64))  # "api_key:3", "user:7", "student:12"
    # an identity step's photo against the college's reference: {"reference_id", "distance", "threshold", "match"}
    match: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # replaced or deleted (the row stays)
    retired_by: Mapped[str | None] = mapped_column(String(64))


class ProctoringSession(Base):
    __tablename__ = "proctoring_sessions"
    __table_args__ = (one_of("status", values(SessionStatus)),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_session_id)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(32), default=SessionStatus.pending.value, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # heartbeat from the analysing node
    node_id: Mapped[str | None] = mapped_column(String(128))
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("identity_enrolments.id", ondelete="SET NULL"))
    settings_overrides: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    stream_gaps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{"start", "end"}] ISO times
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    chain_head: Mapped[str | None] = mapped_column(String(64))  # hash of the last event
    integrity_score: Mapped[float | None] = mapped_column(Float)
    score_recommendation: Mapped[str | None] = mapped_column(String(16))  # proctor.score: clean/suspicious/violation
    score_breakdown: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # kind -> {count, seconds, share, ...}
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the engine's summary when the session ends


class SessionEvent(AppendOnly, Base):
    """One entry of the engine's hash chain (proctor.chain), genesis = proctor.chain.genesis_for(session_id)."""

    __tablename__ = "session_events"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("proctoring_sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecordingSegment(AppendOnly, Base):
    __tablename__ = "recording_segments"
    __table_args__ = (UniqueConstraint("session_id", "kind", "index"), one_of("kind", values(TrackKind)))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("proctoring_sessions.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(512))  # blob key (a path under the recordings root, or an object key)
    bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    t_start: Mapped[float | None] = mapped_column(Float)  # seconds from the session start
    t_end: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Review(AppendOnly, Base):
    """A reviewer's decision on an attempt. Rows are never changed: this table is the decision audit log."""

    __tablename__ = "reviews"
    __table_args__ = (one_of("decision", values(ReviewDecision)),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[str | None] = mapped_column(ForeignKey("proctoring_sessions.id", ondelete="SET NULL"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    decision: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    from_state: Mapped[str] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    is_override: Mapped[bool] = mapped_column(Boolean, default=False)
    overrides_review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    comments: Mapped[list["ReviewComment"]] = relationship(back_populates="review")


class ReviewComment(Base):
    """A reviewer's note tied to a time in the session (seconds from its start) and optionally an event."""

    __tablename__ = "review_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("proctoring_sessions.id", ondelete="CASCADE"), index=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    t: Mapped[float] = mapped_column(Float)
    event_seq: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    review: Mapped[Review | None] = relationship(back_populates="comments")
