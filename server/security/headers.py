"""Security headers on every HTTP answer: a Content-Security-Policy without inline script, nosniff, no framing,
no referrer, and HSTS when the public URL is https. An answer that sets its own CSP keeps it.

The LTI pages (``/lti/``) are the exception on framing: an LMS shows the tool in a frame of its own pages and its
launch pages post forms back to the LMS, so there they carry the site's CSP without ``frame-ancestors`` and with
``form-action`` open to https (http too where private LMS platforms are allowed, i.e. tests), and no
``X-Frame-Options``."""

from __future__ import annotations

import re
from typing import Any

# pages whose HTML needs inline styles (never inline scripts): the API docs (Swagger UI) and the self-contained
# session export (inline <style>, data: images, no script at all)
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
EXPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; media-src data:; frame-ancestors 'none'; "
              "base-uri 'none'; form-action 'none'")
_PER_PATH = [(re.compile(r"/docs"), DOCS_CSP), (re.compile(r"/api/review/sessions/[^/]+/export\.html"), EXPORT_CSP)]
FRAMEABLE = re.compile(r"/lti/.*")


def lti_policy(csp: str, allow_http_forms: bool = False) -> str:
    """The site's CSP for the LTI pages: any framing ancestor (the LMS), forms posted to the LMS."""
    kept = [d.strip() for d in csp.split(";")
            if d.strip() and d.split()[0].lower() not in ("frame-ancestors", "form-action")]
    return "; ".join([*kept, "form-action 'self' https:" + (" http:" if allow_http_forms else "")])


class SecurityHeadersMiddleware:
    def __init__(self, app: Any, csp: str, hsts: bool = False, lti_csp: str | None = None):
        self.app = app
        self.csp = csp
        self.lti_csp = lti_csp or lti_policy(csp)
        self.static = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                       (b"referrer-policy", b"no-referrer"), (b"cross-origin-opener-policy", b"same-origin"),
                       (b"permissions-policy", b"geolocation=(), payment=(), usb=()")]
        if hsts:
            self.static.append((b"strict-transport-security", b"max-age=31536000"))

    def csp_for(self, path: str) -> str:
        for pattern, csp in _PER_PATH:
            if pattern.fullmatch(path):
                return csp
        return self.lti_csp if FRAMEABLE.fullmatch(path) else self.csp

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        csp = self.csp_for(path).encode()
        static = [h for h in self.static if h[0] != b"x-frame-options"] if FRAMEABLE.fullmatch(path) else self.static

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for k, v in [(b"content-security-policy", csp), *static]:
                    if k not in present:
                        headers.append((k, v))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
