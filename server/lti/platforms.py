"""The college's LMS platforms, the operations behind the college's LTI API (``server.lti.admin``): platform
registrations (one per platform: issuer + client id) and their deployments, the LMS courses linked to ours and
their roster sync, and the log of what was sent back to the LMSs. Refusals are domain errors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.principal import Principal
from server.db.models import LtiContext, LtiDeployment, LtiRegistration, LtiServiceCall
from server.lti import roster
from server.lti.errors import LmsUnavailable
from server.services.errors import Conflict, Invalid, NotFound
from server.services.integrations import url_problem

URL_FIELDS = ("auth_login_url", "auth_token_url", "key_set_url")


def check_url(url: str, field: str, allow_private: bool) -> None:
    """A platform URL the tool calls: http(s) with a host; unless ``allow_private``, public https only."""
    problem = url_problem(url, allow_private)
    if problem == "not_http":
        raise Invalid(f"{field} must be an http(s) URL",
                      [{"field": f"body.{field}", "message": "must be https://host/..."}])
    if problem == "not_public":
        raise Invalid(f"{field} must be a public https URL",
                      [{"field": f"body.{field}", "message": "private, loopback or plain-http URLs are refused"}])


def registration(db: Session, caller: Principal, reg_id: int) -> LtiRegistration:
    """A registration of the caller's college (another college's answers as unknown)."""
    r = db.get(LtiRegistration, reg_id)
    if r is None or r.college_id != caller.college_id:
        raise NotFound.of("LTI registration", reg_id)
    return r


def register(db: Session, caller: Principal, fields: dict[str, Any], deployment_ids: list[str], *,
             allow_private: bool) -> LtiRegistration:
    """A new registration of the caller's college (``fields``: its columns) with its deployments."""
    for f in URL_FIELDS:
        check_url(fields[f], f, allow_private)
    other = db.execute(select(LtiRegistration).where(LtiRegistration.issuer == fields["issuer"],
                                                     LtiRegistration.client_id == fields["client_id"])
                       ).scalar_one_or_none()
    if other is not None:
        raise Conflict("this platform (issuer and client id) is registered already", {"registration_id": other.id}
                       if other.college_id == caller.college_id else None)
    r = LtiRegistration(college_id=caller.college_id, **fields)
    r.deployments = [LtiDeployment(deployment_id=d) for d in dict.fromkeys(deployment_ids)]
    db.add(r)
    db.flush()
    return r


def registrations_of_college(db: Session, college_id: int) -> list[LtiRegistration]:
    return list(db.execute(select(LtiRegistration).where(LtiRegistration.college_id == college_id)
                           .order_by(LtiRegistration.id)).scalars())


def update(db: Session, r: LtiRegistration, changes: dict[str, Any], *, allow_private: bool) -> LtiRegistration:
    for f, v in changes.items():
        if f.endswith("_url") and v is not None:
            check_url(v, f, allow_private)
        setattr(r, f, v)
    db.flush()
    return r


def add_deployment(db: Session, r: LtiRegistration, deployment_id: str) -> LtiRegistration:
    if any(d.deployment_id == deployment_id for d in r.deployments):
        raise Conflict(f"deployment {deployment_id} is registered already")
    r.deployments.append(LtiDeployment(deployment_id=deployment_id))
    db.flush()
    return r


def disable_deployment(db: Session, r: LtiRegistration, deployment_row_id: int) -> LtiRegistration:
    for d in r.deployments:
        if d.id == deployment_row_id:
            d.is_active = False
            db.flush()
            return r
    raise NotFound.of("deployment", deployment_row_id)


def contexts_of_college(db: Session, college_id: int) -> list[LtiContext]:
    return list(db.execute(select(LtiContext).join(LtiRegistration, LtiRegistration.id == LtiContext.registration_id)
                           .where(LtiRegistration.college_id == college_id).order_by(LtiContext.id)).scalars())


def sync_roster(db: Session, caller: Principal, settings: Any, context_row_id: int) -> roster.SyncResult:
    """Read the LMS course's roster (Names and Role Provisioning) into the course's enrolments."""
    ctx = db.get(LtiContext, context_row_id)
    if ctx is None:
        raise NotFound.of("LTI context", context_row_id)
    registration(db, caller, ctx.registration_id)
    try:
        return roster.sync(db, settings, ctx)
    except Conflict:
        raise
    except ValueError as exc:
        raise Conflict(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - the platform's answer
        raise LmsUnavailable(f"the LMS roster could not be read: {exc}"[:500]) from exc


def service_calls(db: Session, college_id: int, attempt_id: int | None = None, limit: int = 100
                  ) -> list[LtiServiceCall]:
    """What was sent (or is queued) to the college's LMSs, newest first."""
    q = (select(LtiServiceCall).join(LtiRegistration, LtiRegistration.id == LtiServiceCall.registration_id)
         .where(LtiRegistration.college_id == college_id))
    if attempt_id is not None:
        q = q.where(LtiServiceCall.attempt_id == attempt_id)
    return list(db.execute(q.order_by(LtiServiceCall.id.desc()).limit(limit)).scalars())
