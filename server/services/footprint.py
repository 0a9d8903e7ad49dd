"""Writing the digital footprint: one append-only ``activities`` row per thing a person did."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from server.db.base import utcnow
from server.db.models import Activity
from server.domain.enums import Verb

log = logging.getLogger("server.footprint")


def record(db: Session, *, college_id: int, actor_id: int, verb: Verb, object_type: str, object_id: Any,
           object_name: str | None = None, course_id: int | None = None, result: dict[str, Any] | None = None,
           ip: str | None = None, user_agent: str | None = None, at: datetime | None = None) -> Activity:
    row = Activity(college_id=college_id, actor_id=actor_id, verb=Verb(verb).value, object_type=object_type,
                   object_id=str(object_id), object_name=object_name, course_id=course_id, result=result,
                   ip=ip, user_agent=user_agent, at=at or utcnow())
    db.add(row)
    log.info("footprint", extra={"actor_id": actor_id, "verb": row.verb, "object": f"{object_type}:{object_id}",
                                 "course_id": course_id})
    return row
