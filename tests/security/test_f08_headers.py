"""Finding 8: no security headers and a cookie without Secure. Every answer (pages, API, errors) now carries a
CSP that forbids inline script and framing, nosniff, X-Frame-Options and Referrer-Policy; the pages have no
inline script, handlers or style attributes for the CSP to break; the cookie is Secure when the public URL is
https."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.auth.passwords import hash_password
from server.db.models import User

WEB = Path(__file__).resolve().parents[2] / "web_client"


def _directives(csp: str) -> dict[str, str]:
    return {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}


@pytest.mark.parametrize("path", ["/student/", "/review/", "/docs", "/openapi.json", "/api/auth/me", "/nope",
                                  "/healthz"])
def test_every_answer_has_the_headers(client, path) -> None:
    r = client.get(path)
    csp = _directives(r.headers["Content-Security-Policy"])
    script = csp.get("script-src") or csp["default-src"]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"


def test_pages_have_no_inline_script_or_style() -> None:
    pages = list(WEB.rglob("*.html"))
    assert pages
    for page in pages:
        html = page.read_text()
        for tag in re.findall(r"<script\b[^>]*>", html, re.I):
            assert "src=" in tag, (page, tag)
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), page
        assert not re.search(r"<style\b|\sstyle\s*=", html, re.I), page
    for js in WEB.rglob("*.js"):
        assert not re.search(r"setAttribute\(\s*['\"]style", js.read_text()), js


def test_docs_page_needs_no_inline_script(client) -> None:
    html = client.get("/docs").text
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))
    assert client.get("/docs-init.js").status_code == 200


def test_cookie_is_secure_when_the_public_url_is_https(settings, world) -> None:
    with world.factory() as db, db.begin():
        db.get(User, world.users["alice"]).password_hash = hash_password("alice-secret-1")
    app = create_app(settings.model_copy(update={"public_url": "https://lms.college.example"}))
    with TestClient(app) as c:
        r = c.post("/api/auth/login", json={"email": "alice@test.kz", "password": "alice-secret-1"})
        cookie = r.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        assert "max-age=31536000" in r.headers["Strict-Transport-Security"]
