"""The app as the main-job command starts it: migrations from an empty database, the demo data seeded
through the model on first start (and only then, and only when asked: ``seed_demo``, i.e. ``proctor serve
--demo``), the generated demo logins and API key working."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient

from server.app import create_app, print_demo
from server.db.engine import make_engine, make_sessionmaker, transaction
from server.db import migrate
from server.seed import seed_demo
from server.settings import ServerSettings


def test_first_start_migrates_and_seeds_then_restart_keeps_data(empty_db_url, tmp_path) -> None:
    settings = ServerSettings(database_url=empty_db_url, data_dir=tmp_path / "var", webhooks_enabled=False,
                              public_url="http://127.0.0.1:8000", seed_demo=True)
    app = create_app(settings)
    with TestClient(app) as c:
        demo = app.state.demo
        assert demo["created"] and demo["api_key"].startswith("pk_")
        out = io.StringIO()
        print_demo(demo, settings.resolved_public_url(), out)
        assert "http://127.0.0.1:8000" in out.getvalue() and "student@demo.college" in out.getvalue()
        passwords = {login["role"]: login["password"] for login in demo["logins"]}
        assert all(pw and pw in out.getvalue() for pw in passwords.values())  # generated, printed once
        r = c.post("/api/auth/login", json={"email": "student@demo.college", "password": passwords["student"]})
        assert r.status_code == 200
        exams = c.get("/api/student/exams", headers={"Authorization": f"Bearer {r.json()['token']}"}).json()
        assert {e["type"] for e in exams} == {"intermediate_attestation", "practice"}
        progs = c.get("/api/v1/programmes", headers={"X-API-Key": demo["api_key"]}).json()
        assert progs[0]["status"] == "approved" and progs[0]["plan_check"]["ok"]
        r = c.post("/api/auth/login", json={"email": "proctor@demo.college", "password": passwords["proctor"]})
        assert r.status_code == 200
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.is_file() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    secret = settings.resolved_secret_key()
    # a restart: no second seeding, the same secret key
    app2 = create_app(ServerSettings(database_url=empty_db_url, data_dir=tmp_path / "var", webhooks_enabled=False,
                                     seed_demo=True))
    with TestClient(app2):
        assert app2.state.demo["created"] is False and app2.state.demo["api_key"] is None
        assert all(login["password"] is None for login in app2.state.demo["logins"])  # never stored in clear
    assert ServerSettings(data_dir=tmp_path / "var").resolved_secret_key() == secret
    engine = make_engine(empty_db_url)
    try:
        assert migrate.schema_diff(engine) == []
        with transaction(make_sessionmaker(engine)) as db:
            assert seed_demo(db)["created"] is False
    finally:
        engine.dispose()


def test_default_database_is_sqlite_in_the_data_dir(tmp_path) -> None:
    s = ServerSettings(data_dir=tmp_path / "v")
    assert s.resolved_database_url() == f"sqlite:///{(tmp_path / 'v' / 'proctor.db').resolve()}"
    assert ServerSettings(database_url="postgresql://u@h/db").resolved_database_url() == "postgresql://u@h/db"
    from server.db.engine import normalise_url

    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
