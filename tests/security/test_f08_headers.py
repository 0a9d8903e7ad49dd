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


def test_lti_pages_may_be_framed_by_the_lms_and_post_back_to_it(client) -> None:
    """An LMS shows the tool in a frame and the launch pages post forms to the LMS: /lti/ answers keep the CSP
    without inline script but with no frame-ancestors / X-Frame-Options, and forms may go to https."""
    for path in ("/lti/jwks", "/lti/autopost.js", "/lti/nope"):
        r = client.get(path)
        csp = _directives(r.headers["Content-Security-Policy"])
        script = csp.get("script-src") or csp["default-src"]
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
        assert "frame-ancestors" not in csp and "X-Frame-Options" not in r.headers
        assert "https:" in csp["form-action"].split()
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/lti/autopost.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/student/").headers["X-Frame-Options"] == "DENY"


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


def test_the_pages_run_under_the_csp_in_a_browser(tmp_path) -> None:
    """Chromium loads the student page, the review page (signed in) and the API docs with the CSP enforced and
    reports no violation."""
    import os
    import socket
    import threading
    import time

    import uvicorn

    chromium = os.environ.get("PROCTOR_CHROMIUM", "/usr/bin/chromium")
    if not (Path(chromium).is_file() and os.access(chromium, os.X_OK)):
        pytest.fail(f"Chromium is not at {chromium}: apt-get install -y chromium, or set PROCTOR_CHROMIUM")
    from playwright.sync_api import sync_playwright

    from server.settings import ServerSettings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = ServerSettings(data_dir=tmp_path / "d", webhooks_enabled=False, live_workers=1, log_level="WARNING",
                              host="127.0.0.1", port=port, seed_demo=True, demo_passwords={"proctor": "proctor-pass-1"})
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not srv.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        violations: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            try:
                page = browser.new_context().new_page()
                page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
                for path in ("/student/", "/docs"):
                    page.goto(base + path, wait_until="networkidle")
                page.goto(base + "/review/", wait_until="networkidle")
                page.wait_for_selector("#signin:not([hidden])")
                page.fill("#email", "proctor@demo.college")
                page.fill("#password", "proctor-pass-1")
                page.click("#signin-btn")
                page.wait_for_selector("#main:not([hidden])", timeout=20000)
                page.wait_for_load_state("networkidle")
                assert page.locator("#swagger-ui").count() == 0  # (on the review page now)
                page.goto(base + "/docs", wait_until="networkidle")
                # Swagger UI ran from its files (it renders, though its version 4 cannot show OpenAPI 3.1)
                page.wait_for_selector("#swagger-ui .swagger-ui", timeout=20000)
            finally:
                browser.close()
        assert violations == []
    finally:
        srv.should_exit = True
        thread.join(30)
