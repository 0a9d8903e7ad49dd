"""The staff pages (``/staff/``, ``/staff/college``, ``/staff/teacher``) and their static files.

The pages are plain HTML and ES modules that drive the REST API; this module only serves them, refusing a
signed-in caller whose role may not use the page (403, in the three languages). A caller who is not signed in
gets the page, which shows its sign-in form; the API decides every request the page then makes.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from server.domain.enums import Role
from server.pages import page_or_refusal

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


def _serve(request: Request, path: str) -> Response:
    name, roles = PAGES[path]
    return page_or_refusal(request, WEB / name, roles, REFUSED, headers={"Cache-Control": "no-cache"})


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
