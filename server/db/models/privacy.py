"""Personal data under Kazakhstan's Law 94-V "On personal data and their protection": a student's consents
(version, scope, when given, when withdrawn), each college's retention periods, and the log of every deletion
(by the retention job, on an erasure request, or after a consent was withdrawn)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UTCDateTime, one_of, utcnow

DELETION_REASONS = ("retention", "erasure", "consent_withdrawn")


class ConsentRecord(Base):
    """One consent a person gave to a version of the college's notice for a scope of processing. Rows are not
    changed except to record the withdrawal."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    college_id: Mapped[int] = mapped_column(ForeignKey("colleges.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    version: Mapped[str] = mapped_column(String(64))  # the notice's version the person agreed to
    scope: Mapped[list[str]] = mapped_column(JSON)  # e.g. ["video_recording", "face_biometrics", "room_scan"]
    source: Mapped[str] = mapped_column(String(32), default="web")  # web, lti, api
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))


class RetentionPolicy(Base):
    """How long a college keeps each kind of personal data after the attempt it belongs to was decided."""

    __tablename__ = "retention_policies"

    college_id: Mapped[int] = mapped_column(ForeignKey("colleges.id", ondelete="CASCADE"), primary_key=True)
    recordings_days: Mapped[int] = mapped_column(Integer)
    evidence_days: Mapped[int] = mapped_column(Integer)
    face_templates_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DeletionRecord(Base):
    """What was deleted, whose, why and when (never what it contained)."""

    __tablename__ = "deletion_records"
    __table_args__ = (one_of("reason", DELETION_REASONS),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    college_id: Mapped[int] = mapped_column(ForeignKey("colleges.id", ondelete="CASCADE"), index=True)
    subject_user_id: Mapped[int | None] = mapped_column(Integer, index=True)  # kept as a number: the user may be gone
    kind: Mapped[str] = mapped_column(String(32))  # recording, evidence, face_template, personal_data
    reason: Mapped[str] = mapped_column(String(32))
    object_ref: Mapped[str | None] = mapped_column(String(255))  # e.g. the session id
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # counts, bytes, hashes
    actor: Mapped[str] = mapped_column(String(64), default="system")
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
