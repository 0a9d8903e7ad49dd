"""Issue 12's findings in the live and review routes: a malformed offer starts nothing, live figures of someone
else's session are a 404, and a Last-Event-ID that is not a chain position leaves the review's stream working."""

from __future__ import annotations

import json

import pytest

from backend.conftest import (  # noqa: F401  (fixtures)
    app, backend, client, db_url, engine, factory, make_proctoring_session, pg_server, pg_template, settings,
    sqlite_template, world,
)

GARBLED = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:x\r\n"


def test_a_malformed_offer_does_not_start_the_session(app, client, factory, world):
    _attempt, sid = make_proctoring_session(factory, world, "alice")
    r = client.post(f"/api/live/sessions/{sid}/offer", headers=world.h("alice"), json={"sdp": GARBLED, "type": "offer"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_sdp"
    state = app.state.stores.sessions.get(sid)
    assert state.status == "pending" and state.started_at is None and state.node_id is None  # no clock started
    assert app.state.stores.events.list(sid) == []
    assert not app.state.live_hub.is_live(sid)


def test_live_stats_of_another_students_or_colleges_session_are_not_found(client, factory, world):
    _attempt, sid = make_proctoring_session(factory, world, "alice")
    url = f"/api/live/sessions/{sid}/stats"
    assert client.get(url, headers=world.h("alice")).status_code == 200
    assert client.get(url, headers=world.h("proctor")).status_code == 200
    for who in ("bob", "other_proctor", "other_student"):  # the same answer as for a session that does not exist
        r = client.get(url, headers=world.h(who))
        assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_session", who
    assert client.get("/api/live/sessions/nope/stats", headers=world.h("proctor")).status_code == 404


@pytest.mark.parametrize("header", ["9" * 5000, "9" * 40, "12abc", "-5", ""])
def test_a_bad_last_event_id_is_ignored_by_the_review_stream(app, client, factory, world, header):
    _attempt, sid = make_proctoring_session(factory, world, "alice")
    app.state.stores.events.append(sid, {"type": "proctor_message", "t": None, "by": "user:1", "text": "hi",
                                         "delivered": False})
    headers = {**world.h("proctor"), "Last-Event-ID": header}
    with client.stream("GET", f"/api/review/sessions/{sid}/stream", headers=headers) as r:
        assert r.status_code == 200
        data = None
        for line in r.iter_lines():
            if line.startswith("data: ") and '"seq"' in line:
                data = json.loads(line[len("data: "):])
                break
    assert data is not None and data["seq"] == 0  # from the start, as without the header
