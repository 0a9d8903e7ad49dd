"""The background deliverer: a thread that sends due deliveries, logs every try in
``webhook_delivery_attempts``, and on failure retries after ``base * 2**(n-1)`` seconds (capped, with a
little jitter) until ``max_attempts`` tries, when the delivery is marked failed.

Deliveries are claimed row by row and leased (:mod:`server.outbox_rows`: ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, SQLite has one writer), so two deliverers never send the same try.

Each try resolves the endpoint's host, refuses it unless every address is allowed (server.security.netcheck:
public addresses only by default) and connects to the address it checked (TLS still sends and verifies the
host name). The log keeps a category (``refused_address``, ``dns_failed``, ``timeout``, ``connection_failed``,
``tls_failed``, ``http_error``, ``request_failed``), never the raw error or the receiver's answer: those would
turn the log into a scanner of the server's network.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import httpx
from sqlalchemy.orm import Session, sessionmaker

from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from server.outbox_rows import OutboxSender, RetryPolicy, claim_due, settle
from server.security.netcheck import AddressPolicy, RefusedTarget, pin_url
from server.security.secretbox import SecretBox, SecretUnreadable
from server.webhooks import outbox
from server.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger("server.webhooks")


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    number: int
    url: str
    secret: str
    event_type: str
    event_id: str
    body: bytes


def error_category(exc: Exception) -> str:
    """A failed try's category (the log never keeps the raw error)."""
    import ssl

    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLError) or "SSL" in type(cause).__name__ or "certificate" in str(exc).lower():
        return "tls_failed"
    if isinstance(exc, (httpx.ConnectError, httpx.NetworkError, httpx.RemoteProtocolError)):
        return "connection_failed"
    return "request_failed"


def _endpoint_gone(db: Session, d: WebhookDelivery) -> str | None:
    ep = db.get(WebhookEndpoint, d.endpoint_id)
    return None if ep is not None and ep.is_active else "the endpoint was removed or disabled"


class Deliverer(OutboxSender):
    def __init__(self, session_factory: sessionmaker[Session], *, policy: RetryPolicy = RetryPolicy(),
                 timeout_s: float = 10.0, poll_interval_s: float = 2.0, user_agent: str = "proctor-webhooks",
                 transport: httpx.BaseTransport | None = None, clock: Callable[[], datetime] = utcnow,
                 address_policy: AddressPolicy = AddressPolicy(), secret_box: SecretBox | None = None):
        self.session_factory = session_factory
        self.address_policy = address_policy
        self.secret_box = secret_box
        self.policy = policy
        self.clock = clock
        self.lease_s = timeout_s + 30.0
        self._client = httpx.Client(timeout=timeout_s, transport=transport, follow_redirects=False,
                                    headers={"User-Agent": user_agent, "Content-Type": "application/json"})
        super().__init__("webhook deliverer", poll_interval_s, log, outbox)

    # --- one pass --------------------------------------------------------------------------------------
    def _claim(self) -> _Job | None:
        now = self.clock()
        with transaction(self.session_factory, write_lock=True) as db:
            d = claim_due(db, WebhookDelivery, now, self.lease_s, lambda row: _endpoint_gone(db, row))
            if d is None:
                return None
            ep = db.get(WebhookEndpoint, d.endpoint_id)
            body = json.dumps(d.payload, separators=(",", ":"), sort_keys=True).encode()
            return _Job(d.id, d.attempts, ep.url, ep.secret, d.event_type, d.event_id, body)

    def _send(self, job: _Job) -> tuple[bool, int | None, str | None, float]:
        t0 = time.perf_counter()
        try:
            secret = self.secret_box.open(job.secret) if self.secret_box is not None else job.secret
            target = pin_url(job.url, self.address_policy)
        except RefusedTarget as exc:
            return False, None, exc.category, (time.perf_counter() - t0) * 1000
        except SecretUnreadable:
            return False, None, "secret_unreadable", (time.perf_counter() - t0) * 1000
        headers = {EVENT_HEADER: job.event_type, DELIVERY_HEADER: job.event_id,
                   SIGNATURE_HEADER: sign(secret, job.body), "Host": target.host_header}
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
        try:
            resp = self._client.post(target.url, content=job.body, headers=headers, extensions=extensions)
            ms = (time.perf_counter() - t0) * 1000
            ok = 200 <= resp.status_code < 300
            return ok, resp.status_code, None if ok else "http_error", ms
        except httpx.HTTPError as exc:
            return False, None, error_category(exc), (time.perf_counter() - t0) * 1000

    def _finish(self, job: _Job, ok: bool, status: int | None, error: str | None, ms: float) -> None:
        now = self.clock()
        with transaction(self.session_factory, write_lock=True) as db:
            d = db.get(WebhookDelivery, job.delivery_id)
            db.add(WebhookDeliveryAttempt(delivery_id=d.id, number=job.number, at=now, status_code=status, ok=ok,
                                          error=error, duration_ms=round(ms, 2)))
            settle(d, job.number, ok, error, now, self.policy)
        log.info("webhook delivery", extra={"delivery_id": job.delivery_id, "event": job.event_type,
                                            "try": job.number, "ok": ok, "status_code": status, "error": error,
                                            "ms": round(ms, 1)})

    def _try(self, job: _Job) -> None:
        self._finish(job, *self._send(job))

    def close(self) -> None:
        self._client.close()
