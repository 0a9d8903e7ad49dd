"""Analysis worker processes: encoded media in, events out, never behind. The worker decodes and schedules;
every decision about what a frame means is the engine's (:class:`proctor.pipeline.SessionAnalyzer`).

The server's event loop only receives RTP and hands each *encoded* frame (VP8/H264 video, Opus audio) to the
session's worker process (:mod:`server.live.messages`). A worker holds several sessions; for each one it

1. decodes every video frame a later frame refers to (the decoder skips the others: half of them when the page
   sends three temporal layers, none during a room scan) and keeps only the newest decoded one,
2. analyses the newest frame once analysis is due at ``analysis_fps``; analysis slots that passed while the
   worker was busy with other sessions are counted as ``skipped_behind`` (0 when it keeps up), the other
   frames not analysed as ``skipped_rate`` (15 fps in, 5 analysed: two of three),
3. decodes and analyses all audio (cheap), and raises external (browser/server) events so every event of a
   session gets its id from one rule engine,
4. during a room scan gives every decoded frame (15 fps) to the engine's room scan, and its live guide to the
   page at most every ``SCAN_PROGRESS_S``.

It sends back each analysed frame's timing and the events (chain records + evidence JPEGs) at once; the hub
stores them.
"""

from __future__ import annotations

import importlib
import logging
import os
import queue
import signal
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from server.live.messages import (
    AudioBatch, CloseSession, Closed, DecodeFailed, EndRoomScan, EnrolPhotos, Enrolled, EventsRaised,
    FinishSession, FrameAnalysed, IdentityProbed, MediaBatch, OpenSession, Opened, ProbeIdentity, RaiseEvent,
    ScanJudged, ScanProgress, StartRoomScan, StopWorker, StoredEvent, ToWorker, VideoPacket, WorkerFailed,
)

if TYPE_CHECKING:
    import av

    from proctor.events import Event
    from proctor.pipeline import SessionAnalyzer

log = logging.getLogger(__name__)

MAX_DRAIN = 500  # messages taken from the queue before analysing again
SCAN_PROGRESS_S = 0.25  # the room scan's live guide goes to the page about 4 times a second
SCAN_MAX_S = 180.0  # a scan never ended by the page is ended (and judged) after this long
DUE_TOLERANCE_S = 0.02  # a frame this early for its analysis slot still takes it (network jitter)

AnalyzerFactory = Callable[[dict[str, Any], "dict[str, Any] | None"], "SessionAnalyzer"]


def load_factory(path: str) -> AnalyzerFactory:
    """``"package.module:function"`` -> the function (the analyser factory runs inside the worker)."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def default_analyzer(settings: dict[str, Any], enrolment: dict[str, Any] | None) -> SessionAnalyzer:
    from proctor.identity import Enrolment
    from proctor.pipeline import SessionAnalyzer
    from proctor.settings import EngineSettings

    return SessionAnalyzer(EngineSettings.model_validate(settings),
                           enrolment=None if enrolment is None else Enrolment.from_dict(enrolment))


def stored(events: list[Event]) -> list[StoredEvent]:
    return [StoredEvent(ev.to_record(), dict(ev.evidence_images)) for ev in events]


@dataclass
class _Pending:
    frame: av.VideoFrame
    t: float
    arrival: float
    decoded: float


@dataclass
class _Session:
    sid: str
    analyzer: SessionAnalyzer
    step: float
    video_decoder: Any = None  # aiortc's decoder for the codec
    video_mime: str = ""
    audio_decoder: Any = None
    resampler: Any = None
    latest: _Pending | None = None  # the newest decoded frame
    # arrival (time.monotonic(), one clock for all sessions) of the first frame due since the last analysis
    due_since: float | None = None
    last_analysed: float = -1e18  # time.monotonic() of the last analysis
    next_due: float = -1e9  # the next analysis slot (slots are 1/analysis_fps apart)
    identity_requests: list[str] = field(default_factory=list)
    scan_sent: float = -1e9  # monotonic time of the last room scan progress message
    counters: dict[str, int] = field(default_factory=lambda: {
        "video_received": 0, "decoded": 0, "skipped_unreferenced": 0, "analysed": 0, "skipped_rate": 0,
        "skipped_behind": 0,
        "decode_errors": 0, "audio_packets": 0, "identity_checks": 0,
        "decode_cpu_ms": 0, "audio_cpu_ms": 0, "analyse_cpu_ms": 0, "analyse_wall_ms": 0})


class _OpusMonoDecoder:
    """Opus decoded straight to mono (libopus downmixes; aiortc's decoder gives stereo that the resampler then
    mixes down: ~20 % more audio CPU per session). Same ``decode(JitterFrame)`` as aiortc's decoders."""

    def __init__(self) -> None:
        import av

        self.codec = av.CodecContext.create("libopus", "r")
        self.codec.format, self.codec.layout, self.codec.sample_rate = "s16", "mono", 48000

    def decode(self, frame: Any) -> list[Any]:
        import av

        return self.codec.decode(av.Packet(frame.data))


