"""The digital footprint through the API: raw log, xAPI 1.0.3 statements (per learner, course or time
range; StatementResult shape with a ``more`` link) and summaries (attendance %, on-time %, progress)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel

from server.api.deps import DB, CollegeActor, Settings
from server.api.schemas import LearnerSummaryOut, XapiPage
from server.db.base import iso
from server.domain.enums import Role
from server.services import access
from server.services import footprint_query as fq
from server.services.errors import Invalid

router = APIRouter(prefix="/api/v1/footprint", tags=["college: digital footprint"])


class ActivityOut(BaseModel):
    """One row of the activity log: who did what to which object, when, with what result, from where."""

    id: int
    statement_id: str
    actor_id: int
    verb: str
    object_type: str
    object_id: str
    object_name: str | None
    course_id: int | None
    at: str
    result: dict[str, Any] | None
    ip: str | None
    user_agent: str | None


def xapi_page(db: DB, college_id: int, base_url: str, path: str, learner_id: int | None, course_id: int | None,
              since: AwareDatetime | None, until: AwareDatetime | None, limit: int, after: int) -> dict[str, Any]:
    stmts, last = fq.statements(db, college_id, base_url, learner_id=learner_id, course_id=course_id, since=since,
                                until=until, limit=limit, after_id=after)
    more = ""
    if last is not None:
        params = {k: v for k, v in {"learner_id": learner_id, "course_id": course_id,
                                    "since": iso(since),
                                    "until": iso(until), "limit": limit,
                                    "after": last}.items() if v is not None}
        more = f"{path}?{urlencode(params)}"
    return {"statements": stmts, "more": more}


@router.get("/xapi", response_model=XapiPage,
            summary="xAPI statements of the college's footprint (filter by learner, course, time)")
def export_xapi(db: DB, caller: CollegeActor, settings: Settings, learner_id: int | None = None,
                course_id: int | None = None, since: AwareDatetime | None = None, until: AwareDatetime | None = None,
                limit: int = Query(500, ge=1, le=5000), after: int = Query(0, ge=0)) -> dict[str, Any]:
    if learner_id is not None:
        access.college_user(db, caller, learner_id)
    if course_id is not None:
        access.college_course(db, caller, course_id)
    return xapi_page(db, caller.college_id, settings.resolved_public_url(), "/api/v1/footprint/xapi", learner_id,
                     course_id, since, until, limit, after)


@router.get("/summary", response_model=list[LearnerSummaryOut],
            summary="Footprint summary of one learner or of every learner of a course")
def summary(db: DB, caller: CollegeActor, learner_id: int | None = None,
            course_id: int | None = None) -> list[dict[str, Any]]:
    if learner_id is None and course_id is None:
        raise Invalid("give learner_id or course_id",
                      [{"field": "query.learner_id", "message": "learner_id or course_id is required"}])
    if learner_id is not None:
        student = access.college_user(db, caller, learner_id, Role.student)
        courses = None
        if course_id is not None:
            access.college_course(db, caller, course_id)
            courses = [course_id]
        return [fq.learner_summary(db, student, courses)]
    course = access.college_course(db, caller, course_id)
    return [fq.learner_summary(db, s, [course.id]) for s in fq.course_learners(db, course.id)]


@router.get("/activities", response_model=list[ActivityOut],
            summary="The raw activity log (who, what, which object, when, result, from where)")
def activities(db: DB, caller: CollegeActor, learner_id: int | None = None, course_id: int | None = None,
               since: AwareDatetime | None = None, until: AwareDatetime | None = None,
               limit: int = Query(500, ge=1, le=5000), after: int = Query(0, ge=0)) -> list[dict[str, Any]]:
    rows = fq.activities(db, caller.college_id, learner_id=learner_id, course_id=course_id, since=since, until=until,
                         limit=limit, after_id=after)
    return [{"id": a.id, "statement_id": a.statement_id, "actor_id": a.actor_id, "verb": a.verb,
             "object_type": a.object_type, "object_id": a.object_id, "object_name": a.object_name,
             "course_id": a.course_id, "at": a.at.isoformat(), "result": a.result, "ip": a.ip,
             "user_agent": a.user_agent} for a in rows]
