"""Personal data API (Law 94-V): the student's consents (give, list, withdraw) and, for the college (API key or
college admin), retention periods, the consent and deletion logs, a student's data export and erasure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from server.api.deps import DB, CollegeActor, From, Settings, Student
from server.db.models import ConsentRecord
from server.privacy import retention, service, subject
from server.privacy.service import Scope
from server.services.access import college_user

router = APIRouter(tags=["personal data (Law 94-V)"])


class ConsentIn(BaseModel):
    version: str = Field(min_length=1, max_length=64, description="The notice's version the student agreed to")
    scope: list[Scope] = Field(min_length=1)


class ConsentOut(BaseModel):
    id: int
    user_id: int | None
    version: str
    scope: list[str]
    source: str
    given_at: datetime
    withdrawn_at: datetime | None


class RetentionIn(BaseModel):
    recordings_days: int = Field(ge=1, le=3650)
    evidence_days: int = Field(ge=1, le=3650)
    face_templates_days: int = Field(ge=1, le=3650)


class RetentionOut(RetentionIn):
    college_id: int
    is_default: bool


class NoticeOut(BaseModel):
    version: str
    scopes: list[str]
    retention: RetentionOut
    data_location: str
    consents: list[ConsentOut]


class DeletionOut(BaseModel):
    id: int
    subject_user_id: int | None
    kind: str
    reason: str
    object_ref: str | None
    details: dict[str, Any]
    actor: str
    deleted_at: datetime


class ExportOut(BaseModel):
    generated_at: str
    person: dict[str, Any]
    enrolments: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    face_templates: list[dict[str, Any]]
    attempts: list[dict[str, Any]]
    lms_links: list[dict[str, Any]]
    sign_ins: list[dict[str, Any]]
    footprint: list[dict[str, Any]]
    surveys_answered: list[int]
    deletions: list[dict[str, Any]]


class ErasureOut(BaseModel):
    user_id: int
    deleted: dict[str, int]
    kept: list[dict[str, str]]


def consent_out(c: ConsentRecord) -> ConsentOut:
    return ConsentOut(id=c.id, user_id=c.user_id, version=c.version, scope=list(c.scope), source=c.source,
                      given_at=c.given_at, withdrawn_at=c.withdrawn_at)


def retention_out(db: Session, college_id: int, settings: Any) -> RetentionOut:
    p = retention.periods_for(db, college_id, settings)
    return RetentionOut(college_id=college_id, recordings_days=p.recordings_days, evidence_days=p.evidence_days,
                        face_templates_days=p.face_templates_days,
                        is_default=service.is_default_retention(db, college_id))


def _blobs(request: Request) -> Any:
    return request.app.state.stores.recordings.blobs


# --- the student ---------------------------------------------------------------------------------------------
@router.get("/api/v1/me/privacy", response_model=NoticeOut,
            summary="What is processed about me, for how long, where it is stored, and my consents")
def my_privacy(db: DB, me: Student, settings: Settings) -> NoticeOut:
    return NoticeOut(version=settings.privacy_notice_version, scopes=[s.value for s in Scope],
                     retention=retention_out(db, me.college_id, settings), data_location=settings.privacy_data_location,
                     consents=[consent_out(c) for c in service.consents_of(db, me.user_id)])


@router.post("/api/v1/me/consents", response_model=ConsentOut, status_code=201, summary="Give my consent")
def give_consent(body: ConsentIn, db: DB, me: Student, origin: From) -> ConsentOut:
    return consent_out(service.give_consent(db, me, body.version, [s.value for s in body.scope], origin.ip))


@router.post("/api/v1/me/consents/{consent_id}/withdraw", response_model=ConsentOut,
             summary="Withdraw my consent (face templates are deleted at once when it covered face biometrics)")
def withdraw_consent(consent_id: int, request: Request, db: DB, me: Student) -> ConsentOut:
    return consent_out(service.withdraw_consent(db, _blobs(request), me, consent_id))


# --- the college ---------------------------------------------------------------------------------------------
@router.get("/api/v1/privacy/retention", response_model=RetentionOut, summary="The college's retention periods")
def get_retention(db: DB, caller: CollegeActor, settings: Settings) -> RetentionOut:
    return retention_out(db, caller.college_id, settings)


@router.put("/api/v1/privacy/retention", response_model=RetentionOut,
            summary="Set how long recordings, evidence frames and face templates are kept")
def put_retention(body: RetentionIn, db: DB, caller: CollegeActor, settings: Settings) -> RetentionOut:
    service.set_retention(db, caller.college_id, body.model_dump())
    return retention_out(db, caller.college_id, settings)


@router.get("/api/v1/privacy/consents", response_model=list[ConsentOut], summary="Consent records of the college")
def list_consents(db: DB, caller: CollegeActor, user_id: int | None = None,
                  limit: int = Query(500, ge=1, le=5000)) -> list[ConsentOut]:
    return [consent_out(c) for c in service.consent_log(db, caller.college_id, user_id, limit)]


@router.get("/api/v1/privacy/deletions", response_model=list[DeletionOut],
            summary="Every deletion of personal data (retention, erasure, withdrawn consent)")
def list_deletions(db: DB, caller: CollegeActor, user_id: int | None = None,
                   limit: int = Query(500, ge=1, le=5000)) -> list[DeletionOut]:
    return [DeletionOut(id=d.id, subject_user_id=d.subject_user_id, kind=d.kind, reason=d.reason,
                        object_ref=d.object_ref, details=d.details or {}, actor=d.actor, deleted_at=d.deleted_at)
            for d in service.deletion_log(db, caller.college_id, user_id, limit)]


@router.get("/api/v1/privacy/students/{user_id}/export", response_model=ExportOut,
            summary="Everything held about a student (their request under Law 94-V), as JSON")
def export_student(user_id: int, db: DB, caller: CollegeActor) -> dict[str, Any]:
    return subject.export(db, college_user(db, caller, user_id))


@router.post("/api/v1/privacy/students/{user_id}/erasure", response_model=ErasureOut,
             summary="Erase a student's personal data where the law allows (says what was kept and why)")
def erase_student(user_id: int, request: Request, db: DB, caller: CollegeActor) -> dict[str, Any]:
    return subject.erase(db, _blobs(request), service.erasable_student(db, caller, user_id), caller.actor)
