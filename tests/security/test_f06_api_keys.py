"""Finding 6: API keys were too strong. No key may create or change a college admin or set a password (so a
leaked key cannot make a human admin who mints more keys); keys carry scopes; a password change or an admin's
reset revokes that person's tokens."""

from __future__ import annotations

from server.auth.passwords import hash_password
from server.db.models import User


def test_no_key_creates_or_changes_an_admin_or_a_password(client, world) -> None:
    h = world.h("api")
    r = client.post("/api/v1/users", headers=h, json={"email": "evil@test.kz", "full_name": "E", "role": "college_admin"})
    assert r.status_code == 403
    r = client.post("/api/v1/users", headers=h, json={"email": "s2@test.kz", "full_name": "S", "password": "pass-1234"})
    assert r.status_code == 403
    admin = world.users["admin"]
    assert client.patch(f"/api/v1/users/{admin}", headers=h, json={"password": "taken-over-1"}).status_code == 403
    assert client.patch(f"/api/v1/users/{admin}", headers=h, json={"email": "me@evil.example"}).status_code == 403
    assert client.patch(f"/api/v1/users/{admin}", headers=h, json={"is_active": False}).status_code == 403
    alice = world.users["alice"]
    assert client.patch(f"/api/v1/users/{alice}", headers=h, json={"password": "taken-over-1"}).status_code == 403
    # what keys are for still works
    assert client.post("/api/v1/users", headers=h, json={"email": "s3@test.kz", "full_name": "S3"}).status_code == 201
    assert client.patch(f"/api/v1/users/{alice}", headers=h, json={"full_name": "Alice A."}).status_code == 200


def test_scopes_limit_a_key(client, world) -> None:
    r = client.post("/api/v1/api-keys", headers=world.h("admin"), json={"name": "exports", "scopes": ["exams:read"]})
    assert r.status_code == 201 and r.json()["scopes"] == ["exams:read"]
    h = {"X-API-Key": r.json()["key"]}
    assert client.get("/api/v1/exams", headers=h).status_code == 200
    r = client.get("/api/v1/users", headers=h)
    assert r.status_code == 403 and r.json()["error"]["details"]["scope"] == "people:read"
    assert client.post("/api/v1/users", headers=h, json={"email": "x@test.kz", "full_name": "X"}).status_code == 403
    assert client.post("/api/v1/webhooks", headers=h, json={"url": "https://hooks.example/x"}).status_code == 403
    assert client.post("/api/v1/api-keys", headers=world.h("admin"),
                       json={"name": "bad", "scopes": ["root"]}).status_code == 422


def test_an_admin_reset_signs_the_person_out(client, world) -> None:
    old = world.h("alice")
    assert client.get("/api/auth/me", headers=old).status_code == 200
    r = client.patch(f"/api/v1/users/{world.users['alice']}", headers=world.h("admin"), json={"password": "new-pass-99"})
    assert r.status_code == 200
    assert client.get("/api/auth/me", headers=old).status_code == 401
    assert client.post("/api/auth/login", json={"email": "alice@test.kz", "password": "new-pass-99"}).status_code == 200


def test_changing_your_password_revokes_your_other_tokens(client, world) -> None:
    with world.factory() as db, db.begin():
        db.get(User, world.users["bob"]).password_hash = hash_password("bob-old-pass")
    other = client.post("/api/auth/login", json={"email": "bob@test.kz", "password": "bob-old-pass"}).json()["token"]
    client.cookies.clear()
    me = world.h("bob")
    r = client.post("/api/auth/password", headers=me, json={"current_password": "wrong", "new_password": "bob-new-pass"})
    assert r.status_code == 403
    r = client.post("/api/auth/password", headers=me,
                    json={"current_password": "bob-old-pass", "new_password": "bob-new-pass"})
    assert r.status_code == 200 and r.json()["signed_out_sessions"] == 1
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    assert client.get("/api/auth/me", headers=me).status_code == 200
