"""Who may see and do what: sign-in with argon2 passwords, tokens and cookies, API keys (hashed, shown
once, revocable), and each role limited to what is theirs."""

from __future__ import annotations

from datetime import timedelta


from server.auth.passwords import hash_password, verify_password
from server.db.base import utcnow
from server.db.models import ApiKey, AuthToken, User

from .conftest import error_code
from .test_grading_and_reviews import submitted_attempt


def test_passwords_are_argon2_hashed() -> None:
    h = hash_password("correct horse")
    assert h.startswith("$argon2id$") and "correct horse" not in h
    assert verify_password(h, "correct horse") and not verify_password(h, "wrong horse")
    assert not verify_password(None, "anything")


def test_sign_in_token_cookie_and_sign_out(client, world) -> None:
    with world.factory() as db, db.begin():
        db.get(User, world.users["alice"]).password_hash = hash_password("alice-secret-1")
    r = client.post("/api/auth/login", json={"email": "alice@test.kz", "password": "wrong-password"})
    assert r.status_code == 401 and error_code(r) == "unauthorized"
    r = client.post("/api/auth/login", json={"email": "nobody@test.kz", "password": "alice-secret-1"})
    assert r.status_code == 401 and r.json()["error"]["message"] == "wrong e-mail or password"
    r = client.post("/api/auth/login", json={"email": "ALICE@test.kz", "password": "alice-secret-1"})
    assert r.status_code == 200 and r.json()["user"]["role"] == "student"
    token = r.json()["token"]
    with world.factory() as db:  # only the hash of the token is stored
        assert token not in {t.token_hash for t in db.query(AuthToken).all()}
    assert client.get("/api/auth/me").json()["email"] == "alice@test.kz"  # the cookie
    client.cookies.clear()
    H = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/auth/me", headers=H).status_code == 200
    assert client.post("/api/auth/logout", headers=H).status_code == 204
    r = client.get("/api/auth/me", headers=H)
    assert r.status_code == 401 and "signed out" in r.json()["error"]["message"]


def test_missing_bad_or_expired_credentials(client, world) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"},
                    {"X-API-Key": "pk_000000000000_nope"}):
        r = client.get("/api/student/attempts", headers=headers)
        assert r.status_code == 401 and error_code(r) == "unauthorized", headers
    with world.factory() as db, db.begin():
        for t in db.query(AuthToken).filter_by(user_id=world.users["alice"]):
            t.expires_at = utcnow() - timedelta(seconds=1)
    assert client.get("/api/student/attempts", headers=world.h("alice")).status_code == 401
    with world.factory() as db, db.begin():
        db.get(User, world.users["bob"]).is_active = False
    assert client.get("/api/student/attempts", headers=world.h("bob")).status_code == 401


def test_api_keys_are_shown_once_stored_hashed_and_revocable(client, world) -> None:
    r = client.post("/api/v1/api-keys", headers=world.h("admin"), json={"name": "moodle"})
    assert r.status_code == 201
    key = r.json()["key"]
    assert key.startswith("pk_")
    listed = client.get("/api/v1/api-keys", headers=world.h("admin")).json()
    assert all("key" not in k for k in listed) and key not in str(listed)
    with world.factory() as db:
        assert all(key not in (k.key_hash, k.prefix) for k in db.query(ApiKey).all())
    assert client.get("/api/v1/courses", headers={"X-API-Key": key}).status_code == 200
    assert client.delete(f"/api/v1/api-keys/{r.json()['id']}", headers=world.h("admin")).json()["revoked_at"]
    r = client.get("/api/v1/courses", headers={"X-API-Key": key})
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
    # keys are managed by a college admin in person, not by another key; other colleges' keys are not found
    assert client.post("/api/v1/api-keys", headers=world.h("api"), json={"name": "x"}).status_code == 403
    other = client.get("/api/v1/api-keys", headers=world.h("other_admin")).json()
    assert client.delete(f"/api/v1/api-keys/{other[0]['id']}", headers=world.h("admin")).status_code == 404


