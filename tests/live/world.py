"""A small database world for the live tests: a college, two students, an exam, attempts with proctoring
sessions, bearer tokens; and a FastAPI app with only the live routes (the full app is tested end to end)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from server.api import errors
from server.auth.keys import new_token
from server.db.base import Base, utcnow
from server.db.engine import make_engine, make_sessionmaker, transaction
from server.db.models import AuthToken, College, Course, Exam, ProctoringSession, User
from server.db.models import Attempt
from server.settings import ServerSettings
from server.storage import build_stores


@dataclass
class World:
    settings: ServerSettings
    session_factory: object
    stores: object
    students: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # student name -> proctoring session id


def make_world(tmp: Path, n_sessions: int = 1, **settings) -> World:
    settings.setdefault("live_workers", 1)
    s = ServerSettings(data_dir=tmp, seed_demo=False, webhooks_enabled=False, **settings)
    engine = make_engine(s.resolved_database_url())
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    world = World(s, factory, build_stores(s, factory))
    now = utcnow()
    with transaction(factory) as db:
        college = College(slug="t", name="Test college")
        db.add(college)
        db.flush()
        course = Course(college_id=college.id, code="C1", title="Course")
        db.add(course)
        db.flush()
        exam = Exam(course_id=course.id, title="Exam", type="practice", opens_at=now - timedelta(hours=1),
                    closes_at=now + timedelta(hours=2), time_limit_min=60)
        db.add(exam)
        db.flush()
        for name in ["alice", "bob", *[f"s{i}" for i in range(max(0, n_sessions - 2))]]:
            user = User(college_id=college.id, email=f"{name}@t.kz", full_name=name, role="student")
            db.add(user)
            db.flush()
            attempt = Attempt(exam_id=exam.id, student_id=user.id, state="started")
            db.add(attempt)
            db.flush()
            ps = ProctoringSession(attempt_id=attempt.id)
            db.add(ps)
            db.flush()
            token, digest = new_token()
            db.add(AuthToken(user_id=user.id, token_hash=digest, expires_at=now + timedelta(hours=3)))
            world.students[name], world.tokens[name], world.sessions[name] = user.id, token, ps.id
    return world


def live_app(world: World) -> FastAPI:
    from server.live.app import install_live

    app = FastAPI()
    app.state.settings = world.settings
    app.state.session_factory = world.session_factory
    app.state.stores = world.stores
    errors.install(app)
    install_live(app, world.settings, world.stores)
    return app


def submit_attempt(world: World, name: str) -> str:
    """The student's attempt submitted the way the attempt's submit API does it (the live routes' app has no
    student routes): the server's own path to the end of the exam, which the live hub then follows."""
    from server.services import attempts as attempt_ops

    with transaction(world.session_factory, write_lock=True) as db:
        ps = db.get(ProctoringSession, world.sessions[name])
        attempt = db.get(Attempt, ps.attempt_id)
        attempt_ops.submit(db, attempt, world.students[name])
        return attempt.state


def set_attempt_state(world: World, name: str, state: str) -> None:
    """Put a student's attempt in a state (as the attempt API would: e.g. ``started`` once the exam begins)."""
    from server.db.models import ProctoringSession

    with transaction(world.session_factory) as db:
        ps = db.get(ProctoringSession, world.sessions[name])
        db.get(Attempt, ps.attempt_id).state = state
