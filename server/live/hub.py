"""The live side of the server: one :class:`LiveHub` per process holds the peer connections of the sessions it
serves, routes their encoded media to the recorder and the analysis workers, and stores every event the moment
the engine raises it.

A session's lasting state (status, start time, gaps, the event chain, recording manifest, enrolment) is in the
stores (``server.storage``), not here: a reconnection, or another node after this one died, resumes it from
there. What is only here is what needs the connection: the peer connection, the recorder's segment in flight,
the worker's analyser state.

Time in events and recordings is seconds from the session's ``started_at`` (wall clock), so it stays one time
line across reconnections and nodes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription

from proctor.events import fold_events, severity_for
from proctor.settings import EngineSettings
from server.live import protocol
from server.live.media import request_keyframe, tap_receiver
from server.live.sdp import cap_video_bitrate
from server.live.worker import AnalysisPool
from server.recording import SegmentRecorder, SegmentResult
from server.settings import ServerSettings
from server.storage import Stores
from server.storage.blobs import BlobStore

log = logging.getLogger(__name__)

AUDIO_BATCH_S = 0.25  # Opus packets go to the worker in batches this long (fewer messages and analyser calls:
# the audio analysis lags ~0.32 s anyway and speech needs 1 s to become an event)
HEARTBEAT_S = 5.0
WATCHDOG_S = 0.5
LATENCY_SAMPLES = 5000


def close_records(open_records: list[dict[str, Any]], t: float, reason: str) -> list[dict[str, Any]]:
    """Closing records for events whose analyser is gone (a dead worker, a node that went away)."""
    out = []
    for rec in open_records:
        end = max(float(rec["start"]), t)
        duration = round(end - float(rec["start"]), 3)
        out.append({**rec, "status": "closed", "end": round(end, 3), "duration": duration,
                    "severity": severity_for(rec["kind"], duration),
                    "evidence": {**rec.get("evidence", {}), "closed_by": reason}})
    return out


class LiveError(Exception):
    """A request the live side refuses: becomes an HTTP error with ``status``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def _epoch(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).timestamp()


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q / 100.0 * (len(s) - 1)))))]


@dataclass
class LiveSession:
    sid: str
    student_id: int
    t0: float  # epoch seconds of the session's start
    engine_settings: dict[str, Any]
    recorder: SegmentRecorder | None = None
    pc: RTCPeerConnection | None = None
    generation: int = 0
    channel: Any = None
    video_receiver: Any = None
    audio_batch: list[tuple[bytes, int]] = field(default_factory=list)
    audio_batch_t: float = 0.0
    audio_mime: str = "audio/opus"
    last_media_mono: float | None = None
    last_media_t: float | None = None
    lost_t: float | None = None  # session time the stream was lost (None while it flows)
    lost_mono: float | None = None
    open_signals: dict[str, float] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    counters_at: float | None = None  # time.monotonic() when the worker finished the frame the counters are of
    # (monotonic time, seconds) samples: a frame's arrival -> its analysis result back in this process, and
    # arrival -> the events it raised stored
    frame_latency: deque = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    event_latency: deque = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    waiters: dict[str, asyncio.Future] = field(default_factory=dict)
    events_stored: int = 0
    open_events: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> its "open" record
    kinds_raised: dict[str, int] = field(default_factory=dict)
    analysis_error: str | None = None
    ending: bool = False
    connections: int = 0
    created_mono: float = field(default_factory=time.monotonic)
    video_frames_in: int = 0  # encoded video frames taken off the connection (counted here, not in the worker)
    scanning: bool = False  # between the page's room_scan start and end
    in_exam: bool = False  # the page said the exam started (rules ask for re-scans only then)
    last_rescan_mono: float | None = None  # when a rule last asked for a re-scan

    def now_t(self) -> float:
        return time.time() - self.t0


