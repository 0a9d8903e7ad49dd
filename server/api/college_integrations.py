"""College API: API keys (stored hashed, shown once, revocable) and webhook endpoints with their delivery log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import DB, Admin, CollegeActor, Settings
from server.api.errors import not_found
from server.api.services import access
from server.auth.keys import new_api_key, new_webhook_secret
from server.db.base import utcnow
from server.db.models import ApiKey, WebhookDelivery, WebhookEndpoint
from server.domain.enums import WebhookEvent
from server.security.scopes import ALL_SCOPES, Scope
from server.security.secretbox import for_settings
from server.security.webhook_targets import check_webhook_url

router = APIRouter(prefix="/api/v1", tags=["college: API keys and webhooks"])


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    scopes: list[Scope] = Field(default_factory=lambda: list(ALL_SCOPES), min_length=1)  # default: every scope


def key_out(k: ApiKey) -> dict[str, Any]:
    return {"id": k.id, "name": k.name, "prefix": k.prefix, "created_at": k.created_at.isoformat(),
            "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None, "scopes": k.scopes}


@router.post("/api-keys", status_code=201, summary="Create an API key (the key is shown in this answer only)")
def create_api_key(body: ApiKeyIn, db: DB, caller: Admin) -> dict[str, Any]:
    key, prefix, digest = new_api_key()
    row = ApiKey(college_id=caller.college_id, name=body.name, prefix=prefix, key_hash=digest,
                 created_by_id=caller.user_id, scopes=sorted(set(body.scopes)))
    db.add(row)
    db.flush()
    return key_out(row) | {"key": key}


@router.get("/api-keys", summary="List the college's API keys (never the keys themselves)")
def list_api_keys(db: DB, caller: Admin) -> list[dict[str, Any]]:
    rows = db.execute(select(ApiKey).where(ApiKey.college_id == caller.college_id).order_by(ApiKey.id)).scalars()
    return [key_out(k) for k in rows]


@router.delete("/api-keys/{key_id}", summary="Revoke an API key")
def revoke_api_key(key_id: int, db: DB, caller: Admin) -> dict[str, Any]:
    row = db.get(ApiKey, key_id)
    if row is None or row.college_id != caller.college_id:
        raise not_found("API key", key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return key_out(row)


class WebhookIn(BaseModel):
    url: str = Field(min_length=8, max_length=1024)
    events: list[WebhookEvent] = Field(default_factory=lambda: list(WebhookEvent), min_length=1)


def endpoint_out(ep: WebhookEndpoint) -> dict[str, Any]:
    return {"id": ep.id, "url": ep.url, "events": ep.events, "is_active": ep.is_active,
            "created_at": ep.created_at.isoformat()}


@router.post("/webhooks", status_code=201,
             summary="Register a webhook endpoint (its signing secret is shown in this answer only)")
def create_webhook(body: WebhookIn, db: DB, caller: CollegeActor, settings: Settings) -> dict[str, Any]:
    check_webhook_url(body.url, settings)
    secret = new_webhook_secret()
    ep = WebhookEndpoint(college_id=caller.college_id, url=body.url, secret=for_settings(settings).seal(secret),
                         events=sorted({e.value for e in body.events}))
    db.add(ep)
    db.flush()
    return endpoint_out(ep) | {"secret": secret}


@router.get("/webhooks")
def list_webhooks(db: DB, caller: CollegeActor) -> list[dict[str, Any]]:
    rows = db.execute(select(WebhookEndpoint).where(WebhookEndpoint.college_id == caller.college_id)
                      .order_by(WebhookEndpoint.id)).scalars()
    return [endpoint_out(ep) for ep in rows]


@router.delete("/webhooks/{endpoint_id}", status_code=204, summary="Disable a webhook endpoint")
def disable_webhook(endpoint_id: int, db: DB, caller: CollegeActor) -> Response:
    access.college_endpoint(db, caller, endpoint_id).is_active = False
    return Response(status_code=204)


@router.get("/webhooks/{endpoint_id}/deliveries", summary="Deliveries to an endpoint, each try logged")
def list_deliveries(endpoint_id: int, db: DB, caller: CollegeActor,
                    limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    ep = access.college_endpoint(db, caller, endpoint_id)
    rows = db.execute(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == ep.id)
                      .order_by(WebhookDelivery.id.desc()).limit(limit)).scalars()
    return [{
        "id": d.id, "event_id": d.event_id, "event_type": d.event_type, "status": d.status, "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at.isoformat(), "delivered_at": d.delivered_at.isoformat()
        if d.delivered_at else None, "last_error": d.last_error,
        "log": [{"number": t.number, "at": t.at.isoformat(), "ok": t.ok, "status_code": t.status_code,
                 "error": t.error, "duration_ms": t.duration_ms} for t in d.log],
    } for d in rows]
