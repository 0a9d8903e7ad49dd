"""A session's life on this node: opening it (fresh, or resumed from the stores), its media in (recorded, and
sent encoded to its analysis), the loss of its stream and the return within the grace period, its expiry, and
its end with the integrity score (:class:`proctor.recorder.SessionRecorder`, the same as ``proctor analyze``).

Time in events and recordings is seconds from the session's ``started_at`` (wall clock), so it stays one time
line across reconnections and nodes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable

from proctor.events import fold_events
from proctor.model_files import model_versions
from proctor.recorder import SessionRecorder, score_records
from proctor.score import IntegrityScore
from proctor.settings import EngineSettings
from server.live import protocol
from server.live.analysis import Analysis, AnalysisPool
from server.live.channel import send_to_student
from server.live.media import request_keyframe
from server.live.messages import VideoPacket, AudioBatch
from server.live.quality import PoorStretch, Thresholds
from server.live.state import LiveSession, LoadedEnrolment, close_records, epoch, utc
from server.live.store import StoreSink
from server.recording import SegmentRecorder, SegmentResult
from server.settings import ServerSettings
from server.storage import Stores
from server.storage.sessions import SessionState

log = logging.getLogger(__name__)

AUDIO_BATCH_S = 0.25  # Opus packets go to the worker in batches this long (fewer messages and analyser calls:
# the audio analysis lags ~0.32 s anyway and speech needs 1 s to become an event)


def end_scored(stores: Stores, sid: str, settings: EngineSettings, t_end: float, status: str,
               **extra: Any) -> IntegrityScore | None:
    """(Store thread) Score the session from its chain, append ``session_end`` and end it in the session store
    with the score; None if it had already ended (e.g. elsewhere)."""
    state = stores.sessions.get(sid)
    if state is None or not state.is_active:
        return None
    recorder = SessionRecorder(sid, settings, lambda record: stores.events.append(sid, record))
    score = recorder.end([e["record"] for e in stores.events.list(sid)], t_end, **extra)
    stores.sessions.end(sid, status=status, integrity_score=score.score, score_recommendation=score.recommendation,
                        score_breakdown=score.breakdown,
                        report={"source": "live", "score": score.to_dict(), "duration_s": round(t_end, 3)})
    return score


def close_dangling(stores: Stores, sid: str, t: float, reason: str) -> None:
    """(Store thread) Close at ``t`` the events of the chain left open by an analyser that is gone."""
    dangling = [e for e in fold_events(e["record"] for e in stores.events.list(sid)) if e["status"] == "open"]
    stores.events.append_many(sid, close_records(dangling, t, reason))


def score_provisional(stores: Stores, sid: str, settings: EngineSettings, t: float) -> IntegrityScore | None:
    """(Store thread) A running session's provisional score from its chain so far (open events count up to
    ``t``), by the same code as the final one; stored with the session unless it has ended meanwhile."""
    state = stores.sessions.get(sid)
    if state is None or not state.is_active:
        return None
    duration = round(max(t, 0.0), 3)
    score = score_records([e["record"] for e in stores.events.list(sid)], duration, settings)
    stored = stores.sessions.set_provisional_score(
        sid, integrity_score=score.score, score_recommendation=score.recommendation, score_breakdown=score.breakdown,
        report={"source": "live", "score": score.to_dict(), "duration_s": duration})
    return None if stored is None else score


class SessionFlow:
    def __init__(self, settings: ServerSettings, node_id: str, store: StoreSink, pool: AnalysisPool,
                 analysis: Analysis, forget: Callable[[str], None]):
        self.settings, self.node_id, self.store = settings, node_id, store
        self.stores = store.stores
        self.pool, self.analysis, self.forget = pool, analysis, forget
        self.signals: Any = None  # the data channel in (BrowserMessages): its signal bursts are flushed at the end

    # ---- opening ---------------------------------------------------------------------------------------
    async def open(self, state: SessionState, resumed: bool, engine: EngineSettings,
                   enrolment: LoadedEnrolment | None) -> LiveSession:
        """The session on this node (its state already marked live or claimed): its recorder and analysis."""
        sid = state.id
        t0 = epoch(state.started_at) if state.started_at else time.time()
        s = LiveSession(sid, state.student_id, t0, engine.model_dump(mode="json"))
        if resumed:  # the node that had it is gone: the gap started when it was last seen
            seen = state.last_seen_at or state.started_at or datetime.now(timezone.utc)
            s.lost_t = epoch(seen) - t0
            s.lost_mono = time.monotonic() - (time.time() - epoch(seen))
            if state.status == "live":  # it died without saying so: open the gap in the store
                await self.store.run(self.stores.sessions.stream_lost, sid, seen)
            # events the previous analyser left open end where its stream ended
            await self.store.run(close_dangling, self.stores, sid, s.lost_t, "analysis_moved")
        elif state.event_count == 0 or not await self.store.run(self._has_start, sid):
            # a first connection: the chain may already hold records made before it (a proctor's decision)
            stream = {"transport": "webrtc", "node_id": self.node_id, "audio": {"codec": "opus"},
                      "video": {"codec": "vp8", **self.settings.live_video.model_dump()},
                      "video_max_kbps": self.settings.live_video_max_kbps}
            recorder = SessionRecorder(sid, engine, lambda record: self.stores.events.append(sid, record))
            await self.store.run(recorder.start, {"stream": stream}, model_versions(),
                                 None if enrolment is None else [{"sha256": h} for h in enrolment.photo_sha256s])
        first_index = await self.store.run(self._next_segment_index, sid)
        s.recorder = SegmentRecorder(lambda seg, s=s: self._store_segment(s, seg), lambda s=s: self.keyframe(s),
                                     segment_s=self.settings.live_segment_s, first_index=first_index)
        self.pool.open(sid, s.engine_settings, None if enrolment is None else enrolment.data,
                       resumed=resumed or state.event_count > 0)
        return s

    def _has_start(self, sid: str) -> bool:
        return any(e["record"].get("type") == "session_start" for e in self.stores.events.list(sid))

    def _next_segment_index(self, sid: str) -> int:
        return max((seg.index + 1 for seg in self.stores.recordings.list(sid) if seg.kind == "video"), default=0)

    # ---- media in --------------------------------------------------------------------------------------
    def _media_arrived(self, s: LiveSession, t: float) -> None:
        s.last_media_mono = time.monotonic()
        s.last_media_t = t
        if s.lost_t is not None:
            self._resumed(s, t)

    def on_video(self, s: LiveSession, gen: int, mime: str, data: bytes, ts: int) -> None:
        if s.generation != gen or s.ending:
            return
        t = s.now_t()
        s.video_frames_in += 1
        s.video_bytes_in += len(data)
        self._media_arrived(s, t)
        if s.recorder is not None and mime.lower() == "video/vp8":
            s.recorder.video(data, t)
        self.analysis.send(s.sid, VideoPacket(s.sid, mime, data, ts, t, time.monotonic()))

    def on_audio(self, s: LiveSession, gen: int, mime: str, data: bytes, ts: int) -> None:
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
            self.analysis.send(s.sid, AudioBatch(s.sid, s.audio_mime, batch, s.audio_batch_t))

    def keyframe(self, s: LiveSession) -> None:
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

        self.store.logged(f"storing segment {seg.index} of {s.sid}", put)

    # ---- loss, reconnection, end -----------------------------------------------------------------------
    def stream_poor(self, s: LiveSession, stretch: PoorStretch | None) -> None:
        """A poor stretch of the stream as the server measured it (quality.py): context, never scored."""
        if stretch is not None:
            self.analysis.raise_event(s.sid, "stream_poor", stretch.start, stretch.end, "server", stretch.details)

    def close_signals(self, s: LiveSession, t: float, reason: str) -> None:
        """Browser signals still open (a tab switch) end with the connection or the exam; so does a poor stretch
        of the stream the server measured."""
        self.stream_poor(s, s.stream.close(Thresholds.of(self.settings)))
        for kind, start in list(s.open_signals.items()):
            if self.signals is not None:
                self.signals.signal(s, kind, start, t, {"closed_by": reason})
            else:
                self.analysis.raise_event(s.sid, kind, start, t, "browser", {"closed_by": reason})
        s.open_signals.clear()
        if self.signals is not None:
            self.signals.flush_signals(s)

    def lost(self, s: LiveSession, reason: str) -> None:
        if s.lost_t is not None or s.ending:
            return
        s.lost_t = s.last_media_t if s.last_media_t is not None else s.now_t()
        s.lost_mono = s.last_media_mono or time.monotonic()
        log.info("session %s: stream lost at t=%.2f (%s)", s.sid, s.lost_t, reason)
        self._flush_audio(s)
        if s.recorder is not None:
            s.recorder.close()  # the segment in flight is stored now, not lost
        self.close_signals(s, s.lost_t, "stream_lost")  # a tab switch cannot outlast the connection
        send_to_student(s, protocol.exam_state("stream_lost"))
        self.store.logged(f"stream_lost({s.sid})", self.stores.sessions.stream_lost, s.sid, utc(s.t0 + s.lost_t))

    def _resumed(self, s: LiveSession, t: float) -> None:
        start, s.lost_t, s.lost_mono = s.lost_t, None, None
        assert start is not None
        duration = max(0.0, t - start)
        log.info("session %s: media back after %.2f s", s.sid, duration)
        self.analysis.raise_event(s.sid, "stream_lost", start, t, "server",
                                  {"duration_s": round(duration, 3), "reconnected": True, "connection": s.connections})
        self.store.logged(f"mark_live({s.sid})", self.stores.sessions.mark_live, s.sid, self.node_id, utc(s.t0 + t))
        resumed = protocol.exam_state("resumed", gap_s=round(duration, 3))
        s.pending_resumed = None if send_to_student(s, resumed) else resumed

    async def drop_connection(self, s: LiveSession, reason: str) -> None:
        pc, s.pc, s.channel, s.video_receiver = s.pc, None, None, None
        s.generation += 1
        if s.last_media_t is not None:
            self.lost(s, reason)
        if pc is not None:
            await pc.close()

    async def expire(self, s: LiveSession) -> None:
        """The grace period ended without the student: the gap is an event, the session ends (``error``)."""
        if s.ending or s.lost_t is None:  # already ending, or the student came back meanwhile
            return
        start = s.lost_t
        end = start + self.settings.live_grace_s
        s.lost_t = None
        self.analysis.raise_event(s.sid, "stream_lost", start, end, "server", {
            "duration_s": round(end - start, 3), "reconnected": False, "grace_s": self.settings.live_grace_s})
        await self.finish(s, status="error", reason="the student did not reconnect within the grace period")

    async def finish(self, s: LiveSession, status: str = "ended", reason: str = "exam submitted") -> dict[str, Any] | None:
        """End a live session: close the analysis (its last events stored), the recording, the connection; score
        it and store the score with the session."""
        if s.ending:
            return None
        s.ending = True
        t_end = s.lost_t if s.lost_t is not None else s.now_t()
        self.close_signals(s, t_end, "exam_end")
        self._flush_audio(s)
        try:
            await self.analysis.finish(s.sid, t_end)
        except asyncio.TimeoutError:
            log.error("session %s: the analysis did not finish in time", s.sid)
        if s.recorder is not None:
            s.recorder.close()
        send_to_student(s, protocol.exam_state("finished", reason=reason))
        self.pool.close_session(s.sid)
        stats = s.stats()
        await self.store.record(s.sid, {"type": "analysis_stats", "end": round(t_end, 3), **stats})
        try:
            score = await self.store.run(end_scored, self.stores, s.sid, s.engine(),
                                         t_end, status, reason=reason)
            if score is None:
                log.info("session %s: already ended elsewhere", s.sid)
        except Exception as exc:  # noqa: BLE001 - e.g. ended meanwhile by the attempt's submit
            log.info("session %s: end: %s", s.sid, exc)
        pc, s.pc = s.pc, None
        if pc is not None:
            await pc.close()
        self.forget(s.sid)
        return stats