class _Vp8Decoder:
    """VP8 by FFmpeg's own decoder (PyAV), one thread, so every frame comes out of the call that decodes it.

    ``skip_free(True)`` lets it skip the frames no later frame refers to (FFmpeg's ``skip_frame=NONREF``: the frame
    header says no reference buffer is updated): the page sends three temporal layers (``live_video
    .scalability_mode`` L1T3), so half the frames, 7.5 a second, are such frames; the analysis takes 5 a second of
    the others. Skipping one never spoils a later one. Same ``decode(JitterFrame)`` as aiortc's decoders."""

    def __init__(self) -> None:
        import av

        self.codec = av.CodecContext.create("vp8", "r")
        self.codec.thread_count = 1
        self.skipping = False

    def skip_free(self, on: bool) -> None:
        if on != self.skipping:
            self.codec.skip_frame, self.skipping = ("NONREF" if on else "DEFAULT"), on

    def decode(self, frame: Any) -> list[Any]:
        import av

        return self.codec.decode(av.Packet(frame.data))


def _decoder(mime: str) -> Any:
    if mime.lower() == "audio/opus":
        return _OpusMonoDecoder()
    if mime.lower() == "video/vp8":
        return _Vp8Decoder()
    from aiortc.codecs import get_decoder
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    clock = 48000 if mime.lower().startswith("audio/") else 90000
    return get_decoder(RTCRtpCodecParameters(mimeType=mime, clockRate=clock, payloadType=96,
                                            channels=2 if clock == 48000 else None))


