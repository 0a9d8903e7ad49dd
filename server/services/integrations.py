"""A college's integrations: API keys (stored as sha256, the key itself returned once, revocable, with scopes;
keys cannot create or change college admins nor set passwords: ``server.security.scopes``) and webhook endpoints
(public https targets unless private ones are allowed; the signing secret returned once and stored sealed with the
server's key) with the log of their deliveries."""

from __future__ import annotations

from typing import Iterable
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.keys import new_api_key, new_webhook_secret
from server.auth.principal import Principal
from server.db.base import utcnow
from server.db.models import ApiKey, WebhookDelivery, WebhookEndpoint
from server.domain.enums import WebhookEvent
from server.security.netcheck import RefusedTarget, Resolver, resolve_checked
from server.security.secretbox import SecretBox
from server.security.webhook_targets import target_policy
from server.services.errors import Invalid, NotFound


def create_api_key(db: Session, caller: Principal, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
    """A new key of the caller's college with ``scopes``: the row and the key itself (shown once, stored only
    hashed)."""
    key, prefix, digest = new_api_key()
    row = ApiKey(college_id=caller.college_id, name=name, prefix=prefix, key_hash=digest,
                 created_by_id=caller.user_id, scopes=sorted(set(scopes)))
    db.add(row)
    db.flush()
    return row, key


def api_keys_of_college(db: Session, college_id: int) -> list[ApiKey]:
    return list(db.execute(select(ApiKey).where(ApiKey.college_id == college_id).order_by(ApiKey.id)).scalars())


def revoke_api_key(db: Session, caller: Principal, key_id: int) -> ApiKey:
    row = db.get(ApiKey, key_id)
    if row is None or row.college_id != caller.college_id:
        raise NotFound.of("API key", key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def url_problem(url: str, allow_private: bool, resolver: Resolver | None = None) -> str | None:
    """What is wrong with a URL the server is to call: ``"not_http"`` (not http(s) with a host and a valid port),
    ``"not_public"`` (plain http, or a host that resolves to any address that is not globally routable, in every
    numeric form: ``server.security.netcheck``; with ``allow_private`` http and private and loopback addresses
    pass, link-local and cloud metadata never), or None. A name that does not resolve now passes: whoever calls
    it resolves and checks again each time (webhook deliveries pin the checked address)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return "not_http"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not_http"
    if parts.scheme != "https" and not allow_private:
        return "not_public"
    try:
        resolve_checked(parts.hostname, port or (443 if parts.scheme == "https" else 80), target_policy(allow_private),
                        resolver)
    except RefusedTarget as exc:
        return "not_public" if exc.category == "refused_address" else None
    return None


def check_webhook_url(url: str, allow_private: bool) -> None:
    """An http(s) URL with a host; unless ``allow_private``, https to a public host only."""
    problem = url_problem(url, allow_private)
    if problem == "not_http":
        raise Invalid("the webhook URL must be an http(s) URL",
                      [{"field": "body.url", "message": "must be http(s)://host/..."}])
    if problem == "not_public":
        raise Invalid("webhook URLs must be public https URLs",
                      [{"field": "body.url", "message": "private, loopback, link-local, multicast or plain-http "
                                                         "targets are refused"}])


def create_webhook(db: Session, caller: Principal, url: str, events: list[WebhookEvent], *,
                   allow_private: bool, secret_box: SecretBox) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the caller's college: the row and its signing secret (shown once, stored sealed)."""
    check_webhook_url(url, allow_private)
    secret = new_webhook_secret()
    ep = WebhookEndpoint(college_id=caller.college_id, url=url, secret=secret_box.seal(secret),
                         events=sorted({WebhookEvent(e).value for e in events}))
    db.add(ep)
    db.flush()
    return ep, secret


def webhooks_of_college(db: Session, college_id: int) -> list[WebhookEndpoint]:
    return list(db.execute(select(WebhookEndpoint).where(WebhookEndpoint.college_id == college_id)
                           .order_by(WebhookEndpoint.id)).scalars())


def disable_webhook(ep: WebhookEndpoint) -> None:
    """No more deliveries to the endpoint (its log is kept)."""
    ep.is_active = False


def deliveries(db: Session, endpoint: WebhookEndpoint, limit: int = 100) -> list[WebhookDelivery]:
    """The newest deliveries to the endpoint first."""
    return list(db.execute(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
                           .order_by(WebhookDelivery.id.desc()).limit(limit)).scalars())
