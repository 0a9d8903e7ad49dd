"""The data channel in: each message of the student's page (:mod:`server.live.protocol`), checked and handed to
the job it belongs to (a browser signal to the analysis, the identity step and room scan to the checks).

The page asks, the server decides: a signal burst becomes one event with a count (``bounds.py``), its details
are bounded, the costly checks are rate-limited per session, and ``exam_state: submitted`` never ends the
session: the server looks at the attempt (ended by its submit API, its time-out or a proctor) and, if it is not
over, records the request as ``page_request_refused``."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Coroutine

from server.live import protocol
from server.live.analysis import Analysis
from server.live.bounds import Burst, RateLimit, bounded_details
from server.live.channel import send_to_student
from server.live.checks import Checks
from server.live.state import LiveSession
from server.live.store import StoreSink
from server.settings import ServerSettings


class BrowserMessages:
    def __init__(self, settings: ServerSettings, store: StoreSink, analysis: Analysis, checks: Checks,
                 attempt_over: Callable[[LiveSession], Coroutine[Any, Any, str | None]]):
        """``attempt_over(session)``: the attempt's state if it is over (the session is then ended), else None."""
        self.settings, self.store, self.analysis, self.checks = settings, store, analysis, checks
        self.attempt_over = attempt_over
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_message(self, s: LiveSession, raw: Any) -> None:
        try:
            msg = protocol.parse_client_message(raw)
        except protocol.ProtocolError as exc:
            send_to_student(s, {"type": "error", "code": "bad_message", "text": str(exc)[:500]})
            return
        t = s.now_t()
        match msg:
            case protocol.BrowserSignal(phase="start"):
                s.open_signals.setdefault(msg.kind, t)
            case protocol.BrowserSignal(phase="end"):
                self.signal(s, msg.kind, s.open_signals.pop(msg.kind, t), t, msg.details)
            case protocol.BrowserSignal():
                self.signal(s, msg.kind, t, t, msg.details)
            case protocol.IdentityCheckRequest():
                if self._allowed(s, "identity_check", t):
                    self.spawn(self.checks.identity_step(s, t))
            case protocol.RoomScanReport(phase=phase):
                if phase == "start" and (s.scanning or not self._allowed(s, "room_scan", t)):
                    if s.scanning:
                        self._refuse(s, "room_scan", t, "already_scanning", "a room scan is already going on")
                    return
                self.store.record(s.sid, {"type": "room_scan", "phase": phase, "t": round(t, 3)})
                if phase == "start":
                    self.checks.room_scan_started(s, t)
                else:
                    self.spawn(self.checks.room_scan_ended(s, t))
            case protocol.StepReport(step=step):
                self.store.record(s.sid, {"type": "step", "step": step, "t": round(t, 3)})
                if step == "room_scan":
                    send_to_student(s, protocol.room_scan_request(self.settings.live_room_scan_s))
            case protocol.ExamStateReport(state="submitted"):
                self.spawn(self._submitted(s, t))
            case protocol.ExamStateReport(state=state):
                self.store.record(s.sid, {"type": "exam_state", "state": state, "t": round(t, 3)})
                s.in_exam = True
            case protocol.Ping():
                send_to_student(s, {"type": "pong", "t": round(t, 3)})

    # ---- browser signals: one event per kind and window, with the count -----------------------------------
    def signal(self, s: LiveSession, kind: str, start: float, end: float, details: dict[str, Any]) -> None:
        burst = s.bursts.get(kind)
        if burst is not None:
            burst.add(start, end)
            return
        s.bursts[kind] = Burst(kind, start, end, bounded_details(details, self.settings.live_signal_detail_chars),
                               seconds=max(0.0, end - start))
        asyncio.get_running_loop().call_later(self.settings.live_signal_burst_s, self.flush_signal, s, kind)

    def flush_signal(self, s: LiveSession, kind: str) -> None:
        burst = s.bursts.pop(kind, None)
        if burst is not None:
            self.analysis.raise_event(s.sid, kind, burst.start, burst.end, "browser", burst.details_out())

    def flush_signals(self, s: LiveSession) -> None:
        """Every burst gathered so far becomes its event now (the connection or the exam ends)."""
        for key in list(s.bursts):
            (self._flush_refusal if key.startswith("refused:") else self.flush_signal)(s, key)

    # ---- the page's requests -----------------------------------------------------------------------------
    def _allowed(self, s: LiveSession, request: str, t: float) -> bool:
        limit = s.limits.setdefault(request, RateLimit(self.settings.live_check_requests_per_min, 60.0))
        wait = limit.allow(t)
        if wait is None:
            return True
        self._refuse(s, request, t, "rate_limited", f"too many {request} requests: at most "
                     f"{limit.limit} a minute; retry in {wait:g} s", retry_after_s=wait)
        return False

    def _refuse(self, s: LiveSession, request: str, t: float, code: str, text: str, **extra: Any) -> None:
        """Tell the page, and record the refusal (refusals of one request within a signal window are one record
        with their count, so refusing cannot flood the chain either)."""
        send_to_student(s, {"type": "error", "code": code, "request": request, "text": text, **extra})
        key = f"refused:{request}"
        burst = s.bursts.get(key)
        if burst is not None:
            burst.add(t, t)
            return
        s.bursts[key] = Burst(key, t, t, {"request": request, "reason": code, "text": text})
        asyncio.get_running_loop().call_later(self.settings.live_signal_burst_s, self._flush_refusal, s, key)

    def _flush_refusal(self, s: LiveSession, key: str) -> None:
        burst = s.bursts.pop(key, None)
        if burst is not None:
            self.store.record(s.sid, {"type": "page_request_refused", "t": round(burst.start, 3),
                                      "end": round(burst.end, 3), **burst.details_out()})

    async def _submitted(self, s: LiveSession, t: float) -> None:
        """The page says the exam was submitted: the server looks at the attempt itself."""
        state = await self.attempt_over(s)
        if state is None and not s.ending:
            self.store.record(s.sid, {"type": "page_request_refused", "t": round(t, 3), "request": "exam_state",
                                      "state": "submitted", "reason": "attempt_not_over", "count": 1,
                                      "text": "the page cannot end the exam: the attempt is still open"})
            send_to_student(s, {"type": "error", "code": "page_request_refused", "request": "exam_state",
                                "text": "the exam ends when the attempt is submitted, not by the page"})