class LiveHub:
    def __init__(self, stores: Stores, settings: ServerSettings, blobs: BlobStore | None = None,
                 engine_settings: EngineSettings | None = None,
                 enrolment_loader: Callable[[Any], dict[str, Any] | None] | None = None,
                 attempt_hooks: Any = None):
        self.stores = stores
        self.settings = settings
        self.blobs = blobs if blobs is not None else getattr(stores.recordings, "blobs", None)
        self.engine_settings = engine_settings or EngineSettings()
        self.enrolment_loader = enrolment_loader
        self.attempt_hooks = attempt_hooks
        # stable across restarts of this server (so it resumes its own sessions at once), unique per process
        self.node_id = settings.live_node_id or f"{socket.gethostname()}:{settings.port}"
        self.sessions: dict[str, LiveSession] = {}
        self.pool: AnalysisPool | None = None
        self.db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-store")
        self._tasks: list[asyncio.Task] = []
        self._pending: set[asyncio.Future] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    # ---- lifecycle --------------------------------------------------------------------------------------
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        if self.settings.live_ice_loopback:
            from server.live.ice import allow_loopback_candidates

            allow_loopback_candidates(True)
        from server.live.ice import filter_remote_candidates; filter_remote_candidates(self.settings)  # noqa: E702
        # one per core: with the engine's live cadence a frame costs ~12.5 ms CPU, and more processes than cores
        # cost more in switching than they gain (bench_live, 16 sessions: analysis 12.8 ms/frame with 2 workers,
        # 13.5 with 3, 13.9 with 4)
        workers = self.settings.live_workers or (os.cpu_count() or 1)
        self.pool = AnalysisPool(workers, self._on_worker, self.loop, factory=self.settings.live_analyzer)
        self._tasks = [asyncio.create_task(self._watchdog(), name="live-watchdog"),
                       asyncio.create_task(self._heartbeats(), name="live-heartbeats")]
        log.info("live hub %s started with %d analysis workers", self.node_id, workers)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for s in list(self.sessions.values()):
            # the node goes away, the exam does not: close what is in flight, leave the session resumable
            await self._drop_connection(s, "server shutting down")
            if s.recorder is not None:
                s.recorder.close()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self.pool is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.pool.shutdown)
        self.db.shutdown(wait=True)

    def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future:
        """Run a store call on the one store thread (keeps each chain's appends in order)."""
        fut = asyncio.get_running_loop().run_in_executor(self.db, lambda: fn(*args, **kwargs))
        self._pending.add(fut)
        fut.add_done_callback(self._pending.discard)
        return fut

    # ---- signalling ------------------------------------------------------------------------------------
    async def student_session(self, sid: str, student_id: int | None, active: bool = True) -> Any:
        """The session's stored state if it is the student's (404 unknown, 403 another's, 409 finished)."""
        state = await self._db(self.stores.sessions.get, sid)
        if state is None:
            raise LiveError(404, "unknown_session", f"no proctoring session {sid}")
        if student_id is not None and state.student_id != student_id:
            raise LiveError(403, "not_your_session", "this proctoring session belongs to another student")
        if active and not state.is_active:
            raise LiveError(409, "session_finished", f"the proctoring session is {state.status}")
        return state

    async def offer(self, sid: str, caller_id: int | None, sdp: str, sdp_type: str = "offer") -> dict[str, str]:
        """The browser's offer -> the server's answer. Raises :class:`LiveError` for anything refused."""
        await self.student_session(sid, caller_id, active=False)  # a finished one is refused under the lock
        if sdp_type != "offer":
            raise LiveError(400, "not_an_offer", f"expected an SDP offer, got type {sdp_type!r}")
        if not isinstance(sdp, str) or not sdp.startswith("v=0"):
            raise LiveError(400, "malformed_sdp", "the SDP does not start with v=0")
        if "\nm=video " not in sdp.replace("\r\n", "\n"):
            raise LiveError(400, "no_video", "the offer has no video: the camera must be sent")
        lock = self._locks.setdefault(sid, asyncio.Lock())
        async with lock:
            s = await self._session_for(sid)
            if s.pc is not None:
                await self._drop_connection(s, "replaced by a new connection")
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            try:
                return await self._negotiate(s, pc, sdp)
            except Exception as exc:  # noqa: BLE001 - aiortc raises many kinds on bad SDP
                if s.pc is pc:
                    s.pc = None
                    s.generation += 1
                await pc.close()
                if isinstance(exc, LiveError):
                    raise
                raise LiveError(400, "malformed_sdp", f"the offer could not be used: {exc}") from exc

    async def _session_for(self, sid: str) -> LiveSession:
        state = await self._db(self.stores.sessions.get, sid)  # again: it may have changed while we waited
        if state is None:
            raise LiveError(404, "unknown_session", f"no proctoring session {sid}")
        if not state.is_active:
            self.sessions.pop(sid, None)
            raise LiveError(409, "session_finished", f"the proctoring session is {state.status}")
        s = self.sessions.get(sid)
        if s is not None:
            return s
        limit = self.settings.live_max_sessions
        if limit and len(self.sessions) >= limit:
            raise LiveError(503, "node_full", f"this server already analyses {limit} live sessions; retry shortly")
        resumed = state.status != "pending"
        if resumed:  # live elsewhere (or here before a restart): take it over if its node is silent
            seen_before = datetime.now(timezone.utc) - timedelta(seconds=2 * HEARTBEAT_S)
            if state.node_id != self.node_id and not await self._db(self.stores.sessions.claim, sid, self.node_id,
                                                                   seen_before):
                raise LiveError(409, "held_by_another_node", "the session is live on another server; retry shortly")
        else:
            state = await self._db(self.stores.sessions.mark_live, sid, self.node_id)
        t0 = _epoch(state.started_at) if state.started_at else time.time()
        overrides = state.settings_overrides or {}
        engine = self.engine_settings.with_overrides(overrides) if overrides else self.engine_settings
        s = LiveSession(sid, state.student_id, t0, engine.model_dump(mode="json"))
        if resumed:  # the node that had it is gone: the gap started when it was last seen
            seen = state.last_seen_at or state.started_at or datetime.now(timezone.utc)
            s.lost_t = _epoch(seen) - t0
            s.lost_mono = time.monotonic() - (time.time() - _epoch(seen))
            if state.status == "live":  # it died without saying so: open the gap in the store
                await self._db(self.stores.sessions.stream_lost, sid, seen)
            # events the previous analyser left open end where its stream ended
            await self._db(self._close_dangling, sid, s.lost_t, "analysis_moved")
        first_index = await self._db(self._next_segment_index, sid)
        s.recorder = SegmentRecorder(lambda seg, s=s: self._store_segment(s, seg), lambda s=s: self._keyframe(s),
                                     segment_s=self.settings.live_segment_s, first_index=first_index)
        enrolment = None
        if self.enrolment_loader is not None:
            enrolment = await self._db(self.enrolment_loader, state)
        self.sessions[sid] = s
        self.pool.open(sid, s.engine_settings, enrolment, resumed=resumed or state.event_count > 0)
        return s

    def _close_dangling(self, sid: str, t: float, reason: str) -> None:
        dangling = [e for e in fold_events(e["record"] for e in self.stores.events.list(sid)) if e["status"] == "open"]
        self.stores.events.append_many(sid, close_records(dangling, t, reason))

    def _next_segment_index(self, sid: str) -> int:
        return max((seg.index + 1 for seg in self.stores.recordings.list(sid) if seg.kind == "video"), default=0)

    async def _negotiate(self, s: LiveSession, pc: RTCPeerConnection, sdp: str) -> dict[str, str]:
        s.generation += 1
        gen = s.generation
        s.pc = pc

        @pc.on("track")
        def on_track(track: Any) -> None:
            receiver = next((t.receiver for t in pc.getTransceivers() if t.receiver.track is track), None)
            if receiver is None:
                return
            if track.kind == "video":
                s.video_receiver = receiver
                tap_receiver(receiver, lambda mime, data, ts: self._on_video(s, gen, mime, data, ts))
            elif track.kind == "audio":
                tap_receiver(receiver, lambda mime, data, ts: self._on_audio(s, gen, mime, data, ts))

        @pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            if s.generation != gen:
                return
            s.channel = channel

            @channel.on("message")
            def on_message(raw: Any) -> None:
                if s.generation == gen:
                    self._on_client_message(s, raw)

            self._send(s, protocol.exam_state("proctoring", session_id=s.sid,
                                              reconnected=s.connections > 1))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if s.generation == gen and pc.connectionState in ("failed", "closed"):
                self._lost(s, f"connection {pc.connectionState}")

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if not any(t.kind == "video" for t in pc.getTransceivers()):
            raise LiveError(400, "no_video", "the offer has no video: the camera must be sent")
        vp8 = [c for c in RTCRtpReceiver.getCapabilities("video").codecs if c.mimeType.lower() in ("video/vp8", "video/rtx")]
        for t in pc.getTransceivers():
            if t.kind == "video":
                t.setCodecPreferences(vp8)  # recorded as sent (WebM/VP8), never re-encoded
        await pc.setLocalDescription(await pc.createAnswer())
        s.connections += 1
        # the camera stream's ceiling: enough for 640x480 at 15 fps, kind to a student's uplink, and the server
        # receives, decodes and records fewer packets and bytes (bench_live at 16 sessions: 1.58-1.64 server
        # cores, against 1.67 with the clip at 700 kbit/s)
        sdp = cap_video_bitrate(pc.localDescription.sdp, self.settings.live_video_max_kbps)
        return {"sdp": sdp, "type": pc.localDescription.type}

    # ---- media -----------------------------------------------------------------------------------------
    def _media_arrived(self, s: LiveSession, t: float) -> None:
        s.last_media_mono = time.monotonic()
        s.last_media_t = t
        if s.lost_t is not None:
            self._resumed(s, t)

    def _on_video(self, s: LiveSession, gen: int, mime: str, data: bytes, ts: int) -> None:
        if s.generation != gen or s.ending:
            return
        t = s.now_t()
        s.video_frames_in += 1
        self._media_arrived(s, t)
        if s.recorder is not None and mime.lower() == "video/vp8":
            s.recorder.video(data, t)
        self.pool.send(s.sid, ("video", s.sid, mime, data, ts, t, time.monotonic()))

    def _on_audio(self, s: LiveSession, gen: int, mime: str, data: bytes, ts: int) -> None:
        if s.generation != gen or s.ending:
            return
        t = s.now_t()
        if s.recorder is not None and mime.lower() == "audio/opus":
            s.recorder.audio(data, t)
        if not s.audio_batch:
            s.audio_batch_t = t
        s.audio_mime = mime
        s.audio_batch.append((data, ts))
        if t - s.audio_batch_t >= AUDIO_BATCH_S:
            self._flush_audio(s)

    def _flush_audio(self, s: LiveSession) -> None:
        if s.audio_batch:
            batch, s.audio_batch = s.audio_batch, []
            self.pool.send(s.sid, ("audio", s.sid, s.audio_mime, batch, s.audio_batch_t))

    def _keyframe(self, s: LiveSession) -> None:
        if s.video_receiver is not None:
            request_keyframe(s.video_receiver)

    def _store_segment(self, s: LiveSession, seg: SegmentResult) -> None:
        def put() -> None:
            info = self.stores.recordings.put_segment(s.sid, seg.index, "video", seg.data, t_start=seg.t_start,
                                                      t_end=seg.t_end, ext="webm")
            self.stores.events.append(s.sid, {
                "type": "recording_segment", "index": seg.index, "kind": "video", "key": info.key,
                "sha256": seg.sha256, "bytes": len(seg.data), "start": seg.t_start, "end": seg.t_end,
                "video_frames": seg.video_frames, "audio_packets": seg.audio_packets, "container": "webm",
                "codecs": ["vp8", "opus"]})

        fut = self._db(put)
        fut.add_done_callback(lambda f: f.exception() and log.error("storing segment %d of %s failed: %s",
                                                                    seg.index, s.sid, f.exception()))

    # ---- loss, reconnection, end -----------------------------------------------------------------------
    def _lost(self, s: LiveSession, reason: str) -> None:
        if s.lost_t is not None or s.ending:
            return
        s.lost_t = s.last_media_t if s.last_media_t is not None else s.now_t()
        s.lost_mono = s.last_media_mono or time.monotonic()
        log.info("session %s: stream lost at t=%.2f (%s)", s.sid, s.lost_t, reason)
        self._flush_audio(s)
        if s.recorder is not None:
            s.recorder.close()  # the segment in flight is stored now, not lost
        for kind, start in list(s.open_signals.items()):  # a tab switch cannot outlast the connection
            self._external(s, kind, start, s.lost_t, "browser", {"closed_by": "stream_lost"})
        s.open_signals.clear()
        self._send(s, protocol.exam_state("stream_lost"))
        at = _utc(s.t0 + s.lost_t)
        self._db(self.stores.sessions.stream_lost, s.sid, at).add_done_callback(
            lambda f: f.exception() and log.warning("stream_lost(%s): %s", s.sid, f.exception()))

    def _resumed(self, s: LiveSession, t: float) -> None:
        start, s.lost_t, s.lost_mono = s.lost_t, None, None
        duration = max(0.0, t - start)
        log.info("session %s: media back after %.2f s", s.sid, duration)
        self._external(s, "stream_lost", start, t, "server",
                       {"duration_s": round(duration, 3), "reconnected": True, "connection": s.connections})
        self._db(self.stores.sessions.mark_live, s.sid, self.node_id, _utc(s.t0 + t))
        self._send(s, protocol.exam_state("resumed", gap_s=round(duration, 3)))

    async def _drop_connection(self, s: LiveSession, reason: str) -> None:
        pc, s.pc, s.channel, s.video_receiver = s.pc, None, None, None
        s.generation += 1
        if s.last_media_t is not None:
            self._lost(s, reason)
        if pc is not None:
            await pc.close()

    async def _expire(self, s: LiveSession) -> None:
        if s.ending or s.lost_t is None:  # already ending, or the student came back meanwhile
            return
        start = s.lost_t
        end = start + self.settings.live_grace_s
        s.lost_t = None
        self._external(s, "stream_lost", start, end, "server",
                       {"duration_s": round(end - start, 3), "reconnected": False, "grace_s": self.settings.live_grace_s})
        await self.finish(s.sid, status="error", reason="the student did not reconnect within the grace period")

    async def finish(self, sid: str, status: str = "ended", reason: str = "exam submitted") -> dict[str, Any] | None:
        """End a live session: close the analysis (its last events stored), the recording, the connection."""
        s = self.sessions.get(sid)
        if s is None or s.ending:
            return None
        s.ending = True
        t_end = s.lost_t if s.lost_t is not None else s.now_t()
        for kind, start in list(s.open_signals.items()):
            self._external(s, kind, start, t_end, "browser", {"closed_by": "exam_end"})
        s.open_signals.clear()
        self._flush_audio(s)
        waiter = self._waiter(s, "finish")
        self.pool.send(sid, ("finish", sid, t_end))
        try:
            await asyncio.wait_for(waiter, 30.0)
        except asyncio.TimeoutError:
            log.error("session %s: the analysis did not finish in time", sid)
        if s.recorder is not None:
            s.recorder.close()
        self._send(s, protocol.exam_state("finished", reason=reason))
        self.pool.close_session(sid)
        stats = self.stats(sid)
        await self._db(self.stores.events.append, sid, {"type": "analysis_stats", "end": round(t_end, 3), **stats})
        try:
            await self._db(self.stores.sessions.end, sid, status=status)
        except Exception as exc:  # noqa: BLE001 - already ended elsewhere (e.g. the attempt's submit)
            log.info("session %s: end: %s", sid, exc)
        pc, s.pc = s.pc, None
        if pc is not None:
            await pc.close()
        self.sessions.pop(sid, None)
        return stats

    async def _watchdog(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(WATCHDOG_S)
            now = time.monotonic()
            stalled, last = now - last > 2 * WATCHDOG_S, now
            for sid in self.pool.check() if self.pool is not None else []:
                s = self.sessions.get(sid)
                if s is not None:
                    s.analysis_error = "the analysis worker was restarted"
                    t = round(s.now_t(), 3)
                    self._record(s, {"type": "analysis_restarted", "t": t,
                                     "reason": "the analysis worker process died; a new one took over"})
                    dangling, s.open_events = list(s.open_events.values()), {}
                    self._db(self.stores.events.append_many, sid, close_records(dangling, t, "analysis_restarted"))
            if stalled:  # this process was starved: let the media that waited be read before judging
                continue
            for s in list(self.sessions.values()):
                if s.ending:
                    continue
                if s.lost_t is None and s.last_media_mono is not None and \
                        now - s.last_media_mono > self.settings.live_media_timeout_s:
                    self._lost(s, "no media")
                if s.lost_t is not None and s.lost_mono is not None and now - s.lost_mono > self.settings.live_grace_s:
                    asyncio.create_task(self._expire(s))
                elif s.last_media_mono is None and s.pc is None and now - s.created_mono > self.settings.live_grace_s:
                    # an offer that never became a connection: free the analyser, the session stays resumable
                    self.pool.close_session(s.sid)
                    self.sessions.pop(s.sid, None)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            for s in list(self.sessions.values()):
                if not s.ending and s.lost_t is None and s.last_media_mono is not None:
                    self._db(self.stores.sessions.heartbeat, s.sid, self.node_id).add_done_callback(
                        lambda f: f.exception() and log.warning("heartbeat: %s", f.exception()))

    # ---- browser messages --------------------------------------------------------------------------------
    def send_to_student(self, sid: str, message: dict[str, Any]) -> bool:
        """Send a data channel message to the session's page (e.g. a proctor's note); False if not connected."""
        s = self.sessions.get(sid)
        if s is None or s.channel is None or s.channel.readyState != "open":
            return False
        self._send(s, message)
        return True

    def _send(self, s: LiveSession, message: dict[str, Any]) -> None:
        ch = s.channel
        if ch is not None and ch.readyState == "open":
            try:
                ch.send(protocol.dumps(message))
            except Exception:  # noqa: BLE001
                log.debug("data channel send failed", exc_info=True)

    def _record(self, s: LiveSession, record: dict[str, Any]) -> None:
        self._db(self.stores.events.append, s.sid, record)

    def _external(self, s: LiveSession, kind: str, start: float, end: float | None, source: str,
                  details: dict[str, Any] | None = None) -> None:
        self.pool.send(s.sid, ("external", s.sid, uuid.uuid4().hex[:12], kind, round(start, 3),
                               None if end is None else round(end, 3), source, details or {}))

    def _on_client_message(self, s: LiveSession, raw: Any) -> None:
        try:
            msg = protocol.parse_client_message(raw)
        except protocol.ProtocolError as exc:
            self._send(s, {"type": "error", "code": "bad_message", "text": str(exc)})
            return
        t = s.now_t()
        if msg.type == "browser_signal":
            if msg.phase == "start":
                s.open_signals.setdefault(msg.kind, t)
            elif msg.phase == "end":
                start = s.open_signals.pop(msg.kind, t)
                self._external(s, msg.kind, start, t, "browser", dict(msg.details))
            else:
                self._external(s, msg.kind, t, t, "browser", dict(msg.details))
        elif msg.type == "identity_check":
            asyncio.ensure_future(self._identity_step(s, t))
        elif msg.type == "room_scan":
            self._record(s, {"type": "room_scan", "phase": msg.phase, "t": round(t, 3)})
            if msg.phase == "start":
                s.scanning = True
                self.pool.send(s.sid, ("room_scan", s.sid, "", "start", round(t, 3)))
            else:
                s.scanning = False
                asyncio.ensure_future(self._room_scanned(s, t))
        elif msg.type == "step":
            self._record(s, {"type": "step", "step": msg.step, "t": round(t, 3)})
            if msg.step == "room_scan":
                self._send(s, protocol.room_scan_request(self.settings.live_room_scan_s))
        elif msg.type == "exam_state":
            self._record(s, {"type": "exam_state", "state": msg.state, "t": round(t, 3)})
            s.in_exam = msg.state == "started"
            if msg.state == "submitted":
                asyncio.ensure_future(self.finish(s.sid))
        elif msg.type == "ping":
            self._send(s, {"type": "pong", "t": round(t, 3)})

    async def enrol_photos(self, sid: str, photos: list[bytes]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(enrolment dict, None) or (None, {"photo_index", "reason", "message"}), made by the session's worker,
        which also starts using it for the live checks."""
        s = self.sessions.get(sid)
        if s is None or self.pool is None:
            raise LiveError(409, "not_connected", "connect the camera first: the enrolment is made by the live analysis")
        rid = uuid.uuid4().hex[:12]
        waiter = self._waiter(s, rid)
        self.pool.send(sid, ("enrol_photos", sid, rid, photos))
        try:
            return await asyncio.wait_for(waiter, 60.0)
        finally:
            s.waiters.pop(rid, None)

    def _waiter(self, s: LiveSession, rid: str) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        s.waiters[rid] = fut
        return fut

    async def _identity_step(self, s: LiveSession, t: float) -> None:
        """Check the live face against the enrolment on successive frames for up to ``live_identity_check_s``:
        the first frame with exactly one face that matches passes; otherwise the last reason is reported."""
        deadline = time.monotonic() + self.settings.live_identity_check_s
        reasons: dict[str, int] = {}
        while True:
            rid = uuid.uuid4().hex[:12]
            waiter = self._waiter(s, rid)
            self.pool.send(s.sid, ("identity", s.sid, rid))
            try:
                result = dict(await asyncio.wait_for(waiter, 15.0))
            except asyncio.TimeoutError:
                result = {"ok": False, "reason": "no_video"}
            finally:
                s.waiters.pop(rid, None)
            reasons[result["reason"]] = reasons.get(result["reason"], 0) + 1
            if result["ok"] or result["reason"] in ("not_enrolled", "error") or time.monotonic() > deadline \
                    or s.ending:
                break
            await asyncio.sleep(0.4)
        result["tries"], result["reasons"] = sum(reasons.values()), reasons
        if result["ok"] and self.attempt_hooks is not None:
            try:
                state = await self._db(self.stores.sessions.get, s.sid)
                result["attempt_state"] = await self._db(self.attempt_hooks.identity_verified, s.sid,
                                                         state.enrolment_id if state else None)
            except Exception as exc:  # noqa: BLE001 - e.g. the attempt already started
                log.warning("session %s: marking identity verified: %s", s.sid, exc)
        self._record(s, {"type": "identity_step", "t": round(t, 3), **result})
        self._send(s, {"type": "identity_result", **result})

    async def _room_scanned(self, s: LiveSession, t: float) -> None:
        """The page ended the scan: the worker judges it (its event is stored); only a passed scan marks the
        attempt room-scanned, a failed one tells the page why so the student can try again."""
        rid = uuid.uuid4().hex[:12]
        waiter = self._waiter(s, rid)
        self.pool.send(s.sid, ("room_scan", s.sid, rid, "end", round(t, 3)))
        try:
            summary = await asyncio.wait_for(waiter, 30.0)
        except asyncio.TimeoutError:
            summary = None
        finally:
            s.waiters.pop(rid, None)
        if summary is None:
            summary = {"passed": False, "coverage_deg": 0.0, "reasons": ["no_scan: no room scan frames were analysed"]}
        attempt_state = None
        if summary["passed"] and self.attempt_hooks is not None:
            try:
                attempt_state = await self._db(self.attempt_hooks.room_scanned, s.sid)
            except Exception as exc:  # noqa: BLE001
                log.warning("session %s: marking the room scanned: %s", s.sid, exc)
        self._send(s, {"type": "room_scan_recorded", "attempt_state": attempt_state, **summary})

    def request_room_scan(self, sid: str, reason: str) -> bool:
        """Ask the connected student to scan the room again (a proctor, or a rule); False if not connected."""
        s = self.sessions.get(sid)
        if s is None:
            return False
        sent = self.send_to_student(sid, {**protocol.room_scan_request(self.settings.live_room_scan_s),
                                          "reason": reason, "rescan": True})
        if sent:
            self._record(s, {"type": "room_scan_request", "reason": reason, "t": round(s.now_t(), 3)})
        return sent

    def _maybe_rescan(self, s: LiveSession, kind: str) -> None:
        if kind not in self.settings.live_rescan_after_events or not s.in_exam or s.scanning or s.ending:
            return
        now = time.monotonic()
        if s.last_rescan_mono is not None and now - s.last_rescan_mono < self.settings.live_rescan_min_interval_s:
            return
        if self.request_room_scan(s.sid, f"event:{kind}"):
            s.last_rescan_mono = now

    # ---- worker results ----------------------------------------------------------------------------------
    def _on_worker(self, msg: tuple) -> None:
        kind, sid = msg[0], msg[1]
        s = self.sessions.get(sid) if sid else None
        if kind == "error":
            log.error("analysis worker: session %s: %s", sid, msg[2])
            if s is not None:
                s.analysis_error = msg[2]
            return
        if s is None:
            return
        if kind == "frame":
            stats, records = msg[2], msg[3]
            s.counters, s.counters_at = stats["counters"], stats.get("done")
            now = time.monotonic()
            s.frame_latency.append((now, now - stats["arrival"]))
            if records:
                self._store_events(s, records, stats["arrival"])
        elif kind == "events":
            rid, records = msg[2], msg[3]
            done = self._store_events(s, records, None) if records else None
            fut = s.waiters.pop(rid, None) if rid else None
            if fut is not None and not fut.done():
                if done is None:
                    fut.set_result(None)
                else:
                    done.add_done_callback(lambda _f, fut=fut: fut.done() or fut.set_result(None))
        elif kind == "identity":
            fut = s.waiters.get(msg[2])
            if fut is not None and not fut.done():
                fut.set_result(msg[3])
        elif kind == "enrolled":
            if msg[3] is not None:
                self.pool.enrolled(sid, msg[3])
            fut = s.waiters.pop(msg[2], None)
            if fut is not None and not fut.done():
                fut.set_result((msg[3], msg[4]))
        elif kind == "opened":
            if msg[2]:
                s.analysis_error = msg[2]
                log.error("session %s: the analysis could not start: %s", sid, msg[2])
                self._send(s, {"type": "error", "code": "analysis_unavailable", "text": msg[2]})
        elif kind == "scan_progress":
            if s.scanning:
                self._send(s, protocol.room_scan_progress(msg[2]))
        elif kind == "scan_result":
            rid, summary, records = msg[2], msg[3], msg[4]
            done = self._store_events(s, records, None) if records else None
            fut = s.waiters.pop(rid, None) if rid else None
            if fut is not None and not fut.done():
                if done is None:
                    fut.set_result(summary)
                else:
                    done.add_done_callback(lambda _f, fut=fut: fut.done() or fut.set_result(summary))
        elif kind == "decode_error":
            self._keyframe(s)
        elif kind == "closed":
            s.counters = msg[2]

    def _store_events(self, s: LiveSession, records: list[tuple[dict[str, Any], dict[str, bytes]]],
                      arrival: float | None) -> asyncio.Future:
        def put() -> float:
            for _record, images in records:
                for name, data in images.items():
                    if self.blobs is not None:
                        self.blobs.put(f"{s.sid}/evidence/{name}", data)
            self.stores.events.append_many(s.sid, [r for r, _ in records])
            return time.monotonic()

        fut = self._db(put)

        def stored(f: asyncio.Future) -> None:
            if f.exception() is not None:
                log.error("session %s: storing %d events failed: %s", s.sid, len(records), f.exception())
                return
            s.events_stored += len(records)
            if arrival is not None:
                s.event_latency.append((f.result(), f.result() - arrival))
            for record, _ in records:
                s.kinds_raised[record["kind"]] = s.kinds_raised.get(record["kind"], 0) + (record["status"] == "open")
                if record["status"] == "open":
                    s.open_events[record["id"]] = record
                else:
                    s.open_events.pop(record["id"], None)
                if (record["status"] == "open" or record["source"] == "browser") and \
                        record["kind"] in protocol.WARNING_TEXT:
                    self._send(s, protocol.warning(record["kind"], record["id"]))
                if record["status"] == "open":
                    self._maybe_rescan(s, record["kind"])

        fut.add_done_callback(stored)
        return fut

    # ---- figures -----------------------------------------------------------------------------------------
    def stats(self, sid: str, since: float | None = None, samples: bool = False) -> dict[str, Any]:
        """Live figures of a session; latencies of frames analysed after ``since`` (time.monotonic(), which
        is one clock for every process of the machine)."""
        s = self.sessions.get(sid)
        if s is None:
            return {}
        fl = [v for at, v in s.frame_latency if since is None or at >= since]
        el = [v for at, v in s.event_latency if since is None or at >= since]
        rec = s.recorder
        return {
            "counters": dict(s.counters), "counters_at": s.counters_at, "video_frames_in": s.video_frames_in,
            "frame_latency_p50_s": percentile(fl, 50), "frame_latency_p95_s": percentile(fl, 95),
            "event_latency_p95_s": percentile(el, 95), "events_stored": s.events_stored,
            "kinds_raised": dict(s.kinds_raised), "connections": s.connections,
            "recording": None if rec is None else {"segments": rec.segments_written, "mux_cpu_s": round(rec.mux_seconds, 4),
                                                   "dropped_before_keyframe": rec.dropped_before_keyframe},
            "analysis_error": s.analysis_error, "stream_lost": s.lost_t is not None,
            **({"frame_latency_samples": fl, "event_latency_samples": el} if samples else {}),
        }
