"""Names and Role Provisioning: the LMS course's members become the course's students and teachers here
(PyLTI1p3's NamesRolesProvisioningService reads the roster, page by page, with a token signed by the tool)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pylti1p3.names_roles import NamesRolesProvisioningService
from sqlalchemy.orm import Session

from server.db.base import utcnow
from server.db.models import LtiContext, LtiRegistration
from server.lti import claims as C
from server.lti.adapter import NoCacheServiceConnector, TimeoutSession, lti_registration
from server.lti.keys import KeyPolicy, signing_key
from server.lti.launch import enrol, person
from server.services.errors import Conflict

log = logging.getLogger("server.lti")


@dataclass(frozen=True)
class SyncResult:
    members: int
    students: int
    staff: int
    skipped: int

    def to_dict(self) -> dict[str, int]:
        return {"members": self.members, "students": self.students, "staff": self.staff, "skipped": self.skipped}


def fetch_members(db: Session, settings: Any, reg: LtiRegistration, url: str) -> list[dict[str, Any]]:
    key = signing_key(db, KeyPolicy.from_settings(settings))
    http = TimeoutSession(settings.lti_http_timeout_s)
    try:
        connector = NoCacheServiceConnector(lti_registration(reg, key), http)
        service = NamesRolesProvisioningService(connector, {"context_memberships_url": url})  # type: ignore[typeddict-item]
        return list(service.get_members())
    finally:
        http.close()


def apply_members(db: Session, reg: LtiRegistration, ctx: LtiContext, members: list[dict[str, Any]]) -> SyncResult:
    students = staff = skipped = 0
    for m in members:
        sub = m.get("user_id")
        if not sub or (m.get("status") or "Active") != "Active":
            skipped += 1
            continue
        is_staff = C.is_instructor(m.get("roles"))
        if not is_staff and not C.is_learner(m.get("roles")):
            skipped += 1
            continue
        name = m.get("name") or " ".join(x for x in (m.get("given_name"), m.get("family_name")) if x) or None
        user = person(db, reg, str(sub), name=name, email=m.get("email"), staff=is_staff)
        enrol(db, ctx.course_id, user, is_staff)
        staff += is_staff
        students += not is_staff
    ctx.synced_at = utcnow()
    db.flush()
    return SyncResult(len(members), students, staff, skipped)


def sync(db: Session, settings: Any, ctx: LtiContext) -> SyncResult:
    if not ctx.memberships_url:
        raise Conflict("the LMS gave no roster (Names and Role Provisioning) URL for this course")
    reg = db.get(LtiRegistration, ctx.registration_id)
    members = fetch_members(db, settings, reg, ctx.memberships_url)
    result = apply_members(db, reg, ctx, members)
    log.info("lti roster synced", extra={"context_id": ctx.id, **result.to_dict()})
    return result
