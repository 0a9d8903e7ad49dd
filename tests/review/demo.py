"""A review world for the tests: the whole app on SQLite (demo college, people and exam), a submitted attempt
of the demo student whose proctoring session holds a real engine run over a clip, a live session, and another
college with its own proctor and student."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from server.auth.keys import new_token
from server.auth.passwords import hash_password
from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import (
    Attempt, AuthToken, College, Course, Exam, ProctoringSession, User,
)
from server.review.importer import import_offline_session
from seed_attempts import submitted_attempt

CLIP = "video/hamilton_stage_and_audience.mp4"
REFERENCE = "faces/lin_manuel_miranda/01.jpg"
PASSWORDS = {"proctor": ("proctor@demo.college", "demo-proctor-pass"),
             "student": ("student@demo.college", "demo-student-pass"),
             "other_proctor": ("proctor@other.college", "other-proctor-pass")}


@dataclass
class ReviewWorld:
    app: Any
    factory: Any
    stores: Any
    attempt_id: int = 0
    session_id: str = ""
    live_attempt_id: int = 0
    live_session_id: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def _token(db, user_id: int) -> str:
    token, digest = new_token()
    db.add(AuthToken(user_id=user_id, token_hash=digest, expires_at=utcnow() + timedelta(hours=2)))
    return token


def build(app: Any, data_dir: Path, analysis_dir: Path) -> ReviewWorld:
    """Call inside the app's lifespan (the demo data is seeded there)."""
    factory, stores = app.state.session_factory, app.state.stores
    w = ReviewWorld(app, factory, stores)
    with transaction(factory, write_lock=True) as db:  # the running server writes too: take the lock first
        proctor = db.execute(select(User).where(User.email == PASSWORDS["proctor"][0])).scalar_one()
        student = db.execute(select(User).where(User.email == PASSWORDS["student"][0])).scalar_one()
        exam = db.execute(select(Exam).where(Exam.proctored.is_(True))).scalars().first()
        other = College(slug="other", name="Other College")
        db.add(other)
        db.flush()
        op = User(college_id=other.id, email=PASSWORDS["other_proctor"][0], full_name="Olzhas Other", role="proctor",
                  password_hash=hash_password(PASSWORDS["other_proctor"][1]))
        db.add(op)
        db.flush()
        w.tokens = {"proctor": _token(db, proctor.id), "student": _token(db, student.id),
                    "other_proctor": _token(db, op.id)}
        # a submitted attempt with answers (graded; the grade is published only on verify)
        a = submitted_attempt(db, exam, student.id, 1, [[1], [1, 2], "def"])
        now = utcnow()
        ps = ProctoringSession(attempt_id=a.id, created_at=now)
        db.add(ps)
        # a live attempt (started, session live) for live mode
        la = Attempt(exam_id=exam.id, student_id=student.id, number=2, state="started", created_at=now,
                     started_at=now, identity_verified_at=now, room_scanned_at=now,
                     deadline_at=now + timedelta(minutes=45))
        db.add(la)
        db.flush()
        lps = ProctoringSession(attempt_id=la.id, created_at=now)
        db.add(lps)
        db.flush()
        w.attempt_id, w.session_id, w.live_attempt_id, w.live_session_id = a.id, ps.id, la.id, lps.id
    import_offline_session(stores, factory, w.session_id, analysis_dir=analysis_dir, video=data_dir / CLIP,
                           references=[data_dir / REFERENCE])
    stores.sessions.mark_live(w.live_session_id, "test-node")
    return w
