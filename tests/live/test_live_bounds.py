"""The bounds on what a page may send (server/live/bounds.py, protocol.py, browser.py), without media: a burst of
one kind of signal is one event with its count, texts are cut, too many detail keys are refused, the costly
checks are rate-limited, and a page's "submitted" is refused and recorded while the attempt is open."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from server.live import protocol
from server.live.bounds import Burst, RateLimit, bounded_details
from server.live.browser import BrowserMessages
from server.live.state import LiveSession
from server.settings import ServerSettings


def test_a_burst_counts_its_signals_and_their_seconds() -> None:
    b = Burst("tab_switch", 10.0, 12.0, {"via": "blur"}, seconds=2.0)
    b.add(13.0, 14.5)
    b.add(15.0, 15.0)
    assert (b.start, b.end, b.count) == (10.0, 15.0, 3)
    assert b.details_out() == {"via": "blur", "count": 3, "seconds": 3.5}


def test_rate_limit_is_a_sliding_window() -> None:
    limit = RateLimit(2, 60.0)
    assert limit.allow(0.0) is None and limit.allow(1.0) is None
    assert limit.allow(2.0) == 58.0
    assert limit.allow(60.5) is None  # the first one left the window


def test_details_are_bounded() -> None:
    assert bounded_details({"a": "x" * 500, "n": 3}, 200) == {"a": "x" * 200, "n": 3, "truncated": True}
    assert bounded_details({"a": "short"}, 200) == {"a": "short"}
    many = {f"k{i}": 1 for i in range(protocol.MAX_DETAIL_KEYS + 1)}
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_client_message(json.dumps({"type": "browser_signal", "kind": "copy_paste", "details": many}))
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_client_message(json.dumps({"type": "browser_signal", "kind": "copy_paste",
                                                  "details": {"k" * 41: 1}}))


class _Fake:
    """Stands in for the analysis, the store, the checks and the data channel."""

    def __init__(self) -> None:
        self.raised: list[tuple] = []
        self.records: list[dict] = []
        self.identity_steps = 0

    def raise_event(self, sid, kind, start, end, source, details):
        self.raised.append((kind, start, end, source, details))

    def record(self, sid, record):
        self.records.append(record)

    async def identity_step(self, s, t):
        self.identity_steps += 1


def _messages(fake: _Fake, over: str | None = None, **settings) -> BrowserMessages:
    async def attempt_over(_s):
        return over

    cfg = ServerSettings(live_signal_burst_s=0.2, live_check_requests_per_min=2, **settings)
    return BrowserMessages(cfg, fake, fake, fake, attempt_over)


def _session(sent: list[dict]) -> LiveSession:
    s = LiveSession("sid", 1, 0.0, {})
    s.channel = SimpleNamespace(readyState="open", send=lambda raw: sent.append(json.loads(raw)))
    return s


def test_page_messages_are_bounded_and_a_page_cannot_end_the_exam() -> None:
    async def scenario() -> tuple[_Fake, list[dict], LiveSession]:
        fake, sent = _Fake(), []
        s = _session(sent)
        bm = _messages(fake)
        for _ in range(200):
            bm.on_message(s, json.dumps({"type": "browser_signal", "kind": "copy_paste", "details": {"t": "y" * 300}}))
        for _ in range(5):
            bm.on_message(s, json.dumps({"type": "identity_check"}))
        bm.on_message(s, json.dumps({"type": "exam_state", "state": "submitted"}))
        await asyncio.sleep(0.5)
        return fake, sent, s

    fake, sent, s = asyncio.run(scenario())
    assert len(fake.raised) == 1
    kind, _start, _end, source, details = fake.raised[0]
    assert (kind, source, details["count"], len(details["t"]), details["truncated"]) == ("copy_paste", "browser", 200, 200, True)
    assert fake.identity_steps == 2
    limited = [m for m in sent if m.get("code") == "rate_limited"]
    assert len(limited) == 3 and all(m["request"] == "identity_check" for m in limited)
    refused = [r for r in fake.records if r["type"] == "page_request_refused"]
    assert {(r["request"], r["count"]) for r in refused} == {("identity_check", 3), ("exam_state", 1)}
    assert any(m.get("code") == "page_request_refused" for m in sent)
    assert not s.ending and not s.bursts


def test_a_page_saying_submitted_after_the_attempt_was_submitted_is_not_refused() -> None:
    async def scenario() -> _Fake:
        fake = _Fake()
        bm = _messages(fake, over="submitted")
        bm.on_message(_session([]), json.dumps({"type": "exam_state", "state": "submitted"}))
        await asyncio.sleep(0.1)
        return fake

    assert not [r for r in asyncio.run(scenario()).records if r["type"] == "page_request_refused"]
