"""College API: API keys (stored hashed, shown once, revocable) and webhook endpoints with their delivery log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from server.api.deps import DB, Admin, CollegeActor, Settings
from server.api.schemas import Number
from server.db.base import iso
from server.db.models import ApiKey, WebhookEndpoint
from server.domain.enums import WebhookEvent
from server.security.scopes import ALL_SCOPES, Scope
from server.security.secretbox import for_settings
from server.services import access, integrations

router = APIRouter(prefix="/api/v1", tags=["college: API keys and webhooks"])


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    scopes: list[Scope] = Field(default_factory=lambda: list(ALL_SCOPES), min_length=1)  # default: every scope


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    scopes: list[str] = Field(description="what the key may do: <area>:read / <area>:write")


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="the key itself: shown in this answer only")


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    is_active: bool
    created_at: str


class NewWebhookOut(WebhookOut):
    secret: str = Field(description="the signing secret: shown in this answer only")


class DeliveryTryOut(BaseModel):
    number: int
    at: str
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: Number


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: str
    delivered_at: str | None
    last_error: str | None
    log: list[DeliveryTryOut]


def key_out(k: ApiKey) -> dict[str, Any]:
    return {"id": k.id, "name": k.name, "prefix": k.prefix, "created_at": k.created_at.isoformat(),
            "last_used_at": iso(k.last_used_at),
            "revoked_at": iso(k.revoked_at), "scopes": list(k.scopes or ())}


@router.post("/api-keys", status_code=201, response_model=NewApiKeyOut,
             summary="Create an API key (the key is shown in this answer only)")
def create_api_key(body: ApiKeyIn, db: DB, caller: Admin) -> dict[str, Any]:
    row, key = integrations.create_api_key(db, caller, body.name, body.scopes)
    return key_out(row) | {"key": key}


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="List the college's API keys (never the keys themselves)")
def list_api_keys(db: DB, caller: Admin) -> list[dict[str, Any]]:
    return [key_out(k) for k in integrations.api_keys_of_college(db, caller.college_id)]


@router.delete("/api-keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key")
def revoke_api_key(key_id: int, db: DB, caller: Admin) -> dict[str, Any]:
    return key_out(integrations.revoke_api_key(db, caller, key_id))


class WebhookIn(BaseModel):
    url: str = Field(min_length=8, max_length=1024)
    events: list[WebhookEvent] = Field(default_factory=lambda: list(WebhookEvent), min_length=1)


def endpoint_out(ep: WebhookEndpoint) -> dict[str, Any]:
    return {"id": ep.id, "url": ep.url, "events": ep.events, "is_active": ep.is_active,
            "created_at": ep.created_at.isoformat()}


@router.post("/webhooks", status_code=201, response_model=NewWebhookOut,
             summary="Register a webhook endpoint (its signing secret is shown in this answer only)")
def create_webhook(body: WebhookIn, db: DB, caller: CollegeActor, settings: Settings) -> dict[str, Any]:
    ep, secret = integrations.create_webhook(db, caller, body.url, body.events,
                                             allow_private=settings.webhook_allow_private_targets,
                                             secret_box=for_settings(settings))
    return endpoint_out(ep) | {"secret": secret}


@router.get("/webhooks", response_model=list[WebhookOut], summary="List the college's webhook endpoints")
def list_webhooks(db: DB, caller: CollegeActor) -> list[dict[str, Any]]:
    return [endpoint_out(ep) for ep in integrations.webhooks_of_college(db, caller.college_id)]


@router.delete("/webhooks/{endpoint_id}", status_code=204, summary="Disable a webhook endpoint")
def disable_webhook(endpoint_id: int, db: DB, caller: CollegeActor) -> Response:
    integrations.disable_webhook(access.college_endpoint(db, caller, endpoint_id))
    return Response(status_code=204)


@router.get("/webhooks/{endpoint_id}/deliveries", response_model=list[DeliveryOut],
            summary="Deliveries to an endpoint, each try logged")
def list_deliveries(endpoint_id: int, db: DB, caller: CollegeActor,
                    limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    ep = access.college_endpoint(db, caller, endpoint_id)
    return [{
        "id": d.id, "event_id": d.event_id, "event_type": d.event_type, "status": d.status, "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at.isoformat(), "delivered_at": iso(d.delivered_at), "last_error": d.last_error,
        "log": [{"number": t.number, "at": t.at.isoformat(), "ok": t.ok, "status_code": t.status_code,
                 "error": t.error, "duration_ms": t.duration_ms} for t in d.log],
    } for d in integrations.deliveries(db, ep, limit)]
