"""Finding 5: the webhook target filter was bypassed by other numeric forms, shared/multicast ranges and names,
and the delivery log returned raw connection errors. Now every form is normalised, names are resolved and
refused unless every address is public, the deliverer connects to the address it checked (no DNS rebinding), and
the log keeps a category. Receivers here are on 127.0.0.1, allowed only by a test policy."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.db.engine import transaction
from server.db.models import WebhookDelivery, WebhookEndpoint
from server.security.netcheck import AddressPolicy, RefusedTarget, normalise_ip, pin_url, resolve_checked
from server.webhooks import outbox
from server.webhooks.deliverer import Deliverer, RetryPolicy

from backend.conftest import build_world

LOOPBACK_FORMS = ["2130706433", "0x7f000001", "127.1", "0", "0177.0.0.1", "017700000001", "127.000.000.001",
                  "[::ffff:127.0.0.1]", "[::1]", "localhost"]
OTHER_BAD = ["100.64.0.1", "224.0.0.1", "239.255.255.250", "169.254.169.254", "10.1.2.3", "192.168.0.1",
             "[fe80::1]", "[fc00::1]", "0.0.0.0", "255.255.255.255"]


@pytest.mark.parametrize("host", LOOPBACK_FORMS + OTHER_BAD)
def test_registration_refuses_every_form(host, db_url, tmp_path) -> None:
    from server.settings import ServerSettings

    app = create_app(ServerSettings(database_url=db_url, data_dir=tmp_path / "d", webhooks_enabled=False,
                                    auto_migrate=False))
    world = build_world(app.state.session_factory)
    with TestClient(app) as c:
        r = c.post("/api/v1/webhooks", headers=world.h("api"), json={"url": f"https://{host}:9443/x"})
        assert r.status_code == 422, host


def test_numeric_forms_normalise_to_the_same_address() -> None:
    assert {str(normalise_ip(h)) for h in ["2130706433", "0x7f000001", "127.1", "0177.0.0.1"]} == {"127.0.0.1"}
    assert str(normalise_ip("0")) == "0.0.0.0" and normalise_ip("example.org") is None


def test_a_name_is_refused_if_any_address_is_not_public() -> None:
    both = lambda host, port: ["93.184.215.14", "10.0.0.7"]  # noqa: E731
    with pytest.raises(RefusedTarget) as info:
        resolve_checked("mixed.example", 443, AddressPolicy(), both)
    assert info.value.category == "refused_address"
    assert str(resolve_checked("ok.example", 443, AddressPolicy(), lambda h, p: ["93.184.215.14"])) == "93.184.215.14"


class _Receiver:
    def __init__(self) -> None:
        self.hosts: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.hosts.append(self.headers.get("Host", ""))
                self.send_response(503)
                self.end_headers()
                self.wfile.write(b"internal detail: db01.corp:5432 refused")

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    yield r
    r.server.shutdown()


def _deliver(factory, world, url: str, policy: AddressPolicy) -> WebhookDelivery:
    with transaction(factory) as db:
        db.add(WebhookEndpoint(college_id=world.college_id, url=url, secret="whsec_test", events=["attempt.verified"]))
    with transaction(factory) as db:
        (d,) = outbox.enqueue(db, world.college_id, "attempt.verified", {"attempt": 1})
        did = d.id
    deliverer = Deliverer(factory, policy=RetryPolicy(max_attempts=3, jitter=0), timeout_s=3, address_policy=policy)
    try:
        deliverer.run_once()
    finally:
        deliverer.stop()
    with factory() as db:
        d = db.get(WebhookDelivery, did)
        d.log  # noqa: B018 - load it
        return d


def test_default_deliverer_refuses_loopback_and_logs_a_category(factory, world, receiver) -> None:
    d = _deliver(factory, world, f"http://2130706433:{receiver.port}/x", AddressPolicy())
    assert receiver.hosts == [] and d.log[0].error == "refused_address" and d.last_error == "refused_address"


def test_connects_to_the_checked_address_not_a_second_lookup(factory, world, receiver, monkeypatch) -> None:
    """DNS rebinding: the first answer is checked and used; a later answer (an internal host) is never asked."""
    answers = iter([["127.0.0.1"]] + [["10.9.9.9"]] * 10)
    monkeypatch.setattr("server.security.netcheck.system_resolver", lambda host, port: next(answers))
    d = _deliver(factory, world, f"http://hooks.rebind.test:{receiver.port}/x", AddressPolicy(allow_loopback=True))
    assert receiver.hosts == [f"hooks.rebind.test:{receiver.port}"]  # Host kept, address pinned
    assert d.log[0].status_code == 503 and d.log[0].error == "http_error"  # no body text of the receiver
    assert "db01" not in (d.last_error or "")


def test_https_keeps_the_name_for_tls() -> None:
    t = pin_url("https://hooks.example:8443/p?q=1", AddressPolicy(), lambda h, p: ["93.184.215.14"])
    assert t.url == "https://93.184.215.14:8443/p?q=1" and t.host_header == "hooks.example:8443"
    assert t.sni_hostname == "hooks.example"


def test_closed_port_is_a_category_not_an_error_text(factory, world) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = _deliver(factory, world, f"http://127.0.0.1:{port}/x", AddressPolicy(allow_loopback=True))
    assert d.log[0].error == "connection_failed" and "Errno" not in (d.last_error or "")
