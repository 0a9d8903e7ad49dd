"""Database fixtures for the backend tests: every test that takes ``db_url`` (directly or through
``factory``/``client``/``world``) runs twice, on SQLite and on a real PostgreSQL server that this fixture
starts (Debian's ``postgresql``; the test FAILS with a clear message if its binaries are missing).

Each run migrates a template database from empty with ``alembic upgrade head`` once; every test gets its own
copy (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL).
"""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from server.app import create_app
from server.auth.keys import new_api_key, new_token
from server.cluster.postgres import PgServer, PostgresUnavailable, start_server
from server.db import migrate
from server.db.base import utcnow
from server.db.engine import make_engine, make_sessionmaker, transaction
from server.db.models import (
    ApiKey, AuthToken, College, Course, CourseTeacher, Enrolment, Exam, Question, User,
)
from server.settings import ServerSettings
from servers import started

BACKENDS = ["sqlite", "postgresql"]
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    with started(start_server, PgServer.stop, PostgresUnavailable,
                 "the PostgreSQL tests need a PostgreSQL server") as server:
        yield server


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> str:
    url = pg_server.create_database("template_migrated")
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return "template_migrated"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database with nothing in it (for migration tests)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    server: PgServer = request.getfixturevalue("pg_server")
    return server.create_database(f"empty_{next(_counter)}")


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A migrated database of its own for this test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    server: PgServer = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    import psycopg

    name = f"t_{next(_counter)}"
    with psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return server.url(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> ServerSettings:
    return ServerSettings(database_url=db_url, data_dir=tmp_path / "data", seed_demo=False, webhooks_enabled=False,
                          auto_migrate=False, log_json=True, public_url="http://lms.test",
                          webhook_allow_private_targets=True)


@pytest.fixture
def app(settings: ServerSettings) -> Any:
    return create_app(settings)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


# --- a small world of people and things ------------------------------------------------------------------
@dataclass
class World:
    factory: sessionmaker[Session]
    college_id: int = 0
    other_college_id: int = 0
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    api_key: str = ""
    other_api_key: str = ""
    course_id: int = 0
    other_course_id: int = 0
    exam_id: int = 0  # proctored intermediate attestation
    practice_id: int = 0  # unproctored practice
    question_ids: list[int] = field(default_factory=list)

    def h(self, who: str) -> dict[str, str]:
        """Headers for a person (bearer token) or 'api'/'other_api' (college API keys)."""
        if who == "api":
            return {"X-API-Key": self.api_key}
        if who == "other_api":
            return {"Authorization": f"Bearer {self.other_api_key}"}
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def add_user(self, db: Session, name: str, role: str, college_id: int | None = None) -> int:
        u = User(college_id=college_id or self.college_id, email=f"{name}@test.kz", full_name=name.title(), role=role,
                 external_id=f"X-{name}")
        db.add(u)
        db.flush()
        token, digest = new_token()
        db.add(AuthToken(user_id=u.id, token_hash=digest, expires_at=utcnow() + timedelta(hours=1)))
        self.users[name], self.tokens[name] = u.id, token
        return u.id


def build_world(factory: sessionmaker[Session]) -> World:
    w = World(factory)
    now = utcnow()
    with transaction(factory) as db:
        c1, c2 = College(slug="c1", name="College One"), College(slug="c2", name="College Two")
        db.add_all([c1, c2])
        db.flush()
        w.college_id, w.other_college_id = c1.id, c2.id
        for name, role in [("admin", "college_admin"), ("teacher", "teacher"), ("teacher2", "teacher"),
                           ("proctor", "proctor"), ("proctor2", "proctor"), ("proctor3", "proctor"),
                           ("alice", "student"), ("bob", "student")]:
            w.add_user(db, name, role)
        for name, role in [("other_admin", "college_admin"), ("other_proctor", "proctor"),
                           ("other_student", "student")]:
            w.add_user(db, name, role, c2.id)
        for college, attr in ((c1, "api_key"), (c2, "other_api_key")):
            key, prefix, digest = new_api_key()
            db.add(ApiKey(college_id=college.id, name="test", prefix=prefix, key_hash=digest))
            setattr(w, attr, key)
        course = Course(college_id=c1.id, code="PY", title="Python")
        other = Course(college_id=c2.id, code="PY", title="Python elsewhere")
        db.add_all([course, other])
        db.flush()
        w.course_id, w.other_course_id = course.id, other.id
        db.add(CourseTeacher(course_id=course.id, teacher_id=w.users["teacher"]))
        for s in ("alice", "bob"):
            db.add(Enrolment(course_id=course.id, student_id=w.users[s]))
        db.add(Enrolment(course_id=other.id, student_id=w.users["other_student"]))
        questions = [
            Question(position=0, kind="single_choice", prompt="len([1,2,3])?", options=["2", "3"], correct=[1],
                     points=1),
            Question(position=1, kind="multiple_choice", prompt="immutable?", options=["list", "tuple", "str"],
                     correct=[1, 2], points=2),
            Question(position=2, kind="short_text", prompt="keyword for functions?", correct=["def"], points=1),
        ]
        exam = Exam(course_id=course.id, title="Attestation", type="intermediate_attestation",
                    opens_at=now - timedelta(hours=1), closes_at=now + timedelta(days=1), time_limit_min=30,
                    attempts_allowed=2, proctored=True, pass_mark=50, questions=questions)
        practice = Exam(course_id=course.id, title="Practice", type="practice", opens_at=now - timedelta(hours=1),
                        closes_at=now + timedelta(days=1), time_limit_min=10, attempts_allowed=3, proctored=False,
                        questions=[Question(position=0, kind="single_choice", prompt="2**3?", options=["6", "8"],
                                            correct=[1], points=1)])
        db.add_all([exam, practice])
        db.flush()
        w.exam_id, w.practice_id = exam.id, practice.id
        w.question_ids = [q.id for q in questions]
    return w


@pytest.fixture
def world(factory: sessionmaker[Session]) -> World:
    return build_world(factory)


def error_code(resp: Any) -> str:
    body = resp.json()
    assert "error" in body, body
    assert set(body["error"]) >= {"code", "message"}, body
    return body["error"]["code"]


def make_proctoring_session(factory: sessionmaker[Session], world: World, student: str = "alice",
                            state: str = "started") -> tuple[int, str]:
    """An attempt of the proctored exam with its proctoring session: (attempt id, session id)."""
    from server.db.models import Attempt, ProctoringSession

    with transaction(factory) as db:
        n = len(db.query(Attempt).filter_by(exam_id=world.exam_id, student_id=world.users[student]).all())
        a = Attempt(exam_id=world.exam_id, student_id=world.users[student], number=n + 1, state=state)
        db.add(a)
        db.flush()
        ps = ProctoringSession(attempt_id=a.id)
        db.add(ps)
        db.flush()
        return a.id, ps.id
