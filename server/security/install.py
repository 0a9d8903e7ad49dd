"""Wiring the security guards into the app: middleware (security headers outermost, then the body limit, then
the CSRF origin check), the sign-in throttle and argon2 gate on ``app.state``, and owner-only file modes."""

from __future__ import annotations

import html
import os
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from proctor.settings import MAX_ENROL_PHOTOS
from server.security.body_limit import BodyLimitMiddleware
from server.security.csrf import CsrfMiddleware
from server.security.headers import SecurityHeadersMiddleware, lti_policy
from server.security.throttle import SignInThrottle
from server.settings import ServerSettings

ENROLMENT_PATH = r"/api/live/sessions/[^/]+/enrolment"


def install_security(app: FastAPI, settings: ServerSettings) -> None:
    from server.auth.signin import _HashGate

    app.state.signin_throttle = SignInThrottle(
        max_failures=settings.signin_max_failures, lockout_s=settings.signin_lockout_s,
        address_max_failures=settings.signin_address_max_failures, window_s=settings.signin_window_s)
    app.state.signin_hash_gate = _HashGate(settings.signin_hash_concurrency)
    install_out_of_range(app)
    trusted = [settings.resolved_public_url(), *settings.csrf_trusted_origins]
    app.add_middleware(CsrfMiddleware, cookie_name=settings.cookie_name, trusted_origins=trusted)
    photos_limit = settings.live_max_photo_bytes * MAX_ENROL_PHOTOS + 65536  # multipart overhead
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes,
                       overrides=[(ENROLMENT_PATH, max(photos_limit, settings.max_body_bytes))])
    app.add_middleware(SecurityHeadersMiddleware, csp=settings.content_security_policy,
                       hsts=settings.resolved_public_url().lower().startswith("https://"),
                       lti_csp=lti_policy(settings.content_security_policy, settings.lti_allow_private_platforms))


def _is_out_of_range(exc: BaseException) -> bool:
    """An id too large for the database's integers (SQLite: OverflowError, PostgreSQL: numeric out of range)."""
    if isinstance(exc, OverflowError):
        return "too large to convert" in str(exc)
    orig = getattr(exc, "orig", None)
    return type(orig).__name__ == "NumericValueOutOfRange"


def install_out_of_range(app: FastAPI) -> None:
    """Ids beyond 64 bits name nothing that exists: 404, not a 500."""
    from fastapi import Request
    from fastapi.responses import JSONResponse
    from sqlalchemy.exc import DataError

    from server.api.errors import body

    async def _out_of_range(_req: Request, exc: Exception) -> JSONResponse:
        if not _is_out_of_range(exc):
            raise exc
        return JSONResponse(body("not_found", "no such object (the id is out of range)"), status_code=404)

    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)


def protect_files(settings: ServerSettings) -> None:
    """Owner-only modes on what the server keeps: the data directory, the SQLite database (and its WAL/SHM
    files), the secret key, the recordings directory."""
    data = settings.ensure_data_dir()
    targets: list[tuple[Any, int]] = [(data / "secret_key", 0o600), (settings.recordings_dir, 0o700)]
    url = settings.resolved_database_url()
    if url.startswith("sqlite:///"):
        db = url[len("sqlite:///"):]
        targets += [(db, 0o600), (db + "-wal", 0o600), (db + "-shm", 0o600)]
    for path, mode in targets:
        try:
            if os.path.exists(path):
                os.chmod(path, mode)
        except OSError:  # not ours to change (e.g. a mounted volume): the umask still holds for new files
            pass


DOCS_INIT_JS = """window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset], layout: "BaseLayout",
  deepLinking: true, showExtensions: true, showCommonExtensions: true});
"""


def docs_page(title: str) -> HTMLResponse:
    """The Swagger UI page with no inline script (its set-up is /docs-init.js), so the CSP can forbid them."""
    return HTMLResponse(f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}: API docs</title>
<link rel="stylesheet" href="/docs-assets/swagger-ui.css"></head><body><div id="swagger-ui"></div>
<script src="/docs-assets/swagger-ui-bundle.js"></script><script src="/docs-init.js"></script></body></html>""")
