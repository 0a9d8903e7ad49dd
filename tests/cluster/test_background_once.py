"""Background work that must not run twice with several nodes: two webhook deliverers (as two nodes run them) on
one PostgreSQL send every queued delivery exactly once (``FOR UPDATE SKIP LOCKED`` and the lease on
``next_attempt_at`` in :class:`server.webhooks.deliverer.Deliverer`)."""

from __future__ import annotations

import collections
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import func, select

from server.cluster.postgres import PgServer
from server.db import migrate
from server.db.engine import make_engine, make_sessionmaker, transaction
from server.db.models import College, WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from server.security.netcheck import AddressPolicy
from server.webhooks import outbox
from server.webhooks.deliverer import Deliverer, RetryPolicy
from server.webhooks.signing import DELIVERY_HEADER

DELIVERIES = 60


class Receiver:
    """Counts each delivery id it is sent; answers slowly, so both deliverers are busy at once."""

    def __init__(self) -> None:
        self.seen: collections.Counter[str] = collections.Counter()
        self.by_thread: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(0.02)
                with receiver.lock:
                    receiver.seen[self.headers[DELIVERY_HEADER]] += 1
                    receiver.by_thread[self.headers["User-Agent"]] += 1
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_two_deliverers_on_one_postgresql_send_each_delivery_once(pg: PgServer) -> None:
    url = pg.create_database("webhooks_once")
    engines = [make_engine(url) for _ in range(2)]  # one engine (connection pool) per "node"
    migrate.upgrade(engines[0])
    factories = [make_sessionmaker(e) for e in engines]
    receiver = Receiver()
    loopback = AddressPolicy.of(allow_private=True, allow_loopback=True)  # the receiver is on 127.0.0.1 (tests only)
    deliverers = [Deliverer(f, policy=RetryPolicy(jitter=0), poll_interval_s=0.2, user_agent=f"node-{i + 1}",
                            address_policy=loopback)
                  for i, f in enumerate(factories)]
    try:
        with transaction(factories[0]) as db:
            college = College(slug="c", name="College")
            db.add(college)
            db.flush()
            db.add(WebhookEndpoint(college_id=college.id, url=receiver.url, secret="whsec_x",
                                   events=["attempt.verified"]))
            db.flush()
            for n in range(DELIVERIES):
                outbox.enqueue(db, college.id, "attempt.verified", {"attempt": n})
        for d in deliverers:
            d.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with transaction(factories[1]) as db:
                left = db.execute(select(func.count()).select_from(WebhookDelivery)
                                  .where(WebhookDelivery.status != "delivered")).scalar_one()
            if left == 0:
                break
            time.sleep(0.2)
        assert left == 0, f"{left} deliveries not delivered within 60 s"
    finally:
        for d in deliverers:
            d.stop()
        receiver.close()
    with transaction(factories[0]) as db:
        attempts = db.execute(select(func.count()).select_from(WebhookDeliveryAttempt)).scalar_one()
        event_ids = set(db.execute(select(WebhookDelivery.event_id)).scalars())
    for e in engines:
        e.dispose()
    assert len(event_ids) == DELIVERIES
    assert set(receiver.seen) == event_ids
    assert max(receiver.seen.values()) == 1, [k for k, v in receiver.seen.items() if v > 1]  # never twice
    assert attempts == DELIVERIES  # one try each, logged once
    assert set(receiver.by_thread) == {"node-1", "node-2"}  # both nodes delivered a share
