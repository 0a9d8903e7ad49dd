"""The checks around the exam: the identity step (the live face against the enrolment, on successive frames),
the room scan (started and ended by the page, judged by the engine), and the re-scan policy (a proctor asks, or
an event of a kind in ``live_rescan_after_events`` opens, at most once per ``live_rescan_min_interval_s``)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from server.live import protocol
from server.live.analysis import Analysis
from server.live.channel import send_to_student
from server.live.state import LiveSession
from server.live.store import StoreSink
from server.settings import ServerSettings

log = logging.getLogger(__name__)

PROBE_PAUSE_S = 0.4  # between two looks of the identity step
FINAL_REASONS = ("not_enrolled", "error")  # another look cannot change these


class Checks:
    def __init__(self, settings: ServerSettings, store: StoreSink, analysis: Analysis, attempt_hooks: Any = None):
        self.settings, self.store, self.analysis, self.attempt_hooks = settings, store, analysis, attempt_hooks

    # ---- identity step ---------------------------------------------------------------------------------
    async def identity_step(self, s: LiveSession, t: float) -> dict[str, Any]:
        """Check the live face against the enrolment on successive frames for up to ``live_identity_check_s``:
        the first frame with exactly one face that matches passes; otherwise the last reason is reported. A match
        marks the attempt's identity verified."""
        deadline = time.monotonic() + self.settings.live_identity_check_s
        reasons: dict[str, int] = {}
        while True:
            try:
                result = dict(await self.analysis.probe_identity(s.sid))
            except asyncio.TimeoutError:
                result = {"ok": False, "reason": "no_video"}
            reasons[result["reason"]] = reasons.get(result["reason"], 0) + 1
            if result["ok"] or result["reason"] in FINAL_REASONS or time.monotonic() > deadline or s.ending:
                break
            await asyncio.sleep(PROBE_PAUSE_S)
        result["tries"], result["reasons"] = sum(reasons.values()), reasons
        hold = None
        if result["ok"] and self.attempt_hooks is not None and hasattr(self.attempt_hooks, "identity_hold"):
            hold = await self.store.run(self.attempt_hooks.identity_hold, s.sid)
        if hold is not None:  # the face matches the photo taken now, but that photo is not the college's student
            result.update(ok=False, reason="reference_mismatch", live_match=True, proctor_required=True,
                          reference=hold)
        elif result["ok"] and self.attempt_hooks is not None:
            try:
                state = await self.store.run(self.store.stores.sessions.get, s.sid)
                result["attempt_state"] = await self.store.run(self.attempt_hooks.identity_verified, s.sid,
                                                               state.enrolment_id if state else None)
            except Exception as exc:  # noqa: BLE001 - e.g. the attempt already started
                log.warning("session %s: marking identity verified: %s", s.sid, exc)
        self.store.record(s.sid, {"type": "identity_step", "t": round(t, 3), **result})
        send_to_student(s, {"type": "identity_result", **result})
        return result

    # ---- room scan -------------------------------------------------------------------------------------
    def room_scan_started(self, s: LiveSession, t: float) -> None:
        s.scanning = True
        self.analysis.start_room_scan(s.sid, t)

    async def room_scan_ended(self, s: LiveSession, t: float) -> None:
        """The page ended the scan: the engine judges it (its event is stored); only a passed scan marks the
        attempt room-scanned, a failed one tells the page why so the student can try again."""
        s.scanning = False
        try:
            summary = await self.analysis.end_room_scan(s.sid, t)
        except asyncio.TimeoutError:
            summary = None
        if summary is None:
            summary = {"passed": False, "coverage_deg": 0.0, "reasons": ["no_scan: no room scan frames were analysed"]}
        attempt_state = None
        if summary["passed"] and self.attempt_hooks is not None:
            try:
                attempt_state = await self.store.run(self.attempt_hooks.room_scanned, s.sid)
            except Exception as exc:  # noqa: BLE001
                log.warning("session %s: marking the room scanned: %s", s.sid, exc)
        send_to_student(s, {"type": "room_scan_recorded", "attempt_state": attempt_state, **summary})

    def request_room_scan(self, s: LiveSession, reason: str) -> bool:
        """Ask the connected student to scan the room again; recorded in the chain when delivered."""
        sent = send_to_student(s, {**protocol.room_scan_request(self.settings.live_room_scan_s),
                                   "reason": reason, "rescan": True})
        if sent:
            self.store.record(s.sid, {"type": "room_scan_request", "reason": reason, "t": round(s.now_t(), 3)})
        return sent

    def event_opened(self, s: LiveSession, kind: str) -> None:
        """The re-scan policy: some kinds of event during the exam ask for a re-scan, not too often."""
        if kind not in self.settings.live_rescan_after_events or not s.in_exam or s.scanning or s.ending:
            return
        now = time.monotonic()
        if s.last_rescan_mono is not None and now - s.last_rescan_mono < self.settings.live_rescan_min_interval_s:
            return
        if self.request_room_scan(s, f"event:{kind}"):
            s.last_rescan_mono = now
