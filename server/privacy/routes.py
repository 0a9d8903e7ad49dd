"""Personal data API (Law 94-V): the student's consents (give, list, withdraw) and, for the college (API key or
college admin), retention periods, the consent and deletion logs, a student's data export and erasure."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import DB, CollegeActor, From, Settings, Student
from server.api.errors import ApiError, not_found
from server.db.base import utcnow
from server.db.models import ConsentRecord, DeletionRecord, IdentityEnrolment, RetentionPolicy, User
from server.privacy import retention, subject

router = APIRouter(tags=["personal data (Law 94-V)"])


class Scope(StrEnum):
    video_recording = "video_recording"
    audio_recording = "audio_recording"
    screen_recording = "screen_recording"
    room_scan = "room_scan"
    face_biometrics = "face_biometrics"  # face templates: biometric personal data
    lms_data = "lms_data"  # name, e-mail, course and grades exchanged with the college's LMS


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


def retention_out(db: DB, college_id: int, settings: Any) -> RetentionOut:
    p = retention.periods_for(db, college_id, settings)
    return RetentionOut(college_id=college_id, recordings_days=p.recordings_days, evidence_days=p.evidence_days,
                        face_templates_days=p.face_templates_days,
                        is_default=db.get(RetentionPolicy, college_id) is None)


def _blobs(request: Request) -> Any:
    return request.app.state.stores.recordings.blobs


# --- the student ---------------------------------------------------------------------------------------------
@router.get("/api/v1/me/privacy", response_model=NoticeOut,
            summary="What is processed about me, for how long, where it is stored, and my consents")
def my_privacy(db: DB, me: Student, settings: Settings) -> NoticeOut:
    rows = db.execute(select(ConsentRecord).where(ConsentRecord.user_id == me.user_id).order_by(ConsentRecord.id))
    return NoticeOut(version=settings.privacy_notice_version, scopes=[s.value for s in Scope],
                     retention=retention_out(db, me.college_id, settings), data_location=settings.privacy_data_location,
                     consents=[consent_out(c) for c in rows.scalars()])


@router.post("/api/v1/me/consents", response_model=ConsentOut, status_code=201, summary="Give my consent")
def give_consent(body: ConsentIn, db: DB, me: Student, origin: From) -> ConsentOut:
    row = ConsentRecord(college_id=me.college_id, user_id=me.user_id, version=body.version,
                        scope=sorted({s.value for s in body.scope}), source="web", ip=origin.ip)
    db.add(row)
    db.flush()
    return consent_out(row)


@router.post("/api/v1/me/consents/{consent_id}/withdraw", response_model=ConsentOut,
             summary="Withdraw my consent (face templates are deleted at once when it covered face biometrics)")
def withdraw_consent(consent_id: int, request: Request, db: DB, me: Student) -> ConsentOut:
    row = db.get(ConsentRecord, consent_id)
    if row is None or row.user_id != me.user_id:
        raise not_found("consent", consent_id)
    if row.withdrawn_at is None:
        row.withdrawn_at = utcnow()
        if Scope.face_biometrics.value in row.scope:
            for tpl in db.execute(select(IdentityEnrolment).where(IdentityEnrolment.student_id == me.user_id)
                                  ).scalars().all():
                retention.delete_face_template(db, _blobs(request), tpl, me.college_id, "consent_withdrawn",
                                               f"user:{me.user_id}")
    db.flush()
    return consent_out(row)


# --- the college ---------------------------------------------------------------------------------------------
def _student(db: DB, caller: Any, user_id: int) -> User:
    u = db.get(User, user_id)
    if u is None or u.college_id != caller.college_id:
        raise not_found("user", user_id)
    return u


@router.get("/api/v1/privacy/retention", response_model=RetentionOut, summary="The college's retention periods")
def get_retention(db: DB, caller: CollegeActor, settings: Settings) -> RetentionOut:
    return retention_out(db, caller.college_id, settings)


@router.put("/api/v1/privacy/retention", response_model=RetentionOut,
            summary="Set how long recordings, evidence frames and face templates are kept")
def put_retention(body: RetentionIn, db: DB, caller: CollegeActor, settings: Settings) -> RetentionOut:
    row = db.get(RetentionPolicy, caller.college_id)
    if row is None:
        row = RetentionPolicy(college_id=caller.college_id, **body.model_dump())
        db.add(row)
    else:
        for k, v in body.model_dump().items():
            setattr(row, k, v)
    db.flush()
    return retention_out(db, caller.college_id, settings)


@router.get("/api/v1/privacy/consents", response_model=list[ConsentOut], summary="Consent records of the college")
def list_consents(db: DB, caller: CollegeActor, user_id: int | None = None,
                  limit: int = Query(500, ge=1, le=5000)) -> list[ConsentOut]:
    q = select(ConsentRecord).where(ConsentRecord.college_id == caller.college_id)
    if user_id is not None:
        q = q.where(ConsentRecord.user_id == user_id)
    return [consent_out(c) for c in db.execute(q.order_by(ConsentRecord.id.desc()).limit(limit)).scalars()]


@router.get("/api/v1/privacy/deletions", response_model=list[DeletionOut],
            summary="Every deletion of personal data (retention, erasure, withdrawn consent)")
def list_deletions(db: DB, caller: CollegeActor, user_id: int | None = None,
                   limit: int = Query(500, ge=1, le=5000)) -> list[DeletionOut]:
    q = select(DeletionRecord).where(DeletionRecord.college_id == caller.college_id)
    if user_id is not None:
        q = q.where(DeletionRecord.subject_user_id == user_id)
    return [DeletionOut(id=d.id, subject_user_id=d.subject_user_id, kind=d.kind, reason=d.reason,
                        object_ref=d.object_ref, details=d.details or {}, actor=d.actor, deleted_at=d.deleted_at)
            for d in db.execute(q.order_by(DeletionRecord.id.desc()).limit(limit)).scalars()]


@router.get("/api/v1/privacy/students/{user_id}/export", response_model=ExportOut,
            summary="Everything held about a student (their request under Law 94-V), as JSON")
def export_student(user_id: int, db: DB, caller: CollegeActor) -> dict[str, Any]:
    return subject.export(db, _student(db, caller, user_id))


@router.post("/api/v1/privacy/students/{user_id}/erasure", response_model=ErasureOut,
             summary="Erase a student's personal data where the law allows (says what was kept and why)")
def erase_student(user_id: int, request: Request, db: DB, caller: CollegeActor) -> dict[str, Any]:
    user = _student(db, caller, user_id)
    if user.role != "student":
        raise ApiError(422, "validation_error", "erasure here is for students' data")
    actor = f"api_key:{caller.api_key_id}" if caller.api_key_id else f"user:{caller.user_id}"
    return subject.erase(db, _blobs(request), user, actor)
