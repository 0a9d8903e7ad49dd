"""CSRF: a state-changing request (POST, PUT, PATCH, DELETE) that would be authenticated by the session cookie
must come from the server's own origin. A browser always sends ``Origin`` on cross-origin posts (form posts
included, ``null`` from sandboxed or privacy-redirected pages), so the check is: ``Origin`` (else ``Referer``)
present and equal to the public URL's origin, the request's own ``Host`` origin, or a configured trusted origin.

The LTI login and launch (``/lti/login``, ``/lti/launch``) are exempt: LMSs post them cross-site by design,
and what decides them is the platform's signed token, not the cookie.

Requests with an ``Authorization`` or ``X-API-Key`` header are not cookie-authenticated (the cookie is ignored for
them, see server.api.deps.get_principal) and a cross-site page cannot set those headers, so they pass.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
# a sign-in is decided by the password, never by the cookie; the LTI login and launch are cross-site form posts
# from the LMS by design (OIDC form_post), decided by the platform's signed id_token and the single-use state
NOT_COOKIE_AUTHENTICATED = {"/api/auth/login", "/lti/login", "/lti/launch"}


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` in lower case, default ports dropped; None for 'null' or anything unparsable."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def allowed(method: str, headers: dict[str, str], cookie_name: str, trusted: set[str], scheme: str,
            path: str = "") -> bool:
    """Whether a request may go on (pure: the middleware passes the request's headers, lower-case names)."""
    if method.upper() in SAFE_METHODS or path in NOT_COOKIE_AUTHENTICATED:
        return True
    if "authorization" in headers or "x-api-key" in headers:
        return True
    if not _has_cookie(headers.get("cookie", ""), cookie_name):
        return True
    source = headers.get("origin") or headers.get("referer")
    if not source:
        return False
    origin = origin_of(source)
    if origin is None:
        return False
    own = origin_of(f"{scheme}://{headers['host']}") if headers.get("host") else None
    return origin in trusted or origin == own


def _has_cookie(cookie_header: str, name: str) -> bool:
    for part in cookie_header.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name and v:
            return True
    return False


class CsrfMiddleware:
    def __init__(self, app: Any, cookie_name: str, trusted_origins: list[str]):
        self.app = app
        self.cookie_name = cookie_name
        self.trusted = {o for o in (origin_of(u) for u in trusted_origins) if o}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if allowed(scope.get("method", "GET"), headers, self.cookie_name, self.trusted, scope.get("scheme", "http"),
                   scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": {"code": "csrf_origin", "message": "a signed-in change must come from this "
                                     "site's own pages (the Origin header is missing or foreign)"}}).encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
