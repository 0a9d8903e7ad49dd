"""Analysis worker processes: encoded media in, events out, never behind.

The server's event loop only receives RTP and hands each *encoded* frame (VP8/H264 video, Opus audio) to the
session's worker process. A worker holds several sessions; for each one it

1. decodes every video frame (decoders need every frame) but keeps only the newest decoded one,
2. analyses the newest frame once analysis is due at ``analysis_fps``; analysis slots that passed while the
   worker was busy with other sessions are counted as ``skipped_behind`` (0 when it keeps up), the other
   frames not analysed as ``skipped_rate`` (15 fps in, 5 analysed: two of three),
3. decodes and analyses all audio (cheap), and raises external (browser/server) events so every event of a
   session gets its id from one rule engine.

It sends back each analysed frame's timing and the events (chain records + evidence JPEGs) at once; the server
stores them. Messages are plain tuples (cheap to pickle):

main -> worker: ``("open", sid, settings_dict, enrolment_dict|None, analyzer_factory, id_tag|None)``,
``("video", sid, mime, data, rtp_ts, t, arrival_mono)``, ``("audio", sid, mime, [(data, rtp_ts)], t)``,
``("enrol_photos", sid, request_id, [jpeg bytes])``, ``("identity", sid, request_id)``,
``("external", sid, request_id, kind, start, end, source, details)``, ``("room_scan", sid, request_id, phase, t)``,
``("finish", sid, t_end)``,
``("close", sid)``, ``("stop",)``.

worker -> main: ``("opened", sid, error|None)``, ``("frame", sid, stats_dict, [(record, images)])``,
``("events", sid, request_id|None, [(record, images)])``, ``("identity", sid, request_id, result_dict)``,
``("enrolled", sid, request_id, enrolment_dict|None, problem|None)``, ``("decode_error", sid)``,
``("closed", sid, counters)``, ``("error", sid, text)``, ``("scan_progress", sid, guide_dict)`` (the room scan's
live guide, at most every ``SCAN_PROGRESS_S``), ``("scan_result", sid, request_id, summary|None, [(record, images)])``.

Room scan: between ``("room_scan", ..., "start", t)`` and ``"end"`` every decoded frame also goes to a
:class:`proctor.roomscan.RoomScanTracker` (it needs >= 10 fps, more than the 5 fps analysis); the end gives its
``room_scan_completed`` / ``room_scan_incomplete`` event.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

log = logging.getLogger(__name__)

MAX_DRAIN = 500  # messages taken from the queue before analysing again
SCAN_PROGRESS_S = 0.25  # the room scan's live guide goes to the page about 4 times a second
SCAN_MAX_S = 180.0  # a scan never ended by the page is ended (and judged) after this long
DUE_TOLERANCE_S = 0.02  # a frame this early for its analysis slot still takes it (network jitter)


def load_factory(path: str) -> Callable[..., Any]:
    """``"package.module:function"`` -> the function (the analyser factory runs inside the worker)."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def default_analyzer(settings: dict[str, Any], enrolment: dict[str, Any] | None) -> Any:
    from proctor.pipeline import SessionAnalyzer
    from proctor.settings import EngineSettings

    return SessionAnalyzer(EngineSettings.model_validate(settings), enrolment=_enrolment(enrolment))


def _enrolment(data: dict[str, Any] | None) -> Any:
    if data is None:
        return None
    from proctor.identity import Enrolment

    return Enrolment.from_dict(data)


def set_enrolment(analyzer: Any, data: dict[str, Any] | None) -> None:
    """Give a running analyser the student's enrolment (made after the stream started)."""
    analyzer.enrolment = _enrolment(data)
    if analyzer.enrolment is not None and getattr(analyzer, "encoder", None) is None:
        from proctor.identity import FaceEncoder

        analyzer.encoder = FaceEncoder()


