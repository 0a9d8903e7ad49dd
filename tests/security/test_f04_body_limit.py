"""Finding 4: no body limit outside /api/live. Every route now answers 413 past ``max_body_bytes`` (default
1 MiB), whether the size is declared or streamed without Content-Length, before any endpoint parses it."""

from __future__ import annotations

from server.settings import ServerSettings


def test_default_limit_is_small() -> None:
    assert ServerSettings().max_body_bytes <= 1_048_576


def test_large_json_to_sign_in_is_refused(client) -> None:
    big = b'{"email": "a@b.c", "password": "' + b"x" * 2_000_000 + b'"}'
    r = client.post("/api/auth/login", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"


def test_streamed_body_without_length_is_cut(client, world) -> None:
    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    r = client.post("/api/v1/users", content=chunks(), headers={**world.h("admin"), "Content-Type": "application/json"})
    assert r.status_code == 413
    r = client.post("/api/auth/login", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_small_bodies_still_work(client, world) -> None:
    r = client.post("/api/v1/users", headers=world.h("admin"), json={"email": "new@test.kz", "full_name": "New"})
    assert r.status_code == 201
