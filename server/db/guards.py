"""ORM guard: rows of the audit tables (footprint activities, attempt transitions, review decisions) and of the
evidence tables (session events, recording segments, signed checkpoints) are only ever inserted. The
migrations add database triggers that refuse changes made outside the ORM too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session


class AppendOnlyViolation(RuntimeError):
    pass


def _append_only_types() -> tuple[type, ...]:
    from server.db.models import (
        Activity, AttemptTransition, EvidenceCheckpoint, RecordingSegment, Review, SessionEvent,
    )

    return (Activity, AttemptTransition, Review, SessionEvent, RecordingSegment, EvidenceCheckpoint)


@event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    kinds = _append_only_types()
    for obj in session.deleted:
        if isinstance(obj, kinds):
            raise AppendOnlyViolation(f"{type(obj).__tablename__} is append-only: rows cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, kinds) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyViolation(f"{type(obj).__tablename__} is append-only: rows cannot be changed")
