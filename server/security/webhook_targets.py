"""The check on a webhook URL when a college registers it (the deliverer checks again on every try)."""

from __future__ import annotations

from urllib.parse import urlsplit

from server.api.errors import ApiError
from server.security.netcheck import AddressPolicy, RefusedTarget, resolve_checked


def policy_for(settings: object) -> AddressPolicy:
    allow = bool(getattr(settings, "webhook_allow_private_targets", False))
    return AddressPolicy.of(allow_private=allow, allow_loopback=allow)


def check_webhook_url(url: str, settings: object) -> None:
    """422 unless an https URL (http only with ``webhook_allow_private_targets``) whose host resolves only to
    allowed addresses. A name that does not resolve now is accepted: every delivery resolves and checks again."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise ApiError(422, "validation_error", "the webhook URL must be an http(s) URL",
                       [{"field": "body.url", "message": "must be http(s)://host/..."}])
    policy = policy_for(settings)
    refused = parts.scheme != "https" and not policy.allow_private
    if not refused:
        try:
            resolve_checked(parts.hostname, port or (443 if parts.scheme == "https" else 80), policy)
        except RefusedTarget as exc:
            refused = exc.category == "refused_address"
    if refused:
        raise ApiError(422, "validation_error", "webhook URLs must be public https URLs",
                       [{"field": "body.url", "message": "private, loopback, link-local, multicast or plain-http "
                                                         "targets are refused"}])