ROLE_GATES = [
    # students: no college API, no proctor or teacher pages
    ("alice", "/api/v1/courses", 403), ("alice", "/api/proctor/sessions", 403), ("alice", "/api/teacher/courses", 403),
    ("alice", "/api/v1/footprint/summary?course_id=1", 403),
    # proctors and teachers: not the student pages nor the college API
    ("proctor", "/api/student/attempts", 403), ("proctor", "/api/v1/attempts", 403),
    ("teacher", "/api/proctor/sessions", 403), ("teacher", "/api/student/exams", 403),
    # the college admin and API keys: the college API
    ("admin", "/api/v1/attempts", 200), ("api", "/api/v1/attempts", 200), ("admin", "/api/proctor/sessions", 200),
    ("api", "/api/proctor/sessions", 403), ("api", "/api/student/exams", 403),
]


def test_role_gates(client, world) -> None:
    for who, path, status in ROLE_GATES:
        r = client.get(path, headers=world.h(who))
        assert r.status_code == status, (who, path, r.text)
        if status == 403:
            assert error_code(r) == "forbidden"


def test_each_role_sees_only_what_is_theirs(client, world) -> None:
    aid = submitted_attempt(client, world, "alice")
    bob = client.post(f"/api/student/exams/{world.practice_id}/attempts", headers=world.h("bob")).json()["id"]
    other = client.post(f"/api/student/exams/{world.exam_id}/attempts", headers=world.h("other_student"))
    assert other.status_code == 404  # an exam of another college's course

    # a student: only their own attempts
    assert [a["id"] for a in client.get("/api/student/attempts", headers=world.h("alice")).json()] == [aid]
    for path in (f"/api/student/attempts/{bob}", f"/api/student/attempts/{bob}/questions"):
        r = client.get(path, headers=world.h("alice"))
        assert r.status_code == 404 and error_code(r) == "not_found"
    assert client.post(f"/api/student/attempts/{bob}/submit", headers=world.h("alice")).status_code == 404

    # a proctor: only their college's sessions
    sessions = client.get("/api/proctor/sessions", headers=world.h("proctor")).json()
    assert [s["attempt"]["id"] for s in sessions] == [aid]
    sid = sessions[0]["id"]
    assert client.get("/api/proctor/sessions", headers=world.h("other_proctor")).json() == []
    assert client.get(f"/api/proctor/sessions/{sid}", headers=world.h("other_proctor")).status_code == 404
    r = client.post(f"/api/proctor/attempts/{aid}/review", headers=world.h("other_proctor"), json={"decision": "verify"})
    assert r.status_code == 404
    assert client.get(f"/api/proctor/sessions/{sid}", headers=world.h("proctor")).json()["chain"]["ok"] is True

    # a college (API key): only its own attempts, exams and people
    assert [a["id"] for a in client.get("/api/v1/attempts", headers=world.h("api")).json()] == [aid, bob]
    assert client.get("/api/v1/attempts", headers=world.h("other_api")).json() == []
    assert client.get(f"/api/v1/attempts/{aid}", headers=world.h("other_api")).status_code == 404
    assert client.get(f"/api/v1/exams/{world.exam_id}", headers=world.h("other_api")).status_code == 404
    assert client.get(f"/api/v1/users/{world.users['alice']}", headers=world.h("other_api")).status_code == 404
    r = client.post("/api/v1/enrolments", headers=world.h("other_api"),
                    json={"course_id": world.other_course_id, "student_id": world.users["alice"]})
    assert r.status_code == 404

    # a teacher: only the courses they teach
    assert [c["id"] for c in client.get("/api/teacher/courses", headers=world.h("teacher")).json()] == [world.course_id]
    assert client.get("/api/teacher/courses", headers=world.h("teacher2")).json() == []
    assert client.get(f"/api/teacher/attempts?exam_id={world.exam_id}", headers=world.h("teacher2")).status_code == 404
    assert len(client.get(f"/api/teacher/attempts?exam_id={world.exam_id}", headers=world.h("teacher")).json()) == 1
