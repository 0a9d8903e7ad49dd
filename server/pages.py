"""What the server's own HTML pages (staff, review) share: who is asking (nobody signed in is fine: the page shows
its sign-in form), and the page's file, or a refusal for a signed-in caller whose role may not use it."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from server.api.deps import get_principal
from server.auth.principal import Principal
from server.services.errors import Unauthenticated


def page_caller(request: Request) -> Principal | None:
    """The signed-in caller, or None when nobody is signed in."""
    with request.app.state.session_factory() as db, db.begin():
        try:
            return get_principal(request, db)
        except Unauthenticated:
            return None


def page_or_refusal(request: Request, page: Path, roles: tuple, refused_html: str,
                    headers: dict[str, str] | None = None) -> Response:
    """The page's file, unless the caller is an API key or a person whose role is not one of ``roles`` (403)."""
    caller = page_caller(request)
    if caller is not None and (caller.is_api_key or not caller.has_role(*roles)):
        return HTMLResponse(refused_html, status_code=403)
    return FileResponse(page, media_type="text/html", headers=headers)
