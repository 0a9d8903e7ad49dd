"""Security headers on every HTTP answer: a Content-Security-Policy without inline script, nosniff, no framing,
no referrer, and HSTS when the public URL is https. An answer that sets its own CSP keeps it."""

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


class SecurityHeadersMiddleware:
    def __init__(self, app: Any, csp: str, hsts: bool = False):
        self.app = app
        self.csp = csp
        self.static = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                       (b"referrer-policy", b"no-referrer"), (b"cross-origin-opener-policy", b"same-origin"),
                       (b"permissions-policy", b"geolocation=(), payment=(), usb=()")]
        if hsts:
            self.static.append((b"strict-transport-security", b"max-age=31536000"))

    def csp_for(self, path: str) -> str:
        for pattern, csp in _PER_PATH:
            if pattern.fullmatch(path):
                return csp
        return self.csp

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = self.csp_for(scope.get("path", "")).encode()

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for k, v in [(b"content-security-policy", csp), *self.static]:
                    if k not in present:
                        headers.append((k, v))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
