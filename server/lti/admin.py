"""College API for LTI 1.3: the values to paste into the LMS, the college's platform registrations and their
deployments (one registration per platform: issuer + client id; one row per deployment), the roster sync, and
the log of what was sent back to the LMS (grades, proctoring controls)."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import DB, CollegeActor, Settings
from server.api.errors import ApiError, conflict, not_found
from server.db.models import LtiContext, LtiDeployment, LtiRegistration, LtiServiceCall
from server.lti import claims as C
from server.lti.keys import KeyPolicy, jwks, signing_key

router = APIRouter(prefix="/api/v1/lti", tags=["college: LTI 1.3 (LMS)"])

PLATFORMS = ("moodle", "canvas", "openedx", "blackboard", "d2l", "other")


class ToolConfigOut(BaseModel):
    tool_url: str = Field(description="Tool URL / target link URI")
    login_url: str = Field(description="Initiate login URL (OIDC login initiation)")
    redirect_urls: list[str] = Field(description="Redirection URI(s)")
    jwks_url: str = Field(description="Public keyset URL")
    deep_linking_url: str = Field(description="Content selection (Deep Linking) URL")
    public_jwks: dict[str, Any] = Field(description="The public keys, for an LMS that wants a key pasted")
    scopes: list[str] = Field(description="Services the tool uses")
    custom_parameters: str = Field(description="Custom parameters (none needed: Deep Linking sets them)")
    messages: list[str]


class RegistrationIn(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    platform: str = Field(default="other", pattern="^(" + "|".join(PLATFORMS) + ")$")
    issuer: str = Field(min_length=1, max_length=512, description="Platform ID (iss)")
    client_id: str = Field(min_length=1, max_length=255)
    auth_login_url: str = Field(min_length=8, max_length=1024, description="Authentication request URL")
    auth_token_url: str = Field(min_length=8, max_length=1024, description="Access token URL")
    key_set_url: str = Field(min_length=8, max_length=1024, description="Public keyset URL of the platform")
    auth_audience: str | None = Field(default=None, max_length=1024)
    deployment_ids: list[str] = Field(default_factory=list, max_length=100)


class RegistrationPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    auth_login_url: str | None = Field(default=None, min_length=8, max_length=1024)
    auth_token_url: str | None = Field(default=None, min_length=8, max_length=1024)
    key_set_url: str | None = Field(default=None, min_length=8, max_length=1024)
    auth_audience: str | None = Field(default=None, max_length=1024)
    is_active: bool | None = None


class DeploymentIn(BaseModel):
    deployment_id: str = Field(min_length=1, max_length=255)


class DeploymentOut(BaseModel):
    id: int
    deployment_id: str
    is_active: bool
    created_at: datetime


class RegistrationOut(BaseModel):
    id: int
    name: str
    platform: str
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    auth_audience: str | None
    is_active: bool
    created_at: datetime
    deployments: list[DeploymentOut]


class ServiceCallOut(BaseModel):
    id: int
    kind: str
    attempt_id: int | None
    url: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    log: list[dict[str, Any]]


class SyncOut(BaseModel):
    members: int
    students: int
    staff: int
    skipped: int


class ContextOut(BaseModel):
    id: int
    registration_id: int
    deployment_id: str
    context_id: str
    title: str | None
    course_id: int
    has_roster: bool
    synced_at: datetime | None


def _check_url(url: str, field: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(422, "validation_error", f"{field} must be an http(s) URL",
                       [{"field": f"body.{field}", "message": "must be https://host/..."}])
    if allow_private:
        return
    host = parts.hostname
    try:
        ip = ipaddress.ip_address(host)
        private = ip.is_private or ip.is_loopback or ip.is_link_local
    except ValueError:
        private = host == "localhost" or host.endswith(".localhost")
    if private or parts.scheme != "https":
        raise ApiError(422, "validation_error", f"{field} must be a public https URL",
                       [{"field": f"body.{field}", "message": "private, loopback or plain-http URLs are refused"}])


def reg_out(r: LtiRegistration) -> RegistrationOut:
    return RegistrationOut(
        id=r.id, name=r.name, platform=r.platform, issuer=r.issuer, client_id=r.client_id,
        auth_login_url=r.auth_login_url, auth_token_url=r.auth_token_url, key_set_url=r.key_set_url,
        auth_audience=r.auth_audience, is_active=r.is_active, created_at=r.created_at,
        deployments=[DeploymentOut(id=d.id, deployment_id=d.deployment_id, is_active=d.is_active,
                                   created_at=d.created_at) for d in r.deployments])


def _own(db: DB, caller: Any, reg_id: int) -> LtiRegistration:
    r = db.get(LtiRegistration, reg_id)
    if r is None or r.college_id != caller.college_id:
        raise not_found("LTI registration", reg_id)
    return r


@router.get("/tool", response_model=ToolConfigOut, summary="The values to paste into the LMS's tool settings")
def tool_config(db: DB, caller: CollegeActor, settings: Settings) -> ToolConfigOut:
    base = settings.resolved_public_url()
    signing_key(db, KeyPolicy.from_settings(settings))
    return ToolConfigOut(
        tool_url=f"{base}/lti/launch", login_url=f"{base}/lti/login", redirect_urls=[f"{base}/lti/launch"],
        jwks_url=f"{base}/lti/jwks", deep_linking_url=f"{base}/lti/launch", public_jwks=jwks(db),
        scopes=[C.SCOPE_LINEITEM, C.SCOPE_SCORE, C.SCOPE_NRPS, C.SCOPE_ACS], custom_parameters="",
        messages=[C.RESOURCE_LINK_REQUEST, C.DEEP_LINKING_REQUEST, C.START_PROCTORING, C.END_ASSESSMENT])


@router.post("/registrations", response_model=RegistrationOut, status_code=201,
             summary="Register an LMS (platform) with its deployments")
def create_registration(body: RegistrationIn, db: DB, caller: CollegeActor, settings: Settings) -> RegistrationOut:
    for f in ("auth_login_url", "auth_token_url", "key_set_url"):
        _check_url(getattr(body, f), f, settings.lti_allow_private_platforms)
    other = db.execute(select(LtiRegistration).where(LtiRegistration.issuer == body.issuer,
                                                     LtiRegistration.client_id == body.client_id)).scalar_one_or_none()
    if other is not None:
        raise conflict("this platform (issuer and client id) is registered already", {"registration_id": other.id}
                       if other.college_id == caller.college_id else None)
    r = LtiRegistration(college_id=caller.college_id, name=body.name, platform=body.platform, issuer=body.issuer,
                        client_id=body.client_id, auth_login_url=body.auth_login_url,
                        auth_token_url=body.auth_token_url, key_set_url=body.key_set_url,
                        auth_audience=body.auth_audience)
    r.deployments = [LtiDeployment(deployment_id=d) for d in dict.fromkeys(body.deployment_ids)]
    db.add(r)
    db.flush()
    return reg_out(r)


@router.get("/registrations", response_model=list[RegistrationOut], summary="The college's LMS registrations")
def list_registrations(db: DB, caller: CollegeActor) -> list[RegistrationOut]:
    rows = db.execute(select(LtiRegistration).where(LtiRegistration.college_id == caller.college_id)
                      .order_by(LtiRegistration.id)).scalars()
    return [reg_out(r) for r in rows]


@router.get("/registrations/{reg_id}", response_model=RegistrationOut, summary="One LMS registration")
def get_registration(reg_id: int, db: DB, caller: CollegeActor) -> RegistrationOut:
    return reg_out(_own(db, caller, reg_id))


@router.patch("/registrations/{reg_id}", response_model=RegistrationOut, summary="Change or disable a registration")
def patch_registration(reg_id: int, body: RegistrationPatch, db: DB, caller: CollegeActor,
                       settings: Settings) -> RegistrationOut:
    r = _own(db, caller, reg_id)
    for f, v in body.model_dump(exclude_unset=True).items():
        if f.endswith("_url") and v is not None:
            _check_url(v, f, settings.lti_allow_private_platforms)
        setattr(r, f, v)
    db.flush()
    return reg_out(r)


@router.delete("/registrations/{reg_id}", status_code=204, summary="Disable a registration (launches are refused)")
def disable_registration(reg_id: int, db: DB, caller: CollegeActor) -> Response:
    _own(db, caller, reg_id).is_active = False
    return Response(status_code=204)


@router.post("/registrations/{reg_id}/deployments", response_model=RegistrationOut, status_code=201,
             summary="Add a deployment id of the platform")
def add_deployment(reg_id: int, body: DeploymentIn, db: DB, caller: CollegeActor) -> RegistrationOut:
    r = _own(db, caller, reg_id)
    if any(d.deployment_id == body.deployment_id for d in r.deployments):
        raise conflict(f"deployment {body.deployment_id} is registered already")
    r.deployments.append(LtiDeployment(deployment_id=body.deployment_id))
    db.flush()
    return reg_out(r)


@router.delete("/registrations/{reg_id}/deployments/{deployment_row_id}", response_model=RegistrationOut,
               summary="Disable a deployment (its launches are refused)")
def disable_deployment(reg_id: int, deployment_row_id: int, db: DB, caller: CollegeActor) -> RegistrationOut:
    r = _own(db, caller, reg_id)
    for d in r.deployments:
        if d.id == deployment_row_id:
            d.is_active = False
            db.flush()
            return reg_out(r)
    raise not_found("deployment", deployment_row_id)


@router.get("/contexts", response_model=list[ContextOut], summary="LMS courses linked to the college's courses")
def list_contexts(db: DB, caller: CollegeActor) -> list[ContextOut]:
    rows = db.execute(select(LtiContext).join(LtiRegistration, LtiRegistration.id == LtiContext.registration_id)
                      .where(LtiRegistration.college_id == caller.college_id).order_by(LtiContext.id)).scalars()
    return [ContextOut(id=c.id, registration_id=c.registration_id, deployment_id=c.deployment_id,
                       context_id=c.context_id, title=c.title, course_id=c.course_id,
                       has_roster=bool(c.memberships_url), synced_at=c.synced_at) for c in rows]


@router.post("/contexts/{context_row_id}/sync", response_model=SyncOut,
             summary="Read the LMS course's roster (Names and Role Provisioning) into the course's enrolments")
def sync_context(context_row_id: int, db: DB, caller: CollegeActor, settings: Settings) -> SyncOut:
    from server.lti import roster

    ctx = db.get(LtiContext, context_row_id)
    if ctx is None or _own(db, caller, ctx.registration_id) is None:
        raise not_found("LTI context", context_row_id)
    try:
        result = roster.sync(db, settings, ctx)
    except ValueError as exc:
        raise ApiError(409, "conflict", str(exc))
    except Exception as exc:  # noqa: BLE001 - the platform's answer
        raise ApiError(502, "lms_unavailable", f"the LMS roster could not be read: {exc}"[:500])
    return SyncOut(**result.to_dict())


@router.get("/calls", response_model=list[ServiceCallOut],
            summary="What was sent (or is queued) to the LMSs: grades (AGS) and proctoring controls (ACS)")
def list_calls(db: DB, caller: CollegeActor, attempt_id: int | None = None,
               limit: int = Query(100, ge=1, le=1000)) -> list[ServiceCallOut]:
    q = (select(LtiServiceCall).join(LtiRegistration, LtiRegistration.id == LtiServiceCall.registration_id)
         .where(LtiRegistration.college_id == caller.college_id))
    if attempt_id is not None:
        q = q.where(LtiServiceCall.attempt_id == attempt_id)
    rows = db.execute(q.order_by(LtiServiceCall.id.desc()).limit(limit)).scalars()
    return [ServiceCallOut(id=c.id, kind=c.kind, attempt_id=c.attempt_id, url=c.url,
                           payload={k: v for k, v in c.payload.items() if not k.startswith("_")}, status=c.status,
                           attempts=c.attempts, next_attempt_at=c.next_attempt_at, delivered_at=c.delivered_at,
                           last_error=c.last_error, log=list(c.log or [])) for c in rows]
