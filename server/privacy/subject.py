"""A student's rights as a data subject (Law 94-V): everything held about them, as one JSON document, and
erasure where the law allows.

Erasure deletes at once what exists only for proctoring: recordings, evidence frames, face templates and
enrolment photos, the LMS links and sign-in tokens; and it de-identifies the account (name, e-mail, external
id, password; the account is disabled). It keeps, under the education law's duty to keep attestation records,
the attempts, answers, grades, review decisions and the engine's event chain (no images), now tied to the
de-identified account; the digital footprint, which is an append-only audit log, stays too. The response
lists what was deleted and what was kept, and why. Every deletion is recorded in ``deletion_records``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from server.db.base import utcnow
from server.db.models import (
    Activity, Answer, Attempt, AttemptTransition, AuthToken, ConsentRecord, DeletionRecord, Enrolment, Exam,
    IdentityEnrolment, LtiAttemptLink, LtiUserLink, ProctoringSession, RecordingSegment, Review, SessionEvent,
    SurveyParticipation, SurveyResponse, User,
)
from server.privacy import retention


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def _row(obj: Any, fields: list[str]) -> dict[str, Any]:
    return {f: _iso(getattr(obj, f)) for f in fields}


def export(db: Session, user: User) -> dict[str, Any]:
    """Everything held about the person (the recordings' bytes are listed, not inlined: they are fetched by
    the college from the review pages)."""
    attempts = db.execute(select(Attempt).where(Attempt.student_id == user.id).order_by(Attempt.id)).scalars().all()
    out_attempts = []
    for a in attempts:
        exam = db.get(Exam, a.exam_id)
        sess = db.execute(select(ProctoringSession).where(ProctoringSession.attempt_id == a.id)).scalar_one_or_none()
        item = _row(a, ["id", "exam_id", "number", "state", "identity_verified_at", "room_scanned_at", "created_at",
                        "started_at", "deadline_at", "submitted_at", "decided_at", "score", "max_score",
                        "decision_reason"])
        item["exam_title"] = exam.title if exam else None
        item["answers"] = [_row(x, ["question_id", "response", "saved_at", "auto_points", "manual_points"])
                           for x in db.execute(select(Answer).where(Answer.attempt_id == a.id)).scalars()]
        item["transitions"] = [_row(t, ["from_state", "to_state", "actor", "reason", "at"]) for t in db.execute(
            select(AttemptTransition).where(AttemptTransition.attempt_id == a.id).order_by(AttemptTransition.id)
        ).scalars()]
        item["reviews"] = [_row(r, ["decision", "reason", "from_state", "to_state", "is_override", "created_at"])
                           for r in db.execute(select(Review).where(Review.attempt_id == a.id)
                                               .order_by(Review.id)).scalars()]
        if sess is not None:
            item["proctoring_session"] = _row(sess, ["id", "status", "created_at", "started_at", "ended_at",
                                                     "integrity_score", "stream_gaps", "report"])
            item["proctoring_session"]["events"] = [r for r in db.execute(
                select(SessionEvent.record).where(SessionEvent.session_id == sess.id).order_by(SessionEvent.seq)
            ).scalars()]
            item["proctoring_session"]["recording_segments"] = [
                _row(s, ["kind", "index", "bytes", "sha256", "t_start", "t_end", "created_at"])
                for s in db.execute(select(RecordingSegment).where(RecordingSegment.session_id == sess.id)
                                    .order_by(RecordingSegment.kind, RecordingSegment.index)).scalars()]
        out_attempts.append(item)
    return {
        "generated_at": utcnow().isoformat(),
        "person": _row(user, ["id", "college_id", "email", "full_name", "role", "external_id", "is_active",
                              "created_at", "updated_at"]),
        "enrolments": [_row(e, ["course_id", "created_at"]) for e in db.execute(
            select(Enrolment).where(Enrolment.student_id == user.id)).scalars()],
        "consents": [_row(c, ["id", "version", "scope", "source", "given_at", "withdrawn_at"]) for c in db.execute(
            select(ConsentRecord).where(ConsentRecord.user_id == user.id).order_by(ConsentRecord.id)).scalars()],
        "face_templates": [_row(t, ["id", "model", "photo_sha256s", "embedding", "is_active", "created_at"])
                           for t in db.execute(select(IdentityEnrolment).where(
                               IdentityEnrolment.student_id == user.id)).scalars()],
        "attempts": out_attempts,
        "lms_links": [_row(link, ["registration_id", "sub", "created_at"]) for link in db.execute(
            select(LtiUserLink).where(LtiUserLink.user_id == user.id)).scalars()],
        "sign_ins": [_row(t, ["created_at", "expires_at", "revoked_at", "ip", "user_agent"]) for t in db.execute(
            select(AuthToken).where(AuthToken.user_id == user.id).order_by(AuthToken.id)).scalars()],
        "footprint": [_row(x, ["statement_id", "verb", "object_type", "object_id", "object_name", "course_id", "at",
                               "result", "ip", "user_agent"]) for x in db.execute(
            select(Activity).where(Activity.actor_id == user.id).order_by(Activity.id)).scalars()],
        "surveys_answered": [p.survey_id for p in db.execute(
            select(SurveyParticipation).where(SurveyParticipation.user_id == user.id)).scalars()],
        "deletions": [_row(d, ["kind", "reason", "object_ref", "details", "actor", "deleted_at"]) for d in db.execute(
            select(DeletionRecord).where(DeletionRecord.subject_user_id == user.id).order_by(DeletionRecord.id)
        ).scalars()],
    }


KEPT = [
    {"what": "attempts, answers, grades, review decisions and the event chain (no images)",
     "why": "attestation records the college must keep under the education law (Law 94-V art. 9: processing "
            "required by a law); tied to the de-identified account"},
    {"what": "digital footprint (xAPI activity log)", "why": "append-only audit log of the learning platform"},
    {"what": "consent records and deletion records", "why": "proof of lawful processing and of this erasure"},
]


def erase(db: Session, blobs: Any, user: User, actor: str) -> dict[str, Any]:
    """Erase what the law allows (see the module's docstring); returns what was deleted and what was kept."""
    deleted: dict[str, int] = {"recording_segments": 0, "evidence_frames": 0, "face_templates": 0,
                               "lms_links": 0, "sign_in_tokens": 0, "survey_attributions": 0}
    sessions = db.execute(select(ProctoringSession).join(Attempt, Attempt.id == ProctoringSession.attempt_id)
                          .where(Attempt.student_id == user.id)).scalars().all()
    for sess in sessions:
        n, _ = retention.delete_recording(db, blobs, sess, user.college_id, user.id, "erasure", actor)
        deleted["recording_segments"] += n
        if not retention._done(db, "evidence", sess.id):
            deleted["evidence_frames"] += retention.delete_evidence(db, blobs, sess, user.college_id, user.id,
                                                                    "erasure", actor)
    for tpl in db.execute(select(IdentityEnrolment).where(IdentityEnrolment.student_id == user.id)).scalars().all():
        retention.delete_face_template(db, blobs, tpl, user.college_id, "erasure", actor)
        deleted["face_templates"] += 1
    deleted["lms_links"] = db.execute(delete(LtiUserLink).where(LtiUserLink.user_id == user.id)).rowcount or 0
    db.execute(update(LtiAttemptLink).where(LtiAttemptLink.attempt_id.in_(
        select(Attempt.id).where(Attempt.student_id == user.id))).values(sub="erased"))
    deleted["sign_in_tokens"] = db.execute(delete(AuthToken).where(AuthToken.user_id == user.id)).rowcount or 0
    deleted["survey_attributions"] = db.execute(update(SurveyResponse).where(SurveyResponse.respondent_id == user.id)
                                                .values(respondent_id=None)).rowcount or 0
    user.full_name = "Erased student"
    user.email = f"erased-{user.id}@erased.invalid"
    user.external_id = None
    user.password_hash = None
    user.is_active = False
    db.add(DeletionRecord(college_id=user.college_id, subject_user_id=user.id, kind="personal_data",
                          reason="erasure", object_ref=f"user:{user.id}",
                          details={"deleted": deleted, "fields": ["full_name", "email", "external_id", "password"]},
                          actor=actor))
    db.flush()
    return {"user_id": user.id, "deleted": deleted, "kept": KEPT}
