"""Live proctoring-session state, kept in the database so any node (or a restarted one) can carry on.

A node that analyses a session marks it live and sends heartbeats; when the media drops it opens a gap
(``stream_lost``) and closes it when the media is back. ``claim`` lets another node take over a session whose
node stopped sending heartbeats (compare-and-set, so two nodes cannot both win).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from server.db.base import utcnow
from server.db.engine import transaction
from proctor.settings import deep_merge
from server.db.models import Attempt, Course, Exam, ProctoringSession
from server.db.queries import sessions_of_college
from server.domain.enums import ACTIVE_SESSION_STATUSES as ACTIVE, SessionStatus
from server.storage.events import UnknownSession

class IllegalSessionChange(ValueError):
    pass


@dataclass(frozen=True)
class SessionState:
    id: str
    attempt_id: int
    exam_id: int
    student_id: int
    college_id: int
    status: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    last_seen_at: datetime | None
    node_id: str | None
    enrolment_id: int | None
    settings_overrides: dict[str, Any]  # the exam's engine settings merged with the session's own overrides
    stream_gaps: list[dict[str, Any]]
    event_count: int
    chain_head: str | None
    integrity_score: float | None
    report: dict[str, Any] | None
    score_recommendation: str | None = None  # "clean", "suspicious" or "violation" (proctor.score)
    score_breakdown: dict[str, Any] | None = None  # kind -> {count, seconds, share, weight, penalty}

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def score_provisional(self) -> bool:
        """The stored score is a running session's latest provisional one (the final one comes with its end)."""
        return bool(self.report and self.report.get("provisional"))


class SessionStore(Protocol):
    def get(self, session_id: str) -> SessionState | None: ...

    def for_attempt(self, attempt_id: int) -> SessionState | None: ...

    def mark_live(self, session_id: str, node_id: str, at: datetime | None = None) -> SessionState: ...

    def heartbeat(self, session_id: str, node_id: str, at: datetime | None = None) -> SessionState: ...

    def stream_lost(self, session_id: str, at: datetime | None = None) -> SessionState: ...

    def set_enrolment(self, session_id: str, enrolment_id: int | None) -> SessionState: ...

    def set_overrides(self, session_id: str, overrides: dict[str, Any] | None) -> SessionState: ...

    def end(self, session_id: str, *, status: str = "ended", at: datetime | None = None,
            integrity_score: float | None = None, report: dict[str, Any] | None = None,
            score_recommendation: str | None = None, score_breakdown: dict[str, Any] | None = None) -> SessionState: ...

    def set_provisional_score(self, session_id: str, *, integrity_score: float, score_recommendation: str,
                              score_breakdown: dict[str, Any], report: dict[str, Any]) -> SessionState | None: ...

    def stale(self, seen_before: datetime) -> list[SessionState]: ...

    def claim(self, session_id: str, node_id: str, seen_before: datetime) -> bool: ...

    def active(self, college_id: int | None = None) -> list[SessionState]: ...


def state_of(db: Session, row: ProctoringSession) -> SessionState:
    attempt = db.get(Attempt, row.attempt_id)
    exam = db.get(Exam, attempt.exam_id)
    course = db.get(Course, exam.course_id)
    overrides = deep_merge(exam.engine_settings or {}, row.settings_overrides or {})
    return SessionState(
        id=row.id, attempt_id=row.attempt_id, exam_id=exam.id, student_id=attempt.student_id,
        college_id=course.college_id, status=row.status, created_at=row.created_at, started_at=row.started_at,
        ended_at=row.ended_at, last_seen_at=row.last_seen_at, node_id=row.node_id, enrolment_id=row.enrolment_id,
        settings_overrides=overrides, stream_gaps=[dict(g) for g in (row.stream_gaps or [])],
        event_count=row.event_count, chain_head=row.chain_head, integrity_score=row.integrity_score,
        report=row.report, score_recommendation=row.score_recommendation, score_breakdown=row.score_breakdown,
    )


def _iso(at: datetime) -> str:
    return at.isoformat()


