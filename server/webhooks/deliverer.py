"""The background deliverer: a thread that sends due deliveries, logs every try in
``webhook_delivery_attempts``, and on failure retries after ``base * 2**(n-1)`` seconds (capped, with a
little jitter) until ``max_attempts`` tries, when the delivery is marked failed.

Deliveries are claimed row by row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer), and
``next_attempt_at`` is pushed forward while a send is in flight, so two deliverers never send the same try.

Each try resolves the endpoint's host, refuses it unless every address is allowed (server.security.netcheck:
public addresses only by default) and connects to the address it checked (TLS still sends and verifies the
host name). The log keeps a category (``refused_address``, ``dns_failed``, ``timeout``, ``connection_failed``,
``tls_failed``, ``http_error``, ``request_failed``), never the raw error or the receiver's answer: those would
turn the log into a scanner of the server's network.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server.db.base import utcnow
from server.db.engine import is_sqlite, transaction
from server.db.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from server.domain.enums import DeliveryStatus
from server.security.netcheck import AddressPolicy, RefusedTarget, pin_url
from server.security.secretbox import SecretBox, SecretUnreadable
from server.webhooks import outbox
from server.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, sign

log = logging.getLogger("server.webhooks")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_s: float = 5.0
    max_s: float = 3600.0
    jitter: float = 0.1  # up to +10%

    def delay_after(self, failures: int) -> float:
        d = min(self.max_s, self.base_s * (2 ** max(0, failures - 1)))
        return d * (1 + random.uniform(0, self.jitter)) if self.jitter else d


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


class Deliverer:
    def __init__(self, session_factory: sessionmaker[Session], *, policy: RetryPolicy = RetryPolicy(),
                 timeout_s: float = 10.0, poll_interval_s: float = 2.0, user_agent: str = "proctor-webhooks",
                 transport: httpx.BaseTransport | None = None, clock: Callable[[], datetime] = utcnow,
                 address_policy: AddressPolicy = AddressPolicy(), secret_box: SecretBox | None = None):
        self.session_factory = session_factory
        self.address_policy = address_policy
        self.secret_box = secret_box
        self.policy = policy
        self.poll_interval_s = poll_interval_s
        self.clock = clock
        self.lease_s = timeout_s + 30.0
        self._client = httpx.Client(timeout=timeout_s, transport=transport, follow_redirects=False,
                                    headers={"User-Agent": user_agent, "Content-Type": "application/json"})
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- one pass --------------------------------------------------------------------------------------
    def _claim(self) -> _Job | None:
        now = self.clock()
        with transaction(self.session_factory, write_lock=True) as db:
            q = (select(WebhookDelivery)
                 .where(WebhookDelivery.status == DeliveryStatus.pending.value, WebhookDelivery.next_attempt_at <= now)
                 .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(1))
            if not is_sqlite(db):
                q = q.with_for_update(skip_locked=True)
            while True:
                d = db.execute(q).scalar_one_or_none()
                if d is None:
                    return None
                ep = db.get(WebhookEndpoint, d.endpoint_id)
                if ep is not None and ep.is_active:
                    break
                d.status = DeliveryStatus.failed.value
                d.last_error = "the endpoint was removed or disabled"
                db.flush()
            d.attempts += 1
            # lease: nobody else picks this delivery while it is being sent
            d.next_attempt_at = now + timedelta(seconds=self.lease_s)
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
            if ok:
                d.status, d.delivered_at, d.last_error = DeliveryStatus.delivered.value, now, None
            elif job.number >= self.policy.max_attempts:
                d.status, d.last_error = DeliveryStatus.failed.value, error
            else:
                d.last_error = error
                d.next_attempt_at = now + timedelta(seconds=self.policy.delay_after(job.number))
        log.info("webhook delivery", extra={"delivery_id": job.delivery_id, "event": job.event_type,
                                            "try": job.number, "ok": ok, "status_code": status, "error": error,
                                            "ms": round(ms, 1)})

    def run_once(self) -> int:
        """Send every delivery that is due now; return how many tries were made."""
        tries = 0
        while not self._stop.is_set():
            job = self._claim()
            if job is None:
                break
            self._finish(job, *self._send(job))
            tries += 1
        return tries

    # --- background thread ------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep delivering after a database hiccup
                log.exception("webhook deliverer pass failed")
            self._wake.wait(self.poll_interval_s)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is not None:
            return
        outbox.add_waker(self.wake)
        self._thread = threading.Thread(target=self._loop, name="webhook-deliverer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        outbox.remove_waker(self.wake)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._client.close()
