"""The retention job: when a college's period ends, recordings, evidence frames and face templates are deleted
and each deletion is recorded in ``deletion_records`` (what kind, whose, which session, how many objects and
bytes, the hashes of what was deleted; never the content).

The clock of a session's recording and evidence starts when its attempt was decided (else when the session
ended, else when it was created); a face template's when it was made. The engine's event chain (the record the
review decision rests on, with no images) stays with the attempt.

Safe with several server nodes running it at once: each session or template is handled in its own transaction
that first locks its row with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (another node skips it), and
on SQLite under ``BEGIN IMMEDIATE`` (one writer). A blob is deleted before its manifest row, and deleting a
missing blob is not an error, so a pass interrupted half-way is finished by the next one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from server.db.base import utcnow
from server.db.engine import is_sqlite, transaction
from server.db.queries import sessions_of_college
from server.periodic import Periodic
from server.db.models import (
    Attempt, College, Course, DeletionRecord, Exam, IdentityEnrolment, ProctoringSession, RecordingSegment,
    RetentionPolicy, SessionEvent, User,
)

log = logging.getLogger("server.privacy")


@dataclass(frozen=True)
class Periods:
    recordings_days: int
    evidence_days: int
    face_templates_days: int


@dataclass
class RunResult:
    recordings: int = 0  # sessions whose recording was deleted
    segments: int = 0
    evidence_sessions: int = 0
    evidence_frames: int = 0
    face_templates: int = 0
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"recordings": self.recordings, "segments": self.segments,
                "evidence_sessions": self.evidence_sessions, "evidence_frames": self.evidence_frames,
                "face_templates": self.face_templates}


def periods_for(db: Session, college_id: int, settings: Any) -> Periods:
    p = db.get(RetentionPolicy, college_id)
    if p is not None:
        return Periods(p.recordings_days, p.evidence_days, p.face_templates_days)
    return Periods(settings.privacy_default_recordings_days, settings.privacy_default_evidence_days,
                   settings.privacy_default_face_templates_days)


def _lock(db: Session, q: Any) -> Any:
    return q if is_sqlite(db) else q.with_for_update(skip_locked=True)


def evidence_keys(db: Session, session_id: str) -> list[str]:
    names: set[str] = set()
    for rec in db.execute(select(SessionEvent.record).where(SessionEvent.session_id == session_id)).scalars():
        rec = rec.get("record", rec) if isinstance(rec, dict) else {}
        for f in ((rec.get("evidence") or {}).get("frames") or []) if isinstance(rec, dict) else []:
            if isinstance(f, dict) and f.get("name"):
                names.add(f"{session_id}/evidence/{f['name']}")
    return sorted(names)


def _done(db: Session, kind: str, session_id: str) -> bool:
    return db.execute(select(DeletionRecord.id).where(DeletionRecord.kind == kind,
                                                      DeletionRecord.object_ref == session_id)).first() is not None


# --- the deletions (each also used by erasure) --------------------------------------------------------------
def delete_recording(db: Session, blobs: Any, sess: ProctoringSession, college_id: int, student_id: int | None,
                     reason: str, actor: str = "system") -> tuple[int, int]:
    """Delete the recording's bytes. The manifest rows stay: they are signed evidence (append-only) and say what
    was recorded; the deletion record says when and why the bytes went."""
    segs = db.execute(select(RecordingSegment).where(RecordingSegment.session_id == sess.id)
                      .order_by(RecordingSegment.kind, RecordingSegment.index)).scalars().all()
    if not segs or _done(db, "recording", sess.id):
        return 0, 0
    total = 0
    for s in segs:
        blobs.delete(s.key)
        total += s.bytes
    details = {"segments": len(segs), "bytes": total, "sha256": [s.sha256 for s in segs]}
    db.add(DeletionRecord(college_id=college_id, subject_user_id=student_id, kind="recording", reason=reason,
                          object_ref=sess.id, details=details, actor=actor))
    db.flush()
    return len(segs), total


def delete_evidence(db: Session, blobs: Any, sess: ProctoringSession, college_id: int, student_id: int | None,
                    reason: str, actor: str = "system") -> int:
    keys = evidence_keys(db, sess.id)
    for k in keys:
        blobs.delete(k)
    db.add(DeletionRecord(college_id=college_id, subject_user_id=student_id, kind="evidence", reason=reason,
                          object_ref=sess.id, details={"frames": len(keys)}, actor=actor))
    db.flush()
    return len(keys)


def delete_face_template(db: Session, blobs: Any, tpl: IdentityEnrolment, college_id: int, reason: str,
                         actor: str = "system") -> None:
    sessions = db.execute(select(ProctoringSession.id).where(ProctoringSession.enrolment_id == tpl.id)).scalars().all()
    photos = 0
    for sid in sessions:
        for sha in tpl.photo_sha256s or []:
            blobs.delete(f"{sid}/enrolment/{sha}.jpg")
            photos += 1
    db.add(DeletionRecord(college_id=college_id, subject_user_id=tpl.student_id, kind="face_template",
                          reason=reason, object_ref=f"identity_enrolment:{tpl.id}",
                          details={"model": tpl.model, "photo_sha256": list(tpl.photo_sha256s or []),
                                   "photo_copies": photos, "sessions": list(sessions)}, actor=actor))
    db.delete(tpl)
    db.flush()


# --- the job ------------------------------------------------------------------------------------------------
def _session_clock() -> Any:
    return func.coalesce(Attempt.decided_at, ProctoringSession.ended_at, ProctoringSession.created_at)


def _due_sessions(db: Session, college_id: int, cutoff: datetime, kind: str, limit: int) -> list[str]:
    q = sessions_of_college(select(ProctoringSession.id), college_id).where(_session_clock() <= cutoff)
    if kind == "recording":
        q = q.where(select(RecordingSegment.id).where(RecordingSegment.session_id == ProctoringSession.id).exists())
    q = q.where(~select(DeletionRecord.id).where(DeletionRecord.kind == kind,
                                                 DeletionRecord.object_ref == ProctoringSession.id).exists())
    return list(db.execute(q.order_by(ProctoringSession.id).limit(limit)).scalars())


def _one_session(factory: sessionmaker[Session], blobs: Any, sid: str, college_id: int, cutoff: datetime,
                 kind: str, result: RunResult) -> None:
    with transaction(factory, write_lock=True) as db:
        q = _lock(db, select(ProctoringSession).where(ProctoringSession.id == sid))
        sess = db.execute(q).scalar_one_or_none()
        if sess is None:
            return  # another node holds it, or it is gone
        attempt = db.get(Attempt, sess.attempt_id)
        clock = attempt.decided_at or sess.ended_at or sess.created_at
        if clock > cutoff:
            return
        if kind == "recording":
            n, _bytes = delete_recording(db, blobs, sess, college_id, attempt.student_id, "retention")
            if n:
                result.recordings += 1
                result.segments += n
        elif not _done(db, "evidence", sess.id):
            result.evidence_frames += delete_evidence(db, blobs, sess, college_id, attempt.student_id, "retention")
            result.evidence_sessions += 1


def run(factory: sessionmaker[Session], blobs: Any, settings: Any, now: datetime | None = None,
        batch: int = 200) -> RunResult:
    """One pass over every college; returns what was deleted."""
    now = now or utcnow()
    result = RunResult()
    with transaction(factory) as db:
        colleges = [(c.id, periods_for(db, c.id, settings)) for c in db.execute(select(College)).scalars()]
    for college_id, p in colleges:
        for kind, days in (("recording", p.recordings_days), ("evidence", p.evidence_days)):
            cutoff = now - timedelta(days=days)
            while True:
                with transaction(factory) as db:
                    due = _due_sessions(db, college_id, cutoff, kind, batch)
                before = (result.segments, result.evidence_sessions)
                for sid in due:
                    _one_session(factory, blobs, sid, college_id, cutoff, kind, result)
                if len(due) < batch or (result.segments, result.evidence_sessions) == before:
                    break
        cutoff = now - timedelta(days=p.face_templates_days)
        with transaction(factory) as db:
            ids = list(db.execute(select(IdentityEnrolment.id).join(User, User.id == IdentityEnrolment.student_id)
                                  .where(User.college_id == college_id, IdentityEnrolment.created_at <= cutoff)
                                  .order_by(IdentityEnrolment.id)).scalars())
        for tid in ids:
            with transaction(factory, write_lock=True) as db:
                tpl = db.execute(_lock(db, select(IdentityEnrolment).where(IdentityEnrolment.id == tid))
                                 ).scalar_one_or_none()
                if tpl is None or tpl.created_at > cutoff:
                    continue
                delete_face_template(db, blobs, tpl, college_id, "retention")
                result.face_templates += 1
    if any(result.to_dict().values()):
        log.info("retention pass", extra=result.to_dict())
    return result


class RetentionJob:
    """Runs :func:`run` every ``privacy_job_interval_s`` on a thread (every node may run one)."""

    def __init__(self, factory: sessionmaker[Session], blobs: Any, settings: Any,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.factory, self.blobs, self.settings, self.clock = factory, blobs, settings, clock
        self._periodic = Periodic("retention job", lambda: run(self.factory, self.blobs, self.settings, self.clock()),
                                  settings.privacy_job_interval_s, log)

    def start(self) -> None:
        if self.settings.privacy_job_interval_s > 0:
            self._periodic.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._periodic.stop(timeout)
