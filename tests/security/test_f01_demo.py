"""Finding 1: demo accounts by default. The demo college is seeded only when asked (``proctor serve --demo``,
which ``scripts/run`` passes), with generated passwords printed once, never the old fixed ones."""

from __future__ import annotations

import io
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from proctor.cli import build_parser
from server.app import create_app, print_demo
from server.db.models import College
from server.settings import ServerSettings

OLD_FIXED = {"admin@demo.college": "demo-admin-pass", "student@demo.college": "demo-student-pass"}


def test_a_fresh_server_has_no_demo_college(empty_db_url, tmp_path) -> None:
    assert ServerSettings().seed_demo is False
    app = create_app(ServerSettings(database_url=empty_db_url, data_dir=tmp_path / "d", webhooks_enabled=False))
    with TestClient(app) as c:
        assert app.state.demo is None
        with app.state.session_factory() as db:
            assert db.execute(select(College)).first() is None
        for email, pw in OLD_FIXED.items():
            assert c.post("/api/auth/login", json={"email": email, "password": pw}).status_code == 401


def test_demo_passwords_are_generated_and_printed_once(empty_db_url, tmp_path) -> None:
    app = create_app(ServerSettings(database_url=empty_db_url, data_dir=tmp_path / "d", webhooks_enabled=False,
                                    seed_demo=True))
    with TestClient(app) as c:
        logins = {x["email"]: x["password"] for x in app.state.demo["logins"]}
        assert all(len(pw) >= 12 for pw in logins.values())
        assert len(set(logins.values())) == len(logins)
        for email, pw in OLD_FIXED.items():
            assert logins[email] != pw
            assert c.post("/api/auth/login", json={"email": email, "password": pw}).status_code == 401
        assert c.post("/api/auth/login", json={"email": "admin@demo.college",
                                               "password": logins["admin@demo.college"]}).status_code == 200
        out = io.StringIO()
        print_demo(app.state.demo, "http://127.0.0.1:8000", out)
        assert "DEMO" in out.getvalue() and logins["student@demo.college"] in out.getvalue()


def test_serve_takes_demo_and_the_main_job_passes_it() -> None:
    assert build_parser().parse_args(["serve", "--demo"]).demo is True
    assert build_parser().parse_args(["serve"]).demo is False
    run = (Path(__file__).resolve().parents[2] / "scripts" / "run").read_text()
    assert "proctor serve --demo" in run
