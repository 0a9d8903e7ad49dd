"""The live side of one server process: :class:`LiveHub` keeps the registry of the sessions this node serves,
the watchdog and heartbeats, and routes what the analysis workers send back. Every other job has its module:

- ``signalling.py`` one peer connection (offer checked, answer, tapped tracks, data channel, bitrate ceiling),
- ``session.py`` a session's life (media in, loss, resume, expiry, finish with the integrity score),
- ``checks.py`` the identity step, the room scan and the re-scan policy,
- ``browser.py`` / ``bounds.py`` / ``channel.py`` the data channel in, its bounds, out; ``upkeep.py`` each heartbeat,
- ``analysis.py`` / ``worker.py`` / ``messages.py`` the worker processes, the calls to them and their messages,
- ``store.py`` the one store thread, ``state.py`` what is held of a session here.
A session's lasting state is in the stores (``server.storage``): a reconnection, or another node, resumes it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from proctor.settings import EngineSettings
from server.live import protocol, signalling
from server.live.analysis import Analysis, AnalysisPool
from server.live.browser import BrowserMessages
from server.live.channel import send_to_student
from server.live.checks import Checks
from server.live.messages import (
    Closed, DecodeFailed, Enrolled, EventsRaised, FrameAnalysed, FromWorker, IdentityProbed, Opened, ScanJudged,
    ScanProgress, StoredEvent, WorkerFailed,
)
from server.live.session import SessionFlow, end_scored
from server.live.state import LiveError, LiveSession, LoadedEnrolment, close_records, epoch
from server.live.store import StoreSink
from server.live.upkeep import Upkeep
from server.settings import ServerSettings
from server.storage import Stores
from server.storage.blobs import BlobStore
from server.storage.sessions import SessionState

__all__ = ["LiveError", "LiveHub", "LiveSession"]

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
WATCHDOG_S = 0.5


class LiveHub:
    def __init__(self, stores: Stores, settings: ServerSettings, blobs: BlobStore | None = None,
                 engine_settings: EngineSettings | None = None,
                 enrolment_loader: Callable[[SessionState], LoadedEnrolment | None] | None = None,
                 attempt_hooks: Any = None):
        self.stores = stores
        self.settings = settings
        self.engine_settings = engine_settings or EngineSettings()
        self.enrolment_loader = enrolment_loader
        self.attempt_hooks = attempt_hooks
        # stable across restarts of this server (so it resumes its own sessions at once), unique per process
        self.node_id = settings.live_node_id or f"{socket.gethostname()}:{settings.port}"
        self.store = StoreSink(stores, blobs if blobs is not None else getattr(stores.recordings, "blobs", None))
        self._sessions: dict[str, LiveSession] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.pool: AnalysisPool | None = None

    # ---- lifecycle --------------------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        from server.live.ice import allow_loopback_candidates, filter_remote_candidates

        if self.settings.live_ice_loopback:
            allow_loopback_candidates(True)
        filter_remote_candidates(self.settings)  # remote candidates only in the ranges the server may check
        # one per core (pinned to it: live_pin_workers): more processes than cores cost more in switching than they
        # gain (bench_live, 16 sessions: analysis 12.8 ms/frame with 2 workers, 13.5 with 3, 13.9 with 4)
        workers = self.settings.live_workers or (os.cpu_count() or 1)
        self.pool = AnalysisPool(workers, self._on_worker, loop, self.settings.live_analyzer,
                                 self.settings.live_pin_workers, self.settings.live_worker_cores)
        self.analysis = Analysis(self.pool)
        self.flow = SessionFlow(self.settings, self.node_id, self.store, self.pool, self.analysis,
                                forget=lambda sid: self._sessions.pop(sid, None))
        self.checks = Checks(self.settings, self.store, self.analysis, self.attempt_hooks)
        self.upkeep = Upkeep(self.settings, self.stores, self.store, self.flow, self.attempt_hooks)
        self.browser = BrowserMessages(self.settings, self.store, self.analysis, self.checks, self.upkeep.attempt_over)
        self.flow.signals = self.upkeep.spawn_to = self.browser
        self._tasks = [asyncio.create_task(self._watchdog(), name="live-watchdog"),
                       asyncio.create_task(self._heartbeats(), name="live-heartbeats")]
        log.info("live hub %s started with %d analysis workers", self.node_id, workers)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for s in list(self._sessions.values()):
            # the node goes away, the exam does not: close what is in flight, leave the session resumable
            await self.flow.drop_connection(s, "server shutting down")
            if s.recorder is not None:
                s.recorder.close()
        await self.store.drain()
        if self.pool is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.pool.shutdown)
        self.store.shutdown()

    # ---- the registry -----------------------------------------------------------------------------------
    def is_live(self, sid: str) -> bool:
        """This node serves the session now."""
        return sid in self._sessions

    def session_time(self, sid: str) -> float | None:
        """Seconds since the session's start, if this node serves it."""
        s = self._sessions.get(sid)
        return None if s is None else round(s.now_t(), 3)

    def worker_pid(self, sid: str) -> int | None:
        return self.pool.worker_pid(sid) if self.pool is not None and sid in self._sessions else None

    async def session_state(self, sid: str) -> SessionState | None:
        return await self.store.run(self.stores.sessions.get, sid)

    async def student_session(self, sid: str, student_id: int | None, active: bool = True) -> SessionState:
        """The session's stored state if it is the student's (404 unknown, 403 another's, 409 finished)."""
        state = await self.session_state(sid)
        if state is None:
            raise LiveError(404, "unknown_session", f"no proctoring session {sid}")
        if student_id is not None and state.student_id != student_id:
            raise LiveError(403, "not_your_session", "this proctoring session belongs to another student")
        if active and not state.is_active:
            raise LiveError(409, "session_finished", f"the proctoring session is {state.status}")
        return state

    async def offer(self, sid: str, caller_id: int | None, sdp: str, sdp_type: str = "offer") -> dict[str, str]:
        """The browser's offer -> the server's answer. Raises :class:`LiveError` for anything refused. The offer
        is checked in full before the session is marked live (a bad one starts no clock)."""
        await self.student_session(sid, caller_id, active=False)  # a finished one is refused under the lock
        signalling.check_offer_text(sdp, sdp_type)
        async with self._locks.setdefault(sid, asyncio.Lock()):
            pc, tracks = await signalling.check_offer(sdp)
            try:
                s = await self._session_for(sid)
                if s.pc is not None:
                    await self.flow.drop_connection(s, "replaced by a new connection")
                return await signalling.answer(s, pc, tracks, self.flow, self.browser.on_message,
                                               self.settings.live_video_max_kbps, self.settings.live_audio_ptime_ms)
            except Exception as exc:  # noqa: BLE001
                s_now = self._sessions.get(sid)
                if s_now is not None and s_now.pc is pc:
                    s_now.pc = None
                    s_now.generation += 1
                await pc.close()
                if isinstance(exc, LiveError):
                    raise
                raise LiveError(400, "malformed_sdp", f"the offer could not be used: {exc}") from exc

    async def _session_for(self, sid: str) -> LiveSession:
        state = await self.session_state(sid)  # again: it may have changed while we waited
        if state is None:
            raise LiveError(404, "unknown_session", f"no proctoring session {sid}")
        if not state.is_active:
            self._sessions.pop(sid, None)
            raise LiveError(409, "session_finished", f"the proctoring session is {state.status}")
        s = self._sessions.get(sid)
        if s is not None:
            return s
        limit = self.settings.live_max_sessions
        if limit and len(self._sessions) >= limit:
            raise LiveError(503, "node_full", f"this server already analyses {limit} live sessions; retry shortly")
        resumed = state.status != "pending"
        if resumed:  # live elsewhere (or here before a restart): take it over if its node is silent
            seen_before = datetime.now(timezone.utc) - timedelta(seconds=2 * HEARTBEAT_S)
            if state.node_id != self.node_id and not await self.store.run(self.stores.sessions.claim, sid,
                                                                         self.node_id, seen_before):
                raise LiveError(409, "held_by_another_node", "the session is live on another server; retry shortly")
        else:
            state = await self.store.run(self.stores.sessions.mark_live, sid, self.node_id)
        overrides = state.settings_overrides or {}
        engine = self.engine_settings.with_overrides(overrides) if overrides else self.engine_settings
        enrolment = None
        if self.enrolment_loader is not None:
            enrolment = await self.store.run(self.enrolment_loader, state)
        s = await self.flow.open(state, resumed, engine, enrolment)
        self._sessions[sid] = s
        return s

    # ---- what the routes and the review call --------------------------------------------------------------
    def send_to_student(self, sid: str, message: dict[str, Any]) -> bool:
        """Send a data channel message to the session's page (e.g. a proctor's note); False if not connected."""
        return send_to_student(self._sessions.get(sid), message)

    def request_room_scan(self, sid: str, reason: str) -> bool:
        """Ask the connected student to scan the room again (a proctor, or a rule); False if not connected."""
        s = self._sessions.get(sid)
        return s is not None and self.checks.request_room_scan(s, reason)

    async def enrol_photos(self, sid: str, photos: list[bytes]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(enrolment dict, None) or (None, {"photo_index", "reason", "message"}), made by the session's worker,
        which also starts using it for the live checks."""
        if sid not in self._sessions or self.pool is None:
            raise LiveError(409, "not_connected", "connect the camera first: the enrolment is made by the live analysis")
        return await self.analysis.enrol(sid, photos)

    def raise_event(self, sid: str, kind: str, start: float, end: float | None, source: str,
                    details: dict[str, Any] | None = None) -> None:
        """An event from outside the analysers (e.g. the identity step's mismatch with the college's reference)."""
        if sid in self._sessions:
            self.analysis.raise_event(sid, kind, start, end, source, details)

    def record(self, sid: str, record: dict[str, Any]) -> asyncio.Future[Any]:
        """Append a record to the session's chain (on the store thread, in order with the live records)."""
        return self.store.record(sid, record)

    def store_events(self, sid: str, events: list[StoredEvent], arrival: float | None = None) -> asyncio.Future[float] | None:
        """Store event emissions of a session this node serves (evidence, chain), then act on them: warn the
        student, count them, apply the re-scan policy."""
        s = self._sessions.get(sid)
        if s is None:
            return None
        fut = self.store.events(sid, events)

        def stored(f: asyncio.Future[float]) -> None:
            if f.exception() is not None:
                log.error("session %s: storing %d events failed: %s", sid, len(events), f.exception())
                return
            s.events_stored += len(events)
            if arrival is not None:
                s.event_latency.append((f.result(), f.result() - arrival))
            for ev in events:
                record = ev.record
                opened = record["status"] == "open"
                s.kinds_raised[record["kind"]] = s.kinds_raised.get(record["kind"], 0) + opened
                if opened:
                    s.open_events[record["id"]] = record
                else:
                    s.open_events.pop(record["id"], None)
                if (opened or record["source"] == "browser") and record["kind"] in protocol.WARNING_TEXT:
                    send_to_student(s, protocol.warning(record["kind"], record["id"]))
                if opened:
                    self.checks.event_opened(s, record["kind"])

        fut.add_done_callback(stored)
        return fut

    async def finish(self, sid: str, status: str = "ended", reason: str = "exam submitted") -> dict[str, Any] | None:
        """End a session this node serves (analysis closed, recording stored, score stored); None if it does not."""
        s = self._sessions.get(sid)
        return None if s is None else await self.flow.finish(s, status, reason)

    async def end_session(self, sid: str, status: str = "ended", reason: str = "ended") -> bool:
        """End a session wherever it is: finished here if this node serves it (True), else scored from its stored
        chain and ended in the store (False)."""
        if sid in self._sessions:
            await self.finish(sid, status, reason)
            return True
        state = await self.session_state(sid)
        if state is not None and state.is_active:
            t0 = epoch(state.started_at) if state.started_at else time.time()
            engine = self.engine_settings.with_overrides(state.settings_overrides or {})
            await self.store.run(end_scored, self.stores, sid, engine, max(0.0, time.time() - t0), status,
                                 reason=reason)
        return False

    def stats(self, sid: str, since: float | None = None, samples: bool = False) -> dict[str, Any]:
        """Live figures of a session this node serves ({} otherwise)."""
        s = self._sessions.get(sid)
        return {} if s is None else s.stats(since, samples)

    # ---- worker results ----------------------------------------------------------------------------------
    def _on_worker(self, msg: FromWorker) -> None:
        if isinstance(msg, WorkerFailed):
            log.error("analysis worker: session %s: %s", msg.sid, msg.text)
        s = self._sessions.get(msg.sid) if msg.sid else None
        if s is None:
            return
        match msg:
            case FrameAnalysed():
                s.counters, s.counters_at = msg.counters, msg.done
                now = time.monotonic()
                s.frame_latency.append((now, now - msg.arrival))
                if msg.events:
                    self.store_events(s.sid, msg.events, msg.arrival)
            case EventsRaised(rid=rid, events=events) | ScanJudged(rid=rid, events=events):
                answer = msg.summary if isinstance(msg, ScanJudged) else None
                done = self.store_events(s.sid, events) if events else None
                if done is None:  # the answer goes out once the events it reports are stored
                    self.analysis.resolve(rid, answer)
                else:
                    done.add_done_callback(lambda _f: self.analysis.resolve(rid, answer))
            case IdentityProbed(rid=rid, result=result):
                self.analysis.resolve(rid, result)
            case Enrolled(rid=rid, enrolment=enrolment, problem=problem):
                if enrolment is not None and self.pool is not None:
                    self.pool.enrolled(s.sid, enrolment)
                self.analysis.resolve(rid, (enrolment, problem))
            case Opened(error=error) if error:
                s.analysis_error = error
                log.error("session %s: the analysis could not start: %s", s.sid, error)
                send_to_student(s, {"type": "error", "code": "analysis_unavailable", "text": error})
            case ScanProgress(guide=guide) if s.scanning:
                send_to_student(s, protocol.room_scan_progress(guide))
            case DecodeFailed():
                self.flow.keyframe(s)
            case Closed(counters=counters):
                s.counters = counters
            case WorkerFailed(text=text):
                s.analysis_error = text

    # ---- watchdog and heartbeats --------------------------------------------------------------------------
    async def _watchdog(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(WATCHDOG_S)
            now = time.monotonic()
            stalled, last = now - last > 2 * WATCHDOG_S, now
            for sid in self.pool.check() if self.pool is not None else []:
                s = self._sessions.get(sid)
                if s is not None:
                    s.analysis_error = "the analysis worker was restarted"
                    t = round(s.now_t(), 3)
                    self.store.record(sid, {"type": "analysis_restarted", "t": t,
                                            "reason": "the analysis worker process died; a new one took over"})
                    dangling, s.open_events = list(s.open_events.values()), {}
                    self.store.run(self.stores.events.append_many, sid, close_records(dangling, t, "analysis_restarted"))
            if stalled:  # this process was starved: let the media that waited be read before judging
                continue
            for s in list(self._sessions.values()):
                if s.ending:
                    continue
                if s.lost_t is None and s.last_media_mono is not None and \
                        now - s.last_media_mono > self.settings.live_media_timeout_s:
                    self.flow.lost(s, "no media")
                if s.lost_t is not None and s.lost_mono is not None and now - s.lost_mono > self.settings.live_grace_s:
                    asyncio.create_task(self.flow.expire(s))
                elif s.last_media_mono is None and s.pc is None and now - s.created_mono > self.settings.live_grace_s:
                    # an offer that never became a connection: free the analyser, the session stays resumable
                    if self.pool is not None:
                        self.pool.close_session(s.sid)
                    self._sessions.pop(s.sid, None)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            now = time.monotonic()
            for s in list(self._sessions.values()):
                if s.ending:
                    continue
                if s.lost_t is None and s.last_media_mono is not None:
                    self.store.logged("heartbeat", self.stores.sessions.heartbeat, s.sid, self.node_id)
                self.upkeep.tick(s, now)
