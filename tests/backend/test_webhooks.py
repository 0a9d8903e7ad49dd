"""Webhooks: HMAC-SHA256 signatures, delivery to a real HTTP receiver on 127.0.0.1, retries with
exponential back-off, every try logged, and deliveries queued in the same transaction as the change."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import WebhookDelivery, WebhookEndpoint
from server.security.netcheck import AddressPolicy
from server.security.secretbox import for_settings
from server.webhooks import outbox
from server.webhooks.deliverer import Deliverer, RetryPolicy
from server.webhooks.signing import sign, verify

from .test_grading_and_reviews import submitted_attempt

SECRET = "whsec_test_secret"


class Receiver:
    """An HTTP server on 127.0.0.1 that answers ``fail_first`` requests with 500, then 200."""

    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first
        self.requests: list[dict[str, Any]] = []
        self.got = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = 500 if len(receiver.requests) <= receiver.fail_first else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"try later")
                receiver.got.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/proctor"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# the receivers listen on 127.0.0.1: allowed for these tests only (the default policy refuses loopback)
LOOPBACK = AddressPolicy(allow_loopback=True)


def _endpoint(factory, world, url: str, events: list[str] | None = None) -> int:
    with transaction(factory) as db:
        ep = WebhookEndpoint(college_id=world.college_id, url=url, secret=SECRET,
                             events=events or ["attempt.verified", "attempt.rejected", "attempt.review_required"])
        db.add(ep)
        db.flush()
        return ep.id


def _enqueue(factory, world, event: str = "attempt.verified", data: dict | None = None) -> list[int]:
    with transaction(factory) as db:
        return [d.id for d in outbox.enqueue(db, world.college_id, event, data or {"attempt": 7})] or []


def test_signature_round_trip_and_refusals() -> None:
    body = b'{"type":"attempt.verified"}'
    header = sign(SECRET, body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify(SECRET, body, header, now=1_700_000_100)
    assert not verify(SECRET, body + b" ", header, now=1_700_000_100)  # body altered
    assert not verify("whsec_other", body, header, now=1_700_000_100)  # wrong secret
    assert not verify(SECRET, body, header, now=1_700_001_000)  # too old: a replay
    assert not verify(SECRET, body, "v1=abc", now=1_700_000_000)
    # the signature covers the timestamp: moving it breaks the signature
    moved = header.replace("t=1700000000", "t=1700000050")
    assert not verify(SECRET, body, moved, now=1_700_000_050)


def test_retries_with_exponential_backoff_until_delivered(factory, world, receiver) -> None:
    receiver.fail_first = 2
    _endpoint(factory, world, receiver.url)
    (did,) = _enqueue(factory, world, data={"attempt": {"id": 7, "state": "verified"}})
    clock = Clock()
    d = Deliverer(factory, address_policy=LOOPBACK, policy=RetryPolicy(max_attempts=5, base_s=10, max_s=100, jitter=0), clock=clock)
    try:
        schedule = []
        assert d.run_once() == 1  # fails (500)
        with factory() as db:
            row = db.get(WebhookDelivery, did)
            schedule.append((row.next_attempt_at - clock.now).total_seconds())
        assert d.run_once() == 0  # not due yet
        clock.advance(10)
        assert d.run_once() == 1  # fails again
        with factory() as db:
            schedule.append((db.get(WebhookDelivery, did).next_attempt_at - clock.now).total_seconds())
        clock.advance(19)
        assert d.run_once() == 0
        clock.advance(1)
        assert d.run_once() == 1  # delivered
        assert schedule == [10, 20]  # base * 2**(n-1)
    finally:
        d.stop()
    with factory() as db:
        row = db.get(WebhookDelivery, did)
        assert row.status == "delivered" and row.attempts == 3 and row.delivered_at == clock.now
        assert [(t.number, t.ok, t.status_code) for t in row.log] == [(1, False, 500), (2, False, 500), (3, True, 200)]
        assert row.log[0].error == "http_error" and row.log[0].status_code == 500  # a category, not the body
    assert len(receiver.requests) == 3
    ids = {r["headers"]["X-Proctor-Delivery"] for r in receiver.requests}
    assert len(ids) == 1  # the same event id on every retry: the receiver can deduplicate
    for r in receiver.requests:
        assert r["headers"]["X-Proctor-Event"] == "attempt.verified"
        assert verify(SECRET, r["body"], r["headers"]["X-Proctor-Signature"])
        payload = json.loads(r["body"])
        assert payload["type"] == "attempt.verified" and payload["data"]["attempt"]["id"] == 7


def test_gives_up_after_the_last_try(factory, world, receiver) -> None:
    receiver.fail_first = 100
    _endpoint(factory, world, receiver.url)
    (did,) = _enqueue(factory, world)
    clock = Clock()
    d = Deliverer(factory, address_policy=LOOPBACK, policy=RetryPolicy(max_attempts=3, base_s=1, max_s=2, jitter=0), clock=clock)
    try:
        for _ in range(5):
            d.run_once()
            clock.advance(2)  # the cap: never more than max_s between tries
    finally:
        d.stop()
    with factory() as db:
        row = db.get(WebhookDelivery, did)
        assert row.status == "failed" and row.attempts == 3 and len(row.log) == 3
    assert len(receiver.requests) == 3


def test_unreachable_receiver_is_logged(factory, world) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    _endpoint(factory, world, f"http://127.0.0.1:{port}/x")
    (did,) = _enqueue(factory, world)
    d = Deliverer(factory, address_policy=LOOPBACK, policy=RetryPolicy(max_attempts=2, base_s=1, jitter=0), timeout_s=2)
    try:
        d.run_once()
    finally:
        d.stop()
    with factory() as db:
        t = db.get(WebhookDelivery, did).log[0]
        assert not t.ok and t.status_code is None and t.error == "connection_failed"  # a category, not the raw error


def test_only_subscribed_active_endpoints_and_nothing_on_rollback(factory, world, receiver) -> None:
    _endpoint(factory, world, receiver.url, ["attempt.rejected"])
    assert _enqueue(factory, world, "attempt.verified") == []
    with pytest.raises(RuntimeError):
        with transaction(factory) as db:
            outbox.enqueue(db, world.college_id, "attempt.rejected", {"x": 1})
            raise RuntimeError("the change failed")
    with factory() as db:
        assert db.query(WebhookDelivery).count() == 0


def test_attempt_decisions_reach_the_college_signed(client, world, receiver, factory) -> None:
    r = client.post("/api/v1/webhooks", headers=world.h("api"), json={"url": receiver.url})
    assert r.status_code == 201
    secret = r.json()["secret"]
    assert "secret" not in client.get("/api/v1/webhooks", headers=world.h("api")).json()[0]
    deliverer = Deliverer(factory, address_policy=LOOPBACK, policy=RetryPolicy(jitter=0), poll_interval_s=30,
                          secret_box=for_settings(client.app.state.settings))  # secrets are stored encrypted
    deliverer.start()  # the background thread, woken when the decision commits
    try:
        aid = submitted_attempt(client, world)
        client.post(f"/api/proctor/attempts/{aid}/review", headers=world.h("proctor"),
                    json={"decision": "second_review", "reason": "two faces at 03:10"})
        deadline = time.monotonic() + 10
        while len(receiver.requests) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        deliverer.stop()
    assert len(receiver.requests) == 1
    req = receiver.requests[0]
    assert verify(secret, req["body"], req["headers"]["X-Proctor-Signature"])
    payload = json.loads(req["body"])
    assert payload["type"] == "attempt.review_required"
    assert payload["data"]["id"] == aid and payload["data"]["state"] == "second_review_required"
    assert payload["data"]["grade"]["score"] is None
    # the attempt's integrity report rides along: the session's final score, counts, chain head and its check
    integrity = payload["data"]["integrity"]["session"]
    assert integrity["status"] == "ended" and integrity["integrity_score"] == 100.0
    assert integrity["score_recommendation"] == "clean" and integrity["score_provisional"] is False
    assert integrity["score_breakdown"] == {} and integrity["counts"] == {}
    assert integrity["chain"]["ok"] is True and integrity["chain_head"]["seq"] == integrity["event_count"] - 1
    ep_id = client.get("/api/v1/webhooks", headers=world.h("api")).json()[0]["id"]
    log = client.get(f"/api/v1/webhooks/{ep_id}/deliveries", headers=world.h("api")).json()
    assert log[0]["status"] == "delivered" and log[0]["log"][0]["status_code"] == 200


def test_webhook_urls_are_checked(client, world) -> None:
    r = client.post("/api/v1/webhooks", headers=world.h("api"), json={"url": "ftp://example.org/x"})
    assert r.status_code == 422
    r = client.post("/api/v1/webhooks", headers=world.h("api"), json={"url": "https://example.org/x",
                                                                       "events": ["attempt.deleted"]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "body.events.0"


def test_private_targets_refused_unless_allowed(tmp_path, db_url) -> None:
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.settings import ServerSettings

    from .conftest import build_world

    app = create_app(ServerSettings(database_url=db_url, data_dir=tmp_path / "d", seed_demo=False,
                                    webhooks_enabled=False, auto_migrate=False))
    world = build_world(app.state.session_factory)
    with TestClient(app) as c:
        for url in ("http://127.0.0.1:9/x", "https://localhost/x", "https://10.1.2.3/x", "http://example.org/x"):
            r = c.post("/api/v1/webhooks", headers=world.h("api"), json={"url": url})
            assert r.status_code == 422, url
        assert c.post("/api/v1/webhooks", headers=world.h("api"),
                      json={"url": "https://lms.college.example/hooks"}).status_code == 201
