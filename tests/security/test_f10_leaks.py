"""Finding 10: small leaks and crashes (the live ones are in test_live_findings.py). E-mail addresses are unique
per college (creating one used in another college answers as for a fresh address); a 404 for another college's
session names nothing of it; ids beyond 64 bits are 404; ``proctor serve`` honours PROCTOR_SERVER_HOST/PORT;
the data directory, database and key are the owner's only; webhook secrets are encrypted at rest."""

from __future__ import annotations

import stat

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.app import create_app
from server.auth.passwords import hash_password
from server.db.engine import transaction
from server.db.models import User, WebhookEndpoint
from server.security.secretbox import PREFIX, encrypt_stored_secrets, for_settings
from server.settings import ServerSettings

from backend.conftest import make_proctoring_session


def test_another_colleges_addresses_cannot_be_probed(client, world) -> None:
    taken_elsewhere = client.post("/api/v1/users", headers=world.h("api"),
                                  json={"email": "other_admin@test.kz", "full_name": "Namesake"})
    fresh = client.post("/api/v1/users", headers=world.h("api"), json={"email": "fresh@test.kz", "full_name": "F"})
    assert taken_elsewhere.status_code == fresh.status_code == 201
    # within the college an address is still unique
    assert client.post("/api/v1/users", headers=world.h("api"),
                       json={"email": "alice@test.kz", "full_name": "A2"}).status_code == 409


def test_one_address_in_two_colleges_signs_in_by_password_or_college(client, world) -> None:
    r = client.post("/api/v1/users", headers=world.h("api"), json={"email": "other_admin@test.kz", "full_name": "N"})
    nid = r.json()["id"]
    with world.factory() as db, db.begin():
        db.get(User, nid).password_hash = hash_password("namesake-pass")
        db.get(User, world.users["other_admin"]).password_hash = hash_password("other-admin-pass")
    r = client.post("/api/auth/login", json={"email": "other_admin@test.kz", "password": "namesake-pass"})
    assert r.status_code == 200 and r.json()["user"]["id"] == nid
    r = client.post("/api/auth/login", json={"email": "other_admin@test.kz", "password": "other-admin-pass",
                                             "college": "c2"})
    assert r.status_code == 200 and r.json()["user"]["id"] == world.users["other_admin"]


def test_a_404_for_another_colleges_session_names_nothing(client, world, factory) -> None:
    attempt_id, sid = make_proctoring_session(factory, world, "alice")
    r = client.get(f"/api/proctor/sessions/{sid}", headers=world.h("other_proctor"))
    missing = client.get("/api/proctor/sessions/doesnotexist00000000000000000000", headers=world.h("other_proctor"))
    assert r.status_code == missing.status_code == 404
    assert str(attempt_id) not in r.text.replace(sid, "") and "attempt" not in r.text
    assert r.json()["error"]["message"] == missing.json()["error"]["message"].replace(
        "doesnotexist00000000000000000000", sid)


@pytest.mark.parametrize("path,who", [("/api/v1/users/{big}", "admin"), ("/api/v1/courses/{big}", "api"),
                                      ("/api/student/attempts/{big}", "alice"),
                                      ("/api/proctor/attempts/{big}/reviews", "proctor")])
def test_ids_beyond_64_bits_are_404(client, world, path, who) -> None:
    for big in (2 ** 63, 2 ** 64, 10 ** 30):
        r = client.get(path.format(big=big), headers=world.h(who))
        assert r.status_code == 404, (path, big, r.text)
    r = client.post("/api/v1/enrolments", headers=world.h("api"), json={"course_id": 2 ** 70, "student_id": 1})
    assert r.status_code == 404


def test_serve_honours_the_environment(monkeypatch) -> None:
    import server.app
    from proctor.cli import main

    seen = {}
    monkeypatch.setattr(server.app, "run", lambda settings: seen.update(host=settings.host, port=settings.port))
    monkeypatch.setenv("PROCTOR_SERVER_PORT", "8123")
    monkeypatch.setenv("PROCTOR_SERVER_HOST", "0.0.0.0")
    assert main(["serve"]) == 0 and seen == {"host": "0.0.0.0", "port": 8123}
    assert main(["serve", "--port", "9001"]) == 0 and seen["port"] == 9001


def test_files_are_the_owners_only(tmp_path) -> None:
    data = tmp_path / "var"
    app = create_app(ServerSettings(data_dir=data, webhooks_enabled=False, live_workers=1))
    with TestClient(app):
        pass
    for path in [data, data / "proctor.db", data / "secret_key"]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))


def test_webhook_secrets_are_encrypted_at_rest(client, world, factory, settings) -> None:
    r = client.post("/api/v1/webhooks", headers=world.h("api"), json={"url": "https://hooks.college.example/p"})
    secret = r.json()["secret"]
    with factory() as db:
        stored = db.execute(select(WebhookEndpoint.secret)).scalar_one()
    assert secret not in stored and stored.startswith(PREFIX)
    box = for_settings(settings)
    assert box.open(stored) == secret
    # a secret stored in clear by an older version is encrypted at start-up
    with transaction(factory) as db:
        db.add(WebhookEndpoint(college_id=world.college_id, url="https://x.example/", secret="whsec_legacy",
                               events=["attempt.verified"]))
    assert encrypt_stored_secrets(factory, box) == 1
    with factory() as db:
        rows = db.execute(select(WebhookEndpoint.secret)).scalars().all()
    assert all(s.startswith(PREFIX) for s in rows) and "whsec_legacy" in {box.open(s) for s in rows}