class Worker:
    """The loop of one worker process (also usable in-process for tests: ``handle`` a message, ``analyse_one``)."""

    def __init__(self, inq: Any, outq: Any, index: int = 0):
        self.inq, self.outq, self.index = inq, outq, index
        self.sessions: dict[str, _Session] = {}
        self.running = True

    def run(self) -> None:
        parent = os.getppid()
        while self.running:
            if os.getppid() != parent:  # the server died without stopping us: do not linger as an orphan
                return
            busy = any(s.due_since is not None or s.identity_requests for s in self.sessions.values())
            try:
                msg = self.inq.get_nowait() if busy else self.inq.get(timeout=0.5)
            except queue.Empty:
                msg = None
            n = 0
            while msg is not None:
                self.handle(msg)
                n += 1
                if not self.running or n >= MAX_DRAIN:
                    break
                try:
                    msg = self.inq.get_nowait()
                except queue.Empty:
                    msg = None
            self.analyse_one()

    def handle(self, msg: ToWorker) -> None:
        try:
            match msg:
                case MediaBatch(messages=messages):
                    for m in messages:
                        self.handle(m)
                case VideoPacket():
                    self._video(msg)
                case AudioBatch():
                    self._audio(msg)
                case RaiseEvent(sid=sid, rid=rid):
                    ev = self.sessions[sid].analyzer.external_event(msg.kind, msg.start, msg.end, msg.source,
                                                                    msg.details)
                    self.outq.put(EventsRaised(sid, rid, stored([ev])))
                case ProbeIdentity(sid=sid, rid=rid):
                    self.sessions[sid].identity_requests.append(rid)
                case OpenSession():
                    self._open(msg)
                case EnrolPhotos():
                    self._enrol(msg)
                case StartRoomScan(sid=sid, t=t):
                    if sid in self.sessions:
                        self.sessions[sid].analyzer.start_room_scan(t)
                case EndRoomScan(sid=sid, rid=rid):
                    self._scan_end(sid, rid)
                case FinishSession(sid=sid, rid=rid, t_end=t_end):
                    if sid in self.sessions:
                        self.outq.put(EventsRaised(sid, rid, stored(self.sessions[sid].analyzer.finish(t_end))))
                case CloseSession(sid=sid):
                    self._close(sid)
                case StopWorker():
                    for sid in list(self.sessions):
                        self._close(sid)
                    self.running = False
        except Exception as exc:  # noqa: BLE001 - one bad session must not stop the others
            sid = getattr(msg, "sid", None)
            log.exception("worker %d: %s for session %s failed", self.index, type(msg).__name__, sid)
            self.outq.put(WorkerFailed(sid, f"{type(msg).__name__}: {exc}"))

    def _open(self, msg: OpenSession) -> None:
        if msg.sid in self.sessions:  # a reconnection on the same node: the analysis goes on
            self.outq.put(Opened(msg.sid, None))
            return
        try:
            analyzer = load_factory(msg.factory)(msg.settings, msg.enrolment)
            if msg.id_tag:
                analyzer.tag_event_ids(msg.id_tag)
        except Exception as exc:  # noqa: BLE001
            log.exception("worker %d: cannot start the analysis of %s", self.index, msg.sid)
            self.outq.put(Opened(msg.sid, f"{type(exc).__name__}: {exc}"))
            return
        fps = float(msg.settings.get("analysis_fps", 5.0)) or 5.0
        self.sessions[msg.sid] = _Session(msg.sid, analyzer, 1.0 / fps)
        self.outq.put(Opened(msg.sid, None))

    def _close(self, sid: str) -> None:
        s = self.sessions.pop(sid, None)
        if s is None:
            return
        try:
            s.analyzer.close()
        finally:
            self.outq.put(Closed(sid, dict(s.counters)))

    def _enrol(self, msg: EnrolPhotos) -> None:
        """Make the enrolment here (dlib, ~0.1-1 s): never in the server's event loop process."""
        from proctor.identity import EnrolmentError, enrol

        s = self.sessions.get(msg.sid)
        try:
            enrolment = s.analyzer.enrol(msg.photos) if s is not None else enrol(list(msg.photos))
        except EnrolmentError as exc:
            problem = {"photo_index": exc.photo_index, "reason": exc.reason, "message": str(exc)}
            self.outq.put(Enrolled(msg.sid, msg.rid, None, problem))
            return
        except ValueError as exc:
            problem = {"photo_index": None, "reason": "unreadable", "message": str(exc)}
            self.outq.put(Enrolled(msg.sid, msg.rid, None, problem))
            return
        self.outq.put(Enrolled(msg.sid, msg.rid, enrolment.to_dict(), None))

    # ---- media ----------------------------------------------------------------------------------------
    def _video(self, msg: VideoPacket) -> None:
        s = self.sessions.get(msg.sid)
        if s is None:
            return
        s.counters["video_received"] += 1
        if s.video_decoder is None or msg.mime != s.video_mime:
            s.video_decoder, s.video_mime = _decoder(msg.mime), msg.mime
        from aiortc.jitterbuffer import JitterFrame

        c0 = time.thread_time()
        skip = getattr(s.video_decoder, "skip_free", None)
        if skip is not None:  # the room scan follows every frame; the analysis needs only referenced ones
            skip(not s.analyzer.scanning)
        try:
            frames = s.video_decoder.decode(JitterFrame(msg.data, msg.rtp_ts))
        except Exception:  # noqa: BLE001 - a corrupt frame: wait for the next keyframe
            s.counters["decode_errors"] += 1
            self.outq.put(DecodeFailed(msg.sid))
            return
        finally:
            s.counters["decode_cpu_ms"] += round((time.thread_time() - c0) * 1000)
        if not frames and skip is not None and s.video_decoder.skipping:
            s.counters["skipped_unreferenced"] += 1
        t = msg.t
        for frame in frames:
            s.counters["decoded"] += 1
            if s.latest is None or t - s.latest.t > s.step:  # the first frame, or the first after a gap
                s.next_due = max(s.next_due, t)  # the slots start again here
            s.latest = _Pending(frame, t, msg.arrival, time.monotonic())
            if s.analyzer.scanning:
                self._scan_frame(s, frame, t)
            if s.due_since is None and t + DUE_TOLERANCE_S >= s.next_due:
                s.due_since = msg.arrival
        self._count_skipped(s)

    @staticmethod
    def _count_skipped(s: _Session) -> None:
        # every decoded frame that is neither analysed nor missed while the worker was busy was skipped by rate
        c = s.counters
        c["skipped_rate"] = c["decoded"] - c["analysed"] - c["skipped_behind"] - (s.due_since is not None)

    def _audio(self, msg: AudioBatch) -> None:
        s = self.sessions.get(msg.sid)
        if s is None:
            return
        import av
        from aiortc.jitterbuffer import JitterFrame

        c0 = time.thread_time()
        if s.audio_decoder is None:
            s.audio_decoder = _decoder(msg.mime)
            s.resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
        chunks = []
        for data, ts in msg.packets:
            s.counters["audio_packets"] += 1
            try:
                frames = s.audio_decoder.decode(JitterFrame(data, ts))
            except Exception:  # noqa: BLE001
                s.counters["decode_errors"] += 1
                continue
            for frame in frames:
                for out in s.resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
        if chunks:
            pcm = np.concatenate(chunks).astype(np.int16, copy=False)
            events = s.analyzer.process_audio(pcm, msg.t)
            if events:
                self.outq.put(EventsRaised(msg.sid, None, stored(events)))
        s.counters["audio_cpu_ms"] += round((time.thread_time() - c0) * 1000)

    # ---- room scan ------------------------------------------------------------------------------------
    def _scan_frame(self, s: _Session, frame: av.VideoFrame, t: float) -> None:
        c0 = time.thread_time()
        try:
            guide = s.analyzer.scan_frame(frame.to_ndarray(format="rgb24"), t)
        except Exception as exc:  # noqa: BLE001 - a bad frame must not end the scan
            log.warning("worker %d: room scan frame of %s: %s", self.index, s.sid, exc)
            return
        finally:
            s.counters["scan_cpu_ms"] = s.counters.get("scan_cpu_ms", 0) + round((time.thread_time() - c0) * 1000)
        if guide is None:
            return
        s.counters["scan_frames"] = s.counters.get("scan_frames", 0) + 1
        now = time.monotonic()
        if now - s.scan_sent >= SCAN_PROGRESS_S:
            s.scan_sent = now
            self.outq.put(ScanProgress(s.sid, guide))
        if s.analyzer.scan_elapsed(t) > SCAN_MAX_S:
            self._scan_end(s.sid, None)

    def _scan_end(self, sid: str, rid: str | None) -> None:
        s = self.sessions.get(sid)
        outcome = s.analyzer.end_room_scan() if s is not None else None
        if outcome is None:  # no session, or an end without a start (or a second end)
            self.outq.put(ScanJudged(sid, rid, None, []))
            return
        self.outq.put(ScanJudged(sid, rid, outcome.summary(), stored([outcome.event])))

    # ---- analysis -------------------------------------------------------------------------------------
    def analyse_one(self) -> None:
        """Analyse the newest frame of the session whose analysis has been due longest.

        Slots of ``1 / analysis_fps`` seconds that passed while this session waited are counted in
        ``skipped_behind``: with enough CPU it stays 0."""
        waiting = [s for s in self.sessions.values() if s.latest is not None
                   and (s.due_since is not None or s.identity_requests)]
        if not waiting:
            return
        # of the sessions with a frame due, the one analysed least recently (round robin when the worker cannot
        # keep up; times on the machine's one clock: media times are each session's own, and a session that
        # started earlier has later ones)
        s = min(waiting, key=lambda x: (x.last_analysed, x.due_since if x.due_since is not None else x.latest.arrival))
        item = s.latest
        assert item is not None
        if s.identity_requests:
            self._identity(s, item)
            return
        # analysis slots lie on a fixed grid (so network jitter does not lower the rate); whole slots that
        # passed while this session waited were missed
        missed = max(0, int((item.t - s.next_due + DUE_TOLERANCE_S) // s.step))
        s.counters["skipped_behind"] += missed
        s.next_due += (missed + 1) * s.step
        s.due_since = None
        start, c0 = time.monotonic(), time.process_time()
        s.last_analysed = start
        try:
            result = s.analyzer.process_frame(item.frame.to_ndarray(format="rgb24"), item.t)
        except Exception as exc:  # noqa: BLE001
            log.exception("worker %d: analysis of a frame of %s failed", self.index, s.sid)
            self.outq.put(WorkerFailed(s.sid, f"analysis: {exc}"))
            return
        done = time.monotonic()
        c = s.counters
        c["analysed"] += 1
        c["engine_identity_checks"] = s.analyzer.identity_checks
        self._count_skipped(s)
        c["analyse_cpu_ms"] += round((time.process_time() - c0) * 1000)  # with the engine's own threads
        c["analyse_wall_ms"] += round((done - start) * 1000)
        faces = result.signals.faces
        self.outq.put(FrameAnalysed(s.sid, item.t, item.arrival, item.decoded, start, done,
                                    None if faces is None else len(faces), dict(c), stored(result.events)))

    def _identity(self, s: _Session, item: _Pending) -> None:
        requests, s.identity_requests = s.identity_requests, []
        try:
            result = s.analyzer.identity_probe(item.frame.to_ndarray(format="rgb24"), item.t).to_dict()
        except Exception as exc:  # noqa: BLE001
            log.exception("worker %d: identity check of %s failed", self.index, s.sid)
            result = {"ok": False, "reason": "error", "detail": str(exc)}
        s.counters["identity_checks"] += 1
        for rid in requests:
            self.outq.put(IdentityProbed(s.sid, rid, result))


def worker_main(inq: Any, outq: Any, index: int, core: int | None = None) -> None:
    # the server stops its workers itself (StopWorker): a Ctrl+C or SIGTERM sent to the whole process group
    # must not kill them first (the server would take that for a crash and restart them)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=os.environ.get("PROCTOR_WORKER_LOG", "WARNING"))
    # one worker per core already uses every core: OpenCV's own thread pool (one thread per core by default)
    # only adds a thread that spins between the small image operations of each frame (bench_live at 20 sessions:
    # ~8,000 involuntary context switches a second per worker, ~40 ms of CPU a second)
    import cv2

    cv2.setNumThreads(1)
    if core is not None:  # live_pin_workers (bench_live at 20 sessions: 11.9 ms of CPU and 15.0 ms of wall time
        os.sched_setaffinity(0, {core})  # per analysed frame pinned, against 12.0-12.4 and 16.3-17.1 not)
    try:
        Worker(inq, outq, index).run()
    except BaseException:  # noqa: BLE001
        outq.put(WorkerFailed(None, f"worker {index} died: {traceback.format_exc()}"))
        raise