def tag_event_ids(analyzer: Any, tag: str) -> None:
    """Make a resumed session's new analyser give event ids that cannot repeat the ones already in its chain
    (``multiple_faces-1`` becomes ``multiple_faces-1.<tag>``; evidence image names follow the id)."""
    ids = getattr(getattr(analyzer, "rules", None), "ids", None)
    if ids is None:
        return
    plain = ids.next
    ids.next = lambda kind: f"{plain(kind)}.{tag}"


def _records(events: list[Any]) -> list[tuple[dict[str, Any], dict[str, bytes]]]:
    return [(ev.to_record(), dict(ev.evidence_images)) for ev in events]


@dataclass
class _Pending:
    frame: Any  # av.VideoFrame
    t: float
    arrival: float
    decoded: float


@dataclass
class _Session:
    sid: str
    analyzer: Any
    step: float
    video_decoder: Any = None
    video_mime: str = ""
    audio_decoder: Any = None
    resampler: Any = None
    latest: _Pending | None = None  # the newest decoded frame
    # arrival (time.monotonic(), one clock for all sessions) of the first frame due since the last analysis
    due_since: float | None = None
    last_analysed: float = -1e18  # time.monotonic() of the last analysis
    next_due: float = -1e9  # the next analysis slot (slots are 1/analysis_fps apart)
    identity_requests: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    scan: Any = None  # the RoomScanTracker while the student scans the room
    scan_t0: float = 0.0
    scan_last_t: float = -1e9  # time of the last frame given to the tracker
    scan_sent: float = -1e9  # monotonic time of the last progress message
    counters: dict[str, int] = field(default_factory=lambda: {
        "video_received": 0, "decoded": 0, "analysed": 0, "skipped_rate": 0, "skipped_behind": 0,
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


def _decoder(mime: str) -> Any:
    if mime.lower() == "audio/opus":
        return _OpusMonoDecoder()
    from aiortc.codecs import get_decoder
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    clock = 48000 if mime.lower().startswith("audio/") else 90000
    return get_decoder(RTCRtpCodecParameters(mimeType=mime, clockRate=clock, payloadType=96,
                                            channels=2 if clock == 48000 else None))


class Worker:
    """The loop of one worker process (also usable in-process for tests)."""

    def __init__(self, inq: Any, outq: Any, index: int = 0):
        self.inq, self.outq, self.index = inq, outq, index
        self.sessions: dict[str, _Session] = {}
        self.running = True

    # -------------------------------------------------------------------------------------------------
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
                self._handle(msg)
                n += 1
                if not self.running or n >= MAX_DRAIN:
                    break
                try:
                    msg = self.inq.get_nowait()
                except queue.Empty:
                    msg = None
            self._analyse_one()

    def _handle(self, msg: tuple) -> None:
        kind, sid = msg[0], msg[1] if len(msg) > 1 else None
        try:
            getattr(self, f"_on_{kind}")(*msg[1:])
        except Exception as exc:  # noqa: BLE001 - one bad session must not stop the others
            log.exception("worker %d: %s for session %s failed", self.index, kind, sid)
            self.outq.put(("error", sid, f"{kind}: {exc}"))

    def _on_stop(self) -> None:
        for s in list(self.sessions.values()):
            self._on_close(s.sid)
        self.running = False

    def _on_open(self, sid: str, settings: dict[str, Any], enrolment: dict[str, Any] | None, factory: str,
                 id_tag: str | None = None) -> None:
        if sid in self.sessions:  # a reconnection on the same node: the analysis goes on
            self.outq.put(("opened", sid, None))
            return
        try:
            analyzer = load_factory(factory)(settings, enrolment)
            if id_tag:
                tag_event_ids(analyzer, id_tag)
        except Exception as exc:  # noqa: BLE001
            log.exception("worker %d: cannot start the analysis of %s", self.index, sid)
            self.outq.put(("opened", sid, f"{type(exc).__name__}: {exc}"))
            return
        fps = float(settings.get("analysis_fps", 5.0)) or 5.0
        self.sessions[sid] = _Session(sid, analyzer, 1.0 / fps, settings=settings)
        self.outq.put(("opened", sid, None))

    def _on_close(self, sid: str) -> None:
        s = self.sessions.pop(sid, None)
        if s is None:
            return
        try:
            s.analyzer.close()
        finally:
            self.outq.put(("closed", sid, dict(s.counters)))

    def _on_enrol_photos(self, sid: str, request_id: str, photos: list[bytes]) -> None:
        """Make the enrolment here (dlib, ~0.1-1 s): never in the server's event loop process."""
        from proctor.identity import EnrolmentError, enrol

        s = self.sessions.get(sid)
        encoder = getattr(s.analyzer, "encoder", None) if s is not None else None
        try:
            data = enrol(photos, encoder=encoder).to_dict()
        except EnrolmentError as exc:
            self.outq.put(("enrolled", sid, request_id, None,
                           {"photo_index": exc.photo_index, "reason": exc.reason, "message": str(exc)}))
            return
        except ValueError as exc:
            self.outq.put(("enrolled", sid, request_id, None, {"photo_index": None, "reason": "unreadable",
                                                                "message": str(exc)}))
            return
        if s is not None:
            set_enrolment(s.analyzer, data)
        self.outq.put(("enrolled", sid, request_id, data, None))

    def _on_video(self, sid: str, mime: str, data: bytes, rtp_ts: int, t: float, arrival: float) -> None:
        s = self.sessions.get(sid)
        if s is None:
            return
        s.counters["video_received"] += 1
        if s.video_decoder is None or mime != s.video_mime:
            s.video_decoder, s.video_mime = _decoder(mime), mime
        from aiortc.jitterbuffer import JitterFrame

        c0 = time.thread_time()
        try:
            frames = s.video_decoder.decode(JitterFrame(data, rtp_ts))
        except Exception:  # noqa: BLE001 - a corrupt frame: wait for the next keyframe
            s.counters["decode_errors"] += 1
            self.outq.put(("decode_error", sid))
            return
        finally:
            s.counters["decode_cpu_ms"] += round((time.thread_time() - c0) * 1000)
        for frame in frames:
            s.counters["decoded"] += 1
            if s.latest is None or t - s.latest.t > s.step:  # the first frame, or the first after a gap
                s.next_due = max(s.next_due, t)  # the slots start again here
            s.latest = _Pending(frame, t, arrival, time.monotonic())
            if s.scan is not None:
                self._scan_frame(s, frame, t)
            if s.due_since is None and t + DUE_TOLERANCE_S >= s.next_due:
                s.due_since = arrival
        self._count_skipped(s)

    @staticmethod
    def _count_skipped(s: _Session) -> None:
        # every decoded frame that is neither analysed nor missed while the worker was busy was skipped by rate
        c = s.counters
        c["skipped_rate"] = c["decoded"] - c["analysed"] - c["skipped_behind"] - (s.due_since is not None)

    def _on_audio(self, sid: str, mime: str, packets: list[tuple[bytes, int]], t: float) -> None:
        s = self.sessions.get(sid)
        if s is None:
            return
        import av
        from aiortc.jitterbuffer import JitterFrame

        c0 = time.thread_time()
        if s.audio_decoder is None:
            s.audio_decoder = _decoder(mime)
            s.resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
        chunks = []
        for data, ts in packets:
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
            events = s.analyzer.process_audio(pcm, t)
            if events:
                self.outq.put(("events", sid, None, _records(events)))
        s.counters["audio_cpu_ms"] += round((time.thread_time() - c0) * 1000)

    def _on_identity(self, sid: str, request_id: str) -> None:
        self.sessions[sid].identity_requests.append(request_id)

    def _on_external(self, sid: str, request_id: str, kind: str, start: float, end: float | None, source: str,
                     details: dict[str, Any] | None) -> None:
        s = self.sessions[sid]
        ev = s.analyzer.external_event(kind, start, end, source, details)
        self.outq.put(("events", sid, request_id, _records([ev])))

    # ---- room scan ------------------------------------------------------------------------------------
    def _on_room_scan(self, sid: str, request_id: str, phase: str, t: float) -> None:
        s = self.sessions.get(sid)
        if s is None:
            self.outq.put(("scan_result", sid, request_id, None, []))
            return
        if phase == "start":
            from proctor.roomscan import RoomScanTracker

            from proctor.settings import EngineSettings

            engine = getattr(s.analyzer, "settings", None)
            if not isinstance(engine, EngineSettings):
                engine = EngineSettings.model_validate(s.settings) if s.settings else None
            s.scan = RoomScanTracker(engine, detect_faces=True)
            s.scan_t0, s.scan_last_t, s.scan_sent = t, -1e9, -1e9
            return
        self._scan_end(s, request_id)

    def _scan_frame(self, s: _Session, frame: Any, t: float) -> None:
        if t <= s.scan_last_t:  # the tracker needs increasing times
            return
        c0 = time.thread_time()
        try:
            guide = s.scan.update(frame.to_ndarray(format="rgb24"), t - s.scan_t0)
        except Exception as exc:  # noqa: BLE001 - a bad frame must not end the scan
            log.warning("worker %d: room scan frame of %s: %s", self.index, s.sid, exc)
            return
        finally:
            s.counters["scan_cpu_ms"] = s.counters.get("scan_cpu_ms", 0) + round((time.thread_time() - c0) * 1000)
        s.scan_last_t = t
        s.counters["scan_frames"] = s.counters.get("scan_frames", 0) + 1
        now = time.monotonic()
        if now - s.scan_sent >= SCAN_PROGRESS_S:
            s.scan_sent = now
            self.outq.put(("scan_progress", s.sid, guide))
        if t - s.scan_t0 > SCAN_MAX_S:
            self._scan_end(s, None)

    def _scan_end(self, s: _Session, request_id: str | None) -> None:
        tracker, s.scan = s.scan, None
        if tracker is None:  # an end without a start (or a second end)
            self.outq.put(("scan_result", s.sid, request_id, None, []))
            return
        result = tracker.result()
        ids = getattr(getattr(s.analyzer, "rules", None), "ids", None)
        event_id = ids.next(result.kind) if ids is not None else f"{result.kind}-{uuid.uuid4().hex[:8]}"
        ev = result.to_event(event_id, start=round(s.scan_t0, 3))
        # the strip is stored like other evidence frames: named after the event (one per scan), its sha256 in
        # the chain record's evidence.frames (the review's evidence check and the export follow it)
        images = {f"{event_id}_room_strip.jpg": data for data in ev.evidence_images.values()}
        ev.evidence_images = images
        ev.evidence["frames"] = [{"t": round(s.scan_t0 + result.duration_s, 3), "name": name, "role": "room_strip",
                                  "sha256": hashlib.sha256(data).hexdigest()} for name, data in images.items()]
        summary = {"passed": result.passed, "kind": result.kind, "event_id": event_id,
                   "coverage_deg": round(result.coverage_deg, 1), "reasons": list(result.reasons),
                   "warnings": list(result.warnings), "frames": result.frames,
                   "faces": [{"angle_deg": f.get("angle_deg"), "count": f.get("count")} for f in result.faces]}
        self.outq.put(("scan_result", s.sid, request_id, summary, _records([ev])))

    def _on_finish(self, sid: str, t_end: float) -> None:
        s = self.sessions.get(sid)
        if s is None:
            return
        if s.scan is not None:  # the session ended during a scan: judge what was scanned
            self._scan_end(s, None)
        events = s.analyzer.finish(t_end)
        self.outq.put(("events", sid, "finish", _records(events)))

    # -------------------------------------------------------------------------------------------------
    def _analyse_one(self) -> None:
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
        if s.identity_requests:
            self._identity(s)
            return
        item = s.latest
        # analysis slots lie on a fixed grid (so network jitter does not lower the rate); whole slots that
        # passed while this session waited were missed
        missed = max(0, int((item.t - s.next_due + DUE_TOLERANCE_S) // s.step))
        s.counters["skipped_behind"] += missed
        s.next_due += (missed + 1) * s.step
        s.due_since = None
        start, c0 = time.monotonic(), time.process_time()
        s.last_analysed = start
        try:
            rgb = item.frame.to_ndarray(format="rgb24")
            result = s.analyzer.process_frame(rgb, item.t)
        except Exception as exc:  # noqa: BLE001
            log.exception("worker %d: analysis of a frame of %s failed", self.index, s.sid)
            self.outq.put(("error", s.sid, f"analysis: {exc}"))
            return
        done = time.monotonic()
        s.counters["analysed"] += 1
        s.counters["engine_identity_checks"] = int(getattr(s.analyzer, "identity_checks", 0))
        self._count_skipped(s)
        s.counters["analyse_cpu_ms"] += round((time.process_time() - c0) * 1000)  # with the engine's own threads
        s.counters["analyse_wall_ms"] += round((done - start) * 1000)
        faces = getattr(result.signals, "faces", None)
        stats = {"t": item.t, "arrival": item.arrival, "decoded": item.decoded, "start": start, "done": done,
                 "faces": None if faces is None else len(faces), "counters": dict(s.counters)}
        self.outq.put(("frame", s.sid, stats, _records(result.events)))

    def _identity(self, s: _Session) -> None:
        requests, s.identity_requests = s.identity_requests, []
        try:
            result = identity_check(s.analyzer, s.latest.frame.to_ndarray(format="rgb24"), s.latest.t)
        except Exception as exc:  # noqa: BLE001
            log.exception("worker %d: identity check of %s failed", self.index, s.sid)
            result = {"ok": False, "reason": "error", "detail": str(exc)}
        s.counters["identity_checks"] += 1
        for rid in requests:
            self.outq.put(("identity", s.sid, rid, result))


def identity_check(analyzer: Any, rgb: np.ndarray, t: float) -> dict[str, Any]:
    """The identity step's check of the live face: no face / several faces / too dark / match / mismatch."""
    sig = analyzer.analyze_frame(rgb, t)
    camera = getattr(sig, "camera", None)
    dark = analyzer.settings.camera_blocked.dark_mean
    faces = list(sig.faces)
    out: dict[str, Any] = {"faces": len(faces), "brightness": None if camera is None else round(camera.brightness, 1)}
    if camera is not None and camera.brightness < dark:
        return {**out, "ok": False, "reason": "too_dark"}
    if not faces:
        return {**out, "ok": False, "reason": "no_face"}
    if len(faces) > 1:
        return {**out, "ok": False, "reason": "multiple_faces"}
    if analyzer.enrolment is None:
        return {**out, "ok": False, "reason": "not_enrolled"}
    from proctor.identity import best_match

    _, check = best_match(analyzer.enrolment, rgb, [faces[0].box], settings=analyzer.settings,
                          encoder=analyzer.encoder)
    if check is None:
        return {**out, "ok": False, "reason": "no_face"}
    return {**out, "ok": bool(check.match), "reason": "match" if check.match else "mismatch",
            "distance": round(float(check.distance), 4), "threshold": float(check.threshold)}


def worker_main(inq: Any, outq: Any, index: int) -> None:
    # the server stops its workers itself (a "stop" message): a Ctrl+C or SIGTERM sent to the whole process
    # group must not kill them first (the server would take that for a crash and restart them)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=os.environ.get("PROCTOR_WORKER_LOG", "WARNING"))
    try:
        Worker(inq, outq, index).run()
    except BaseException:  # noqa: BLE001
        outq.put(("error", None, f"worker {index} died: {traceback.format_exc()}"))
        raise


# ---------------------------------------------------------------------------------------------------------
class AnalysisPool:
    """The worker processes of one server, and the thread that brings their messages to the event loop."""

    def __init__(self, workers: int, on_message: Callable[[tuple], None],
                 loop: Any = None, factory: str = "server.live.worker:default_analyzer"):
        import asyncio

        self.factory = factory
        self.loop = loop or asyncio.get_running_loop()
        self.on_message = on_message
        self.ctx = mp.get_context("spawn")
        self.outq = self.ctx.Queue()
        self.inqs: list[Any] = [None] * max(1, workers)
        self.procs: list[Any] = [None] * max(1, workers)
        for i in range(len(self.procs)):
            self._spawn(i)
        self.assigned: dict[str, int] = {}
        self.opened: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {}  # to reopen after a crash
        self.restarts = 0
        self._reader = threading.Thread(target=self._read, name="analysis-results", daemon=True)
        self._reader.start()

    def _spawn(self, i: int) -> None:
        self.inqs[i] = self.ctx.Queue()
        self.procs[i] = self.ctx.Process(target=worker_main, args=(self.inqs[i], self.outq, i),
                                         name=f"proctor-analysis-{i}", daemon=True)
        self.procs[i].start()

    def check(self) -> list[str]:
        """Restart dead workers; their sessions are opened again (the analysis goes on from a fresh state).
        Returns the sessions that lost their analyser."""
        lost: list[str] = []
        for i, p in enumerate(self.procs):
            if p.is_alive():
                continue
            log.error("analysis worker %d (pid %s) died with exit code %s: restarting it", i, p.pid, p.exitcode)
            self.restarts += 1
            self._spawn(i)
            for sid, w in self.assigned.items():
                if w == i and sid in self.opened:
                    settings, enrolment = self.opened[sid]
                    self.inqs[i].put(("open", sid, settings, enrolment, self.factory, uuid.uuid4().hex[:6]))
                    lost.append(sid)
        return lost

    def _read(self) -> None:
        while True:
            try:
                msg = self.outq.get()
            except (EOFError, OSError):
                return
            if msg is None:
                return
            try:
                self.loop.call_soon_threadsafe(self.on_message, msg)
            except RuntimeError:  # loop closed
                return

    def worker_of(self, sid: str) -> int:
        if sid not in self.assigned:
            load = [0] * len(self.inqs)
            for w in self.assigned.values():
                load[w] += 1
            self.assigned[sid] = load.index(min(load))
        return self.assigned[sid]

    def send(self, sid: str, msg: tuple) -> None:
        self.inqs[self.worker_of(sid)].put(msg)

    def open(self, sid: str, settings: dict[str, Any], enrolment: dict[str, Any] | None, resumed: bool = False) -> None:
        """Start a session's analysis; ``resumed``: its chain already holds events (ids are tagged apart)."""
        self.opened[sid] = (settings, enrolment)
        self.send(sid, ("open", sid, settings, enrolment, self.factory, uuid.uuid4().hex[:6] if resumed else None))

    def enrolled(self, sid: str, enrolment: dict[str, Any]) -> None:
        """The worker made an enrolment for the session: remember it in case the worker must be restarted."""
        if sid in self.opened:
            self.opened[sid] = (self.opened[sid][0], enrolment)

    def close_session(self, sid: str) -> None:
        if sid in self.assigned:
            self.send(sid, ("close", sid))
            del self.assigned[sid]
        self.opened.pop(sid, None)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid]

    def shutdown(self, timeout: float = 5.0) -> None:
        for q in self.inqs:
            q.put(("stop",))
        for p in self.procs:
            p.join(timeout)
            if p.is_alive():
                p.terminate()
        self.outq.put(None)
        self._reader.join(1.0)
