"""API key scopes and what no key may do.

A key carries scopes ``<area>:read`` / ``<area>:write``; a college-API route needs the scope of its area (from
its path) and kind (GET/HEAD read, anything else write). Whatever its scopes, no key may create, change or
disable a college admin, nor set anyone's password: those stay with a college admin in person, so a leaked key
cannot make itself a human admin (who could mint more keys) or take over an account.
"""

from __future__ import annotations

from typing import Literal

from server.auth.principal import Principal
from server.auth.scopes import ALL_SCOPES
from server.domain.enums import Role
from server.services.errors import Forbidden

# the first path segment under /api/v1 -> its area (a route under no known area needs a scope no key has)
_AREA_OF = {"users": "people", "enrolments": "people", "programmes": "curriculum", "courses": "curriculum",
            "classes": "curriculum", "materials": "curriculum", "tasks": "curriculum", "exams": "exams",
            "attempts": "exams", "webhooks": "webhooks", "footprint": "footprint", "surveys": "surveys",
            "plan-check": "curriculum", "lti": "lti", "privacy": "privacy",
            "students": "people"}  # a student's reference photos


def required_scope(method: str, path_template: str) -> str:
    """The scope a key needs for ``method`` on a route (its path template, e.g. ``/api/v1/users/{user_id}``)."""
    parts = [p for p in path_template.split("/") if p]
    area = None
    if parts[:2] == ["api", "v1"] and len(parts) > 2:
        area = _AREA_OF.get(parts[2])
        if parts[2] == "courses" and len(parts) > 4 and parts[4] == "teachers":
            area = "people"
    kind = "read" if method.upper() in ("GET", "HEAD") else "write"
    return f"{area or 'unscoped'}:{kind}"


def check_key_scope(principal: Principal, method: str, path_template: str) -> None:
    if not principal.is_api_key:
        return
    need = required_scope(method, path_template)
    if need not in (principal.scopes or ()):
        raise Forbidden(f"this API key lacks the scope {need}", {"scope": need})


def check_key_may_manage(principal: Principal, target_role: str | None, sets_password: bool) -> None:
    """Forbidden when an API key would create/change a college admin or set a password."""
    if not principal.is_api_key:
        return
    if target_role == Role.college_admin.value:
        raise Forbidden("API keys cannot create or change college admins; a college admin does it in person")
    if sets_password:
        raise Forbidden("API keys cannot set passwords; a college admin does it in person")


Scope = Literal[ALL_SCOPES]  # type: ignore[valid-type]
