"""The data channel in: each message of the student's page (:mod:`server.live.protocol`), checked and handed to
the job it belongs to (a browser signal to the analysis, the identity step and room scan to the checks, the
exam's end to the session)."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Coroutine

from server.live import protocol
from server.live.analysis import Analysis
from server.live.channel import send_to_student
from server.live.checks import Checks
from server.live.state import LiveSession
from server.live.store import StoreSink
from server.settings import ServerSettings


class BrowserMessages:
    def __init__(self, settings: ServerSettings, store: StoreSink, analysis: Analysis, checks: Checks,
                 finish: Callable[[str], Coroutine[Any, Any, Any]]):
        self.settings, self.store, self.analysis, self.checks, self.finish = settings, store, analysis, checks, finish
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_message(self, s: LiveSession, raw: Any) -> None:
        try:
            msg = protocol.parse_client_message(raw)
        except protocol.ProtocolError as exc:
            send_to_student(s, {"type": "error", "code": "bad_message", "text": str(exc)})
            return
        t = s.now_t()
        match msg:
            case protocol.BrowserSignal(phase="start"):
                s.open_signals.setdefault(msg.kind, t)
            case protocol.BrowserSignal(phase="end"):
                start = s.open_signals.pop(msg.kind, t)
                self.analysis.raise_event(s.sid, msg.kind, start, t, "browser", dict(msg.details))
            case protocol.BrowserSignal():
                self.analysis.raise_event(s.sid, msg.kind, t, t, "browser", dict(msg.details))
            case protocol.IdentityCheckRequest():
                self._spawn(self.checks.identity_step(s, t))
            case protocol.RoomScanReport(phase=phase):
                self.store.record(s.sid, {"type": "room_scan", "phase": phase, "t": round(t, 3)})
                if phase == "start":
                    self.checks.room_scan_started(s, t)
                else:
                    self._spawn(self.checks.room_scan_ended(s, t))
            case protocol.StepReport(step=step):
                self.store.record(s.sid, {"type": "step", "step": step, "t": round(t, 3)})
                if step == "room_scan":
                    send_to_student(s, protocol.room_scan_request(self.settings.live_room_scan_s))
            case protocol.ExamStateReport(state=state):
                self.store.record(s.sid, {"type": "exam_state", "state": state, "t": round(t, 3)})
                s.in_exam = state == "started"
                if state == "submitted":
                    self._spawn(self.finish(s.sid))
            case protocol.Ping():
                send_to_student(s, {"type": "pong", "t": round(t, 3)})
