"""The digital footprint: an append-only activity log written by every part of the system.

Rows are only ever inserted: the ORM refuses updates and deletes (server.db.guards) and the migration
adds database triggers that refuse them too.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UTCDateTime, one_of, utcnow
from server.db.guards import AppendOnly
from server.domain.enums import Verb, values


def new_statement_id() -> str:
    return str(uuid.uuid4())


class Activity(AppendOnly, Base):
    __tablename__ = "activities"
    __table_args__ = (
        Index("ix_activities_actor_id_at", "actor_id", "at"),
        Index("ix_activities_course_id_at", "course_id", "at"),
        one_of("verb", values(Verb)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_statement_id)  # xAPI id
    college_id: Mapped[int] = mapped_column(ForeignKey("colleges.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))  # who
    verb: Mapped[str] = mapped_column(String(32))  # what
    object_type: Mapped[str] = mapped_column(String(32))  # which object: class, material, task, exam, attempt...
    object_id: Mapped[str] = mapped_column(String(64))
    object_name: Mapped[str | None] = mapped_column(String(255))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # when
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # e.g. {"on_time": true}, {"score": ...}
    ip: Mapped[str | None] = mapped_column(String(64))  # from where
    user_agent: Mapped[str | None] = mapped_column(String(255))
