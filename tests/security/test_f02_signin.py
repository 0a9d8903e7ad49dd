"""Finding 2: sign-in had no rate limit or lockout, and argon2 ran inside the request's write transaction.

Now: failures are counted per account and per address (429 with Retry-After), a locked account stays locked even
for the right password until a college admin lifts it (or the lockout ends), and the password is verified with
no database transaction open, so other requests (writes included) go on meanwhile."""

from __future__ import annotations

import threading

import argon2
from fastapi.testclient import TestClient

from server.app import create_app
from server.auth.passwords import hash_password
from server.db.models import User

from backend.conftest import build_world


def _set_password(world, name: str, pw: str) -> None:
    with world.factory() as db, db.begin():
        db.get(User, world.users[name]).password_hash = hash_password(pw)


def test_lockout_after_failures_then_an_admin_lifts_it(client, world) -> None:
    _set_password(world, "alice", "alice-secret-1")
    for _ in range(5):
        r = client.post("/api/auth/login", json={"email": "alice@test.kz", "password": "wrong-password"})
        assert r.status_code == 401
    r = client.post("/api/auth/login", json={"email": "alice@test.kz", "password": "alice-secret-1"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.json()["error"]["code"] == "rate_limited"
    # an unknown address is throttled the same way (a lockout reveals nothing about who exists)
    for _ in range(5):
        client.post("/api/auth/login", json={"email": "nobody@test.kz", "password": "wrong-password"})
    assert client.post("/api/auth/login", json={"email": "nobody@test.kz", "password": "x"}).status_code == 429
    # only a college admin in person lifts it: not a key, not another college
    uid = world.users["alice"]
    assert client.post(f"/api/v1/users/{uid}/unlock", headers=world.h("api")).status_code == 403
    assert client.post(f"/api/v1/users/{uid}/unlock", headers=world.h("other_admin")).status_code == 404
    r = client.post(f"/api/v1/users/{uid}/unlock", headers=world.h("admin"))
    assert r.status_code == 200 and r.json()["was_locked"] is True
    r = client.post("/api/auth/login", json={"email": "alice@test.kz", "password": "alice-secret-1"})
    assert r.status_code == 200


def test_per_address_throttle(settings, world) -> None:
    app = create_app(settings.model_copy(update={"signin_address_max_failures": 3}))
    with TestClient(app) as c:
        for i in range(3):
            assert c.post("/api/auth/login", json={"email": f"u{i}@test.kz", "password": "nope"}).status_code == 401
        r = c.post("/api/auth/login", json={"email": "u9@test.kz", "password": "nope"})
        assert r.status_code == 429 and r.json()["error"]["details"]["reason"] == "address_throttled"
        assert "Retry-After" in r.headers


def test_password_is_verified_outside_the_write_transaction(settings, factory, monkeypatch) -> None:
    """While a sign-in's argon2 check is in progress, a student's write request completes."""
    world = build_world(factory)
    _set_password(world, "bob", "bob-secret-1")
    entered, release = threading.Event(), threading.Event()
    real_verify = argon2.PasswordHasher.verify

    def slow_verify(self, hash, password):  # noqa: A002
        entered.set()
        release.wait(30)
        return real_verify(self, hash, password)

    app = create_app(settings)
    with TestClient(app) as c:
        monkeypatch.setattr(argon2.PasswordHasher, "verify", slow_verify)
        results: dict[str, int] = {}
        login = threading.Thread(target=lambda: results.update(
            login=c.post("/api/auth/login", json={"email": "bob@test.kz", "password": "bob-secret-1"}).status_code))
        login.start()
        try:
            assert entered.wait(20), "the sign-in never reached the password check"
            student = threading.Thread(target=lambda: results.update(student=c.post(
                f"/api/student/exams/{world.practice_id}/attempts", headers=world.h("alice")).status_code))
            student.start()
            student.join(20)
            finished_first = not student.is_alive()
        finally:
            release.set()
            login.join(30)
        assert finished_first, "the student's write waited for the sign-in's password check"
        assert results["student"] == 201 and results["login"] == 200


def test_throttle_counts_parallel_tries() -> None:
    """Tries in flight count: a burst cannot slip past the limit before the first failure is recorded."""
    from server.security.throttle import SignInThrottle

    t = SignInThrottle(max_failures=3, address_max_failures=100)
    assert [t.begin("a@x", "1.2.3.4") is None for _ in range(4)] == [True, True, True, False]
    for _ in range(3):
        t.end("a@x", "1.2.3.4", ok=False)
    assert t.is_locked("a@x") and t.begin("a@x", "1.2.3.4").reason == "account_locked"
    assert t.unlock("a@x") and t.begin("a@x", "1.2.3.4") is None
