"""The operations behind the personal data API (``server.privacy.routes``): a student's consents (given,
withdrawn: withdrawing a consent that covered face biometrics deletes the face templates at once), the
college's retention periods, its consent and deletion logs, and the student whose data is exported or erased.
Refusals are domain errors."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.principal import Principal
from server.db.base import utcnow
from server.db.models import ConsentRecord, DeletionRecord, IdentityEnrolment, RetentionPolicy, User
from server.domain.enums import Role
from server.privacy import retention
from server.services.access import college_user
from server.services.errors import Invalid, NotFound



class Scope(StrEnum):
    """What a consent covers."""

    video_recording = "video_recording"
    audio_recording = "audio_recording"
    screen_recording = "screen_recording"
    room_scan = "room_scan"
    face_biometrics = "face_biometrics"  # face templates: biometric personal data
    lms_data = "lms_data"  # name, e-mail, course and grades exchanged with the college's LMS


def consents_of(db: Session, user_id: int) -> list[ConsentRecord]:
    return list(db.execute(select(ConsentRecord).where(ConsentRecord.user_id == user_id)
                           .order_by(ConsentRecord.id)).scalars())


def give_consent(db: Session, me: Principal, version: str, scope: list[str], ip: str | None) -> ConsentRecord:
    row = ConsentRecord(college_id=me.college_id, user_id=me.user_id, version=version, scope=sorted(set(scope)),
                        source="web", ip=ip)
    db.add(row)
    db.flush()
    return row


def withdraw_consent(db: Session, blobs: Any, me: Principal, consent_id: int) -> ConsentRecord:
    """Withdraw the student's own consent (once; a second call changes nothing)."""
    row = db.get(ConsentRecord, consent_id)
    if row is None or row.user_id != me.user_id:
        raise NotFound.of("consent", consent_id)
    if row.withdrawn_at is None:
        row.withdrawn_at = utcnow()
        if Scope.face_biometrics.value in row.scope:
            for tpl in db.execute(select(IdentityEnrolment).where(IdentityEnrolment.student_id == me.user_id)
                                  ).scalars().all():
                retention.delete_face_template(db, blobs, tpl, me.college_id, "consent_withdrawn",
                                               f"user:{me.user_id}")
    db.flush()
    return row


def is_default_retention(db: Session, college_id: int) -> bool:
    return db.get(RetentionPolicy, college_id) is None


def set_retention(db: Session, college_id: int, periods: dict[str, int]) -> RetentionPolicy:
    """The college's retention periods (``recordings_days``, ``evidence_days``, ``face_templates_days``)."""
    row = db.get(RetentionPolicy, college_id)
    if row is None:
        row = RetentionPolicy(college_id=college_id, **periods)
        db.add(row)
    else:
        for k, v in periods.items():
            setattr(row, k, v)
    db.flush()
    return row


def consent_log(db: Session, college_id: int, user_id: int | None = None, limit: int = 500) -> list[ConsentRecord]:
    q = select(ConsentRecord).where(ConsentRecord.college_id == college_id)
    if user_id is not None:
        q = q.where(ConsentRecord.user_id == user_id)
    return list(db.execute(q.order_by(ConsentRecord.id.desc()).limit(limit)).scalars())


def deletion_log(db: Session, college_id: int, user_id: int | None = None, limit: int = 500
                 ) -> list[DeletionRecord]:
    q = select(DeletionRecord).where(DeletionRecord.college_id == college_id)
    if user_id is not None:
        q = q.where(DeletionRecord.subject_user_id == user_id)
    return list(db.execute(q.order_by(DeletionRecord.id.desc()).limit(limit)).scalars())


def erasable_student(db: Session, caller: Principal, user_id: int) -> User:
    """The student whose data is to be erased (erasure here is for students' data only)."""
    user = college_user(db, caller, user_id)
    if user.role != Role.student.value:
        raise Invalid("erasure here is for students' data")
    return user
