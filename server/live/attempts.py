"""What the live checks tell the attempt: identity verified, room scanned (the backend's attempt services move
the attempt to ``ready_to_start`` once both are done); and what the live side asks of it: is it over (the
server, not the page, decides when a proctored session ends)."""

from __future__ import annotations

from typing import Any

from server.db.engine import transaction
from server.db.models import Attempt, IdentityEnrolment, ProctoringSession


class AttemptHooks:
    def __init__(self, session_factory: Any):
        self.session_factory = session_factory

    def _attempt(self, db: Any, session_id: str) -> Attempt:
        ps = db.get(ProctoringSession, session_id)
        return db.get(Attempt, ps.attempt_id)

    def identity_hold(self, session_id: str) -> dict[str, Any] | None:
        """The photo taken at the identity step did not match the college's reference: the identity is not marked
        verified by the live check; the attempt waits for a proctor's decision (``POST /api/proctor/attempts/{id}/
        checks`` or a proctor's replacement of the reference)."""
        with transaction(self.session_factory) as db:
            ps = db.get(ProctoringSession, session_id)
            row = db.get(IdentityEnrolment, ps.enrolment_id) if ps is not None and ps.enrolment_id else None
            if row is not None and isinstance(row.match, dict) and row.match.get("match") is False:
                return dict(row.match)
            return None

    def identity_verified(self, session_id: str, enrolment_id: int | None) -> str:
        from server.services.attempts import mark_identity_verified

        with transaction(self.session_factory, write_lock=True) as db:
            attempt = self._attempt(db, session_id)
            if attempt.identity_verified_at is None and attempt.state == "created":
                mark_identity_verified(db, attempt, enrolment_id=enrolment_id, actor="system")
            return attempt.state

    def room_scanned(self, session_id: str) -> str:
        from server.services.attempts import mark_room_scanned

        with transaction(self.session_factory, write_lock=True) as db:
            attempt = self._attempt(db, session_id)
            if attempt.room_scanned_at is None and attempt.state == "created":
                mark_room_scanned(db, attempt, actor="system")
            return attempt.state

    def attempt_over(self, session_id: str, deadline_grace_s: float) -> str | None:
        """The attempt's state if it is over (submitted, timed out, in error, decided), else None; an attempt
        whose time ran out is moved to ``timed_out`` first."""
        from server.domain.attempts import OPEN
        from server.services.attempts import expire_if_overdue

        with transaction(self.session_factory) as db:
            attempt = self._attempt(db, session_id)
            if attempt.state not in OPEN:
                return attempt.state
            if not self._overdue(db, attempt, deadline_grace_s):
                return None
        with transaction(self.session_factory, write_lock=True) as db:
            attempt = self._attempt(db, session_id)
            if attempt.state in OPEN:
                expire_if_overdue(db, attempt, deadline_grace_s)
            return None if attempt.state in OPEN else attempt.state

    @staticmethod
    def _overdue(db: Any, attempt: Attempt, grace_s: float) -> bool:
        from datetime import timedelta

        from server.db.base import utcnow
        from server.services.attempts import window_end

        now = utcnow()
        if attempt.state == "started":
            return attempt.deadline_at is not None and now > attempt.deadline_at + timedelta(seconds=grace_s)
        return now > window_end(db, attempt.exam, attempt.student_id)
