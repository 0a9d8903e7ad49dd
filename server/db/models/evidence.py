"""Signed checkpoints of a session's evidence (see :mod:`proctor.verify` for the payload, and
:mod:`server.evidence.signing` for when they are made). Rows are only ever inserted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UTCDateTime, utcnow
from server.db.guards import AppendOnly


class EvidenceCheckpoint(AppendOnly, Base):
    __tablename__ = "evidence_checkpoints"
    __table_args__ = (UniqueConstraint("session_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("proctoring_sessions.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 0, 1, 2 ... per session
    reason: Mapped[str] = mapped_column(String(32))  # periodic, session_end, export
    through_seq: Mapped[int] = mapped_column(Integer)  # the last chain entry covered (-1: none)
    key_id: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the raw Ed25519 public key
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))  # base64 Ed25519 signature of canonical_json(payload)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
