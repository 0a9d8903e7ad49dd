"""College API for LTI 1.3: the values to paste into the LMS, the college's platform registrations and their
deployments (one registration per platform: issuer + client id; one row per deployment), the roster sync, and
the log of what was sent back to the LMS (grades, proctoring controls)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from server.api.deps import DB, CollegeActor, Settings
from server.db.models import LtiRegistration
from server.lti import claims as C
from server.lti import platforms
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


def reg_out(r: LtiRegistration) -> RegistrationOut:
    return RegistrationOut(
        id=r.id, name=r.name, platform=r.platform, issuer=r.issuer, client_id=r.client_id,
        auth_login_url=r.auth_login_url, auth_token_url=r.auth_token_url, key_set_url=r.key_set_url,
        auth_audience=r.auth_audience, is_active=r.is_active, created_at=r.created_at,
        deployments=[DeploymentOut(id=d.id, deployment_id=d.deployment_id, is_active=d.is_active,
                                   created_at=d.created_at) for d in r.deployments])


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
    fields = body.model_dump(exclude={"deployment_ids"})
    return reg_out(platforms.register(db, caller, fields, body.deployment_ids,
                                      allow_private=settings.lti_allow_private_platforms))


@router.get("/registrations", response_model=list[RegistrationOut], summary="The college's LMS registrations")
def list_registrations(db: DB, caller: CollegeActor) -> list[RegistrationOut]:
    return [reg_out(r) for r in platforms.registrations_of_college(db, caller.college_id)]


@router.get("/registrations/{reg_id}", response_model=RegistrationOut, summary="One LMS registration")
def get_registration(reg_id: int, db: DB, caller: CollegeActor) -> RegistrationOut:
    return reg_out(platforms.registration(db, caller, reg_id))


@router.patch("/registrations/{reg_id}", response_model=RegistrationOut, summary="Change or disable a registration")
def patch_registration(reg_id: int, body: RegistrationPatch, db: DB, caller: CollegeActor,
                       settings: Settings) -> RegistrationOut:
    r = platforms.registration(db, caller, reg_id)
    return reg_out(platforms.update(db, r, body.model_dump(exclude_unset=True),
                                    allow_private=settings.lti_allow_private_platforms))


@router.delete("/registrations/{reg_id}", status_code=204, summary="Disable a registration (launches are refused)")
def disable_registration(reg_id: int, db: DB, caller: CollegeActor) -> Response:
    platforms.registration(db, caller, reg_id).is_active = False
    return Response(status_code=204)


@router.post("/registrations/{reg_id}/deployments", response_model=RegistrationOut, status_code=201,
             summary="Add a deployment id of the platform")
def add_deployment(reg_id: int, body: DeploymentIn, db: DB, caller: CollegeActor) -> RegistrationOut:
    return reg_out(platforms.add_deployment(db, platforms.registration(db, caller, reg_id), body.deployment_id))


@router.delete("/registrations/{reg_id}/deployments/{deployment_row_id}", response_model=RegistrationOut,
               summary="Disable a deployment (its launches are refused)")
def disable_deployment(reg_id: int, deployment_row_id: int, db: DB, caller: CollegeActor) -> RegistrationOut:
    r = platforms.registration(db, caller, reg_id)
    return reg_out(platforms.disable_deployment(db, r, deployment_row_id))


@router.get("/contexts", response_model=list[ContextOut], summary="LMS courses linked to the college's courses")
def list_contexts(db: DB, caller: CollegeActor) -> list[ContextOut]:
    return [ContextOut(id=c.id, registration_id=c.registration_id, deployment_id=c.deployment_id,
                       context_id=c.context_id, title=c.title, course_id=c.course_id,
                       has_roster=bool(c.memberships_url), synced_at=c.synced_at)
            for c in platforms.contexts_of_college(db, caller.college_id)]


@router.post("/contexts/{context_row_id}/sync", response_model=SyncOut,
             summary="Read the LMS course's roster (Names and Role Provisioning) into the course's enrolments")
def sync_context(context_row_id: int, db: DB, caller: CollegeActor, settings: Settings) -> SyncOut:
    return SyncOut(**platforms.sync_roster(db, caller, settings, context_row_id).to_dict())


@router.get("/calls", response_model=list[ServiceCallOut],
            summary="What was sent (or is queued) to the LMSs: grades (AGS) and proctoring controls (ACS)")
def list_calls(db: DB, caller: CollegeActor, attempt_id: int | None = None,
               limit: int = Query(100, ge=1, le=1000)) -> list[ServiceCallOut]:
    return [ServiceCallOut(id=c.id, kind=c.kind, attempt_id=c.attempt_id, url=c.url,
                           payload={k: v for k, v in c.payload.items() if not k.startswith("_")}, status=c.status,
                           attempts=c.attempts, next_attempt_at=c.next_attempt_at, delivered_at=c.delivered_at,
                           last_error=c.last_error, log=list(c.log or []))
            for c in platforms.service_calls(db, caller.college_id, attempt_id, limit)]
