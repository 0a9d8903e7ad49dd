"""ORM guard: rows of the audit tables (footprint activities, attempt transitions, review decisions) and of the
evidence tables (session events, recording segments, signed checkpoints) are only ever inserted. A model says it
is such a table by inheriting :class:`AppendOnly`; the check runs before every flush of any session. The
migrations add database triggers that refuse changes made outside the ORM too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session


class AppendOnlyViolation(RuntimeError):
    pass


class AppendOnly:
    """Mixin of the models whose rows may be inserted but never changed or deleted."""


@event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, AppendOnly):
            raise AppendOnlyViolation(f"{type(obj).__tablename__} is append-only: rows cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, AppendOnly) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyViolation(f"{type(obj).__tablename__} is append-only: rows cannot be changed")
