"""The staff pages (``/staff/``, ``/staff/college``, ``/staff/teacher``) and their static files.

The pages are plain HTML and ES modules that drive the REST API; this module only serves them, refusing a
signed-in caller whose role may not use the page (403, in the three languages). A caller who is not signed in
gets the page, which shows its sign-in form; the API decides every request the page then makes.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from server.api.deps import get_principal
from server.auth.principal import Principal
from server.domain.enums import Role
from server.services.errors import Unauthenticated

WEB = Path(__file__).resolve().parents[2] / "web_client" / "staff"
# page -> (file, roles that may open it)
PAGES: dict[str, tuple[str, tuple[Role, ...]]] = {
    "/staff/": ("index.html", (Role.college_admin, Role.teacher, Role.proctor)),
    "/staff/college": ("college.html", (Role.college_admin,)),
    "/staff/teacher": ("teacher.html", (Role.teacher, Role.college_admin)),
}
REFUSED = ("<!doctype html><html lang=en><meta charset=utf-8><title>403</title><h1>403</h1>"
           "<p>Your role may not open this page. / Бұл бетті ашуға рөліңіз рұқсат бермейді. / "
           "Ваша роль не позволяет открыть эту страницу.</p><p><a href=\"/staff/\">/staff/</a></p></html>")

pages = APIRouter(tags=["staff pages"])


def _caller(request: Request) -> Principal | None:
    with request.app.state.session_factory() as db, db.begin():
        try:
            return get_principal(request, db)
        except Unauthenticated:
            return None


def _serve(request: Request, path: str) -> Response:
    name, roles = PAGES[path]
    caller = _caller(request)
    if caller is not None and (caller.is_api_key or not caller.has_role(*roles)):
        return HTMLResponse(REFUSED, status_code=403)
    return FileResponse(WEB / name, media_type="text/html", headers={"Cache-Control": "no-cache"})


@pages.get("/staff", include_in_schema=False)
def staff_root() -> Response:
    return RedirectResponse("/staff/")


@pages.get("/staff/", include_in_schema=False)
def staff_home(request: Request) -> Response:
    return _serve(request, "/staff/")


@pages.get("/staff/college", include_in_schema=False)
def college_page(request: Request) -> Response:
    return _serve(request, "/staff/college")


@pages.get("/staff/teacher", include_in_schema=False)
def teacher_page(request: Request) -> Response:
    return _serve(request, "/staff/teacher")


def install_staff(app: FastAPI) -> None:
    """Add the staff pages and their assets (called from server.app)."""
    app.include_router(pages)
    app.mount("/staff/assets", StaticFiles(directory=WEB), name="staff-assets")