class SqlSessionStore:
    """``signer`` (an :class:`~server.evidence.signing.EvidenceSigner`) signs a checkpoint when a session ends."""

    def __init__(self, session_factory: sessionmaker[Session], signer: Any = None):
        self.session_factory = session_factory
        self.signer = signer

    def _locked(self, db: Session, session_id: str) -> ProctoringSession:
        row = db.execute(
            select(ProctoringSession).where(ProctoringSession.id == session_id).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise UnknownSession(session_id)
        return row

    def get(self, session_id: str) -> SessionState | None:
        with transaction(self.session_factory) as db:
            row = db.get(ProctoringSession, session_id)
            return state_of(db, row) if row else None

    def for_attempt(self, attempt_id: int) -> SessionState | None:
        with transaction(self.session_factory) as db:
            row = db.execute(
                select(ProctoringSession).where(ProctoringSession.attempt_id == attempt_id)
            ).scalar_one_or_none()
            return state_of(db, row) if row else None

    def mark_live(self, session_id: str, node_id: str, at: datetime | None = None) -> SessionState:
        at = at or utcnow()
        with transaction(self.session_factory, write_lock=True) as db:
            row = self._locked(db, session_id)
            if row.status not in ACTIVE:
                raise IllegalSessionChange(f"session {session_id} is {row.status}; it cannot go live again")
            row.status = SessionStatus.live.value
            row.node_id = node_id
            row.last_seen_at = at
            if row.started_at is None:
                row.started_at = at
            gaps = [dict(g) for g in (row.stream_gaps or [])]
            if gaps and gaps[-1].get("end") is None:
                gaps[-1]["end"] = _iso(at)
                row.stream_gaps = gaps
            return state_of(db, row)

    def heartbeat(self, session_id: str, node_id: str, at: datetime | None = None) -> SessionState:
        at = at or utcnow()
        with transaction(self.session_factory, write_lock=True) as db:
            row = self._locked(db, session_id)
            if row.node_id is not None and row.node_id != node_id:
                raise IllegalSessionChange(f"session {session_id} is held by node {row.node_id}, not {node_id}")
            if row.status not in ACTIVE:
                raise IllegalSessionChange(f"session {session_id} is {row.status}")
            row.node_id = node_id
            row.last_seen_at = at
            return state_of(db, row)

    def stream_lost(self, session_id: str, at: datetime | None = None) -> SessionState:
        at = at or utcnow()
        with transaction(self.session_factory, write_lock=True) as db:
            row = self._locked(db, session_id)
            if row.status == SessionStatus.stream_lost.value:
                return state_of(db, row)
            if row.status != SessionStatus.live.value:
                raise IllegalSessionChange(f"session {session_id} is {row.status}, not live")
            row.status = SessionStatus.stream_lost.value
            row.stream_gaps = [dict(g) for g in (row.stream_gaps or [])] + [{"start": _iso(at), "end": None}]
            return state_of(db, row)

    def set_enrolment(self, session_id: str, enrolment_id: int | None) -> SessionState:
        with transaction(self.session_factory, write_lock=True) as db:
            row = self._locked(db, session_id)
            row.enrolment_id = enrolment_id
            return state_of(db, row)

    def set_overrides(self, session_id: str, overrides: dict[str, Any] | None) -> SessionState:
        with transaction(self.session_factory, write_lock=True) as db:
            row = self._locked(db, session_id)
            row.settings_overrides = overrides
            return state_of(db, row)

    def end(self, session_id: str, *, status: str = SessionStatus.ended.value, at: datetime | None = None,
            integrity_score: float | None = None, report: dict[str, Any] | None = None,
            score_recommendation: str | None = None, score_breakdown: dict[str, Any] | None = None) -> SessionState:
        """End the session (``ended`` or ``error``), with its integrity score when it was scored."""
        if status not in (SessionStatus.ended.value, SessionStatus.error.value):
            raise IllegalSessionChange(f"a session ends as 'ended' or 'error', not {status!r}")
        at = at or utcnow()
        with transaction(self.session_factory, write_lock=True) as db:
            row = self._locked(db, session_id)
            if row.status not in ACTIVE:
                raise IllegalSessionChange(f"session {session_id} already ended ({row.status})")
            gaps = [dict(g) for g in (row.stream_gaps or [])]
            if gaps and gaps[-1].get("end") is None:
                gaps[-1]["end"] = _iso(at)
                row.stream_gaps = gaps
            row.status = status
            row.ended_at = at
            if integrity_score is not None:
                row.integrity_score = float(integrity_score)
            if report is not None:
                row.report = report
            if score_recommendation is not None:
                row.score_recommendation = score_recommendation
            if score_breakdown is not None:
                row.score_breakdown = score_breakdown
            if self.signer is not None:
                self._seal(db, session_id)
            return state_of(db, row)

    def _seal(self, db: Session, session_id: str) -> None:
        """The checkpoint at the end, in the ending transaction; a refusal (tampering) never stops the end."""
        from server.evidence.signing import EvidenceMismatch

        try:
            with db.begin_nested():
                self.signer.checkpoint_in(db, session_id, "session_end")
        except EvidenceMismatch as exc:
            import logging

            logging.getLogger("server.evidence").error("evidence checkpoint refused",
                                                       extra={"session_id": session_id, "reason": str(exc)})

    def set_provisional_score(self, session_id: str, *, integrity_score: float, score_recommendation: str,
                              score_breakdown: dict[str, Any], report: dict[str, Any]) -> SessionState | None:
        """A running session's provisional score (``report["provisional"]`` is true); None if it has ended (its
        final score is never overwritten)."""
        with transaction(self.session_factory, write_lock=True) as db:
            row = self._locked(db, session_id)
            if row.status not in ACTIVE:
                return None
            row.integrity_score = float(integrity_score)
            row.score_recommendation = score_recommendation
            row.score_breakdown = score_breakdown
            row.report = {**report, "provisional": True}
            return state_of(db, row)

    def stale(self, seen_before: datetime) -> list[SessionState]:
        with transaction(self.session_factory) as db:
            rows = db.execute(
                select(ProctoringSession).where(
                    ProctoringSession.status.in_([SessionStatus.live.value, SessionStatus.stream_lost.value]),
                    ProctoringSession.last_seen_at < seen_before,
                )
            ).scalars().all()
            return [state_of(db, r) for r in rows]

    def claim(self, session_id: str, node_id: str, seen_before: datetime) -> bool:
        """Take the session over if nobody holds it or its holder was last seen before ``seen_before``."""
        with transaction(self.session_factory, write_lock=True) as db:
            result = db.execute(
                update(ProctoringSession)
                .where(
                    ProctoringSession.id == session_id,
                    ProctoringSession.status.in_(ACTIVE),
                    or_(ProctoringSession.node_id.is_(None), ProctoringSession.node_id == node_id,
                        ProctoringSession.last_seen_at.is_(None), ProctoringSession.last_seen_at < seen_before),
                )
                .values(node_id=node_id, last_seen_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return result.rowcount == 1

    def active(self, college_id: int | None = None) -> list[SessionState]:
        with transaction(self.session_factory) as db:
            q = select(ProctoringSession).where(ProctoringSession.status.in_(ACTIVE))
            if college_id is not None:
                q = sessions_of_college(q, college_id)
            return [state_of(db, r) for r in db.execute(q).scalars().all()]
