"""Offline analysis of a recorded exam: ``proctor analyze VIDEO [--reference PHOTO ...] [--audio WAV] --out DIR``.

Writes into DIR:
- ``events.json``: the session's hash chain (a ``session_start`` record, every event emission, a
  ``session_end`` record with the score) plus the folded events, the score and the chain's verification;
- ``signals.json``: the signal series (per analysed frame and per 100 ms of audio) the plots are drawn from;
- ``evidence/*.jpg``: the frames that show each event (their sha256 are in the chain);
- ``report.html``: the timeline, plots and evidence thumbnails.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from proctor.chain import EventChain, genesis_for, verify_chain
from proctor.events import Event, fold_events
from proctor.media import MediaError, iter_video_frames, load_image, probe_video
from proctor.model_files import sha256_of
from proctor.recorder import SessionRecorder
from proctor.settings import EngineSettings

AUDIO_RATE = 16000


@dataclass
class OfflineSession:
    """Collects chain entries and series while a file is analysed."""

    chain: EventChain
    out: Path
    frame_series: list[dict[str, Any]] = field(default_factory=list)
    audio_series: list[dict[str, Any]] = field(default_factory=list)

    recorder: SessionRecorder | None = None

    def store(self, events: list[Event]) -> None:
        for ev in events:
            for name, jpeg in ev.evidence_images.items():
                path = self.out / "evidence" / name
                if not path.exists():
                    path.write_bytes(jpeg)
        assert self.recorder is not None
        self.recorder.events(events)


def _load_audio(video: Path, audio: Path | None, has_audio: bool) -> tuple[np.ndarray | None, str]:
    from proctor.audio import read_audio

    if audio is not None:
        return read_audio(audio), str(audio)
    if has_audio:
        return read_audio(video), f"{video} (audio track)"
    return None, "none (the video has no audio track and no --audio was given)"


def analyze_file(
    video: Path,
    out: Path,
    references: list[Path] | None = None,
    audio: Path | None = None,
    overrides: dict[str, Any] | None = None,
    progress: bool = True,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Analyse ``video`` into ``out`` and return a summary (score, events by kind, counts, timings)."""
    from proctor.identity import enrol
    from proctor.pipeline import SessionAnalyzer

    settings = EngineSettings().with_overrides(overrides)
    info = probe_video(video)
    if info.width <= 0 or info.height <= 0:
        raise MediaError(f"{video}: the video stream has no picture size")
    enrolment = enrol([load_image(p) for p in references]) if references else None
    pcm, audio_source = _load_audio(video, audio, info.has_audio)

    out.mkdir(parents=True, exist_ok=True)
    (out / "evidence").mkdir(exist_ok=True)
    video_sha256 = sha256_of(video)
    session_id = f"offline-{video_sha256[:16]}"
    sess = OfflineSession(EventChain(genesis_for(session_id)), out)
    recorder = sess.recorder = SessionRecorder(session_id, settings, sess.chain.append)
    started = time.perf_counter()

    with SessionAnalyzer(settings, enrolment=enrolment) as analyzer:
        recorder.start(
            {"video": {"name": video.name, "sha256": video_sha256, "width": info.width, "height": info.height,
                       "fps": round(info.fps, 3), "duration_s": round(info.duration_s, 3)}},
            analyzer.versions,
            None if enrolment is None else [{"name": p.name, "sha256": sha256_of(p)} for p in references or []],
            audio=audio_source,
        )
        audio_pos = 0
        total = max(1, math.ceil(info.duration_s * settings.analysis_fps)) if info.duration_s else None
        bar = _progress(total, progress, video.name)
        last_t = 0.0
        try:
            for frame in iter_video_frames(video, fps=settings.analysis_fps, max_width=settings.max_width):
                if pcm is not None:  # feed the audio up to this frame's time, so events come in time order
                    upto = min(len(pcm), int(frame.t * AUDIO_RATE))
                    if upto > audio_pos:
                        emitted = analyzer.process_audio(pcm[audio_pos:upto], audio_pos / AUDIO_RATE)
                        _store(sess, emitted, on_event)
                        audio_pos = upto
                result = analyzer.process_frame(frame.rgb, frame.t, frame.index)
                sess.frame_series.append(result.signals.summary())
                _store(sess, result.events, on_event)
                last_t = frame.t
                bar.update(1)
        finally:
            bar.close()
        end_t = max(last_t + 1.0 / settings.analysis_fps, info.duration_s or 0.0)
        if pcm is not None and audio_pos < len(pcm):
            _store(sess, analyzer.process_audio(pcm[audio_pos:], audio_pos / AUDIO_RATE), on_event)
            end_t = max(end_t, len(pcm) / AUDIO_RATE)
        _store(sess, analyzer.finish(end_t), on_event)
        sess.audio_series = list(analyzer.rules.audio_series)
        frames_analysed = analyzer.frames_analysed
        identity_checks = analyzer.identity_checks
        neutral = analyzer.rules.neutral.to_dict()

    elapsed = time.perf_counter() - started
    score = recorder.end(sess.chain.entries, end_t, frames_analysed=frames_analysed,
                         identity_checks=identity_checks, neutral_pose=neutral)
    events = fold_events(sess.chain.entries)
    verification = verify_chain(sess.chain.entries, sess.chain.genesis)
    summary = {
        "video": str(video),
        "out": str(out),
        "duration_s": round(end_t, 2),
        "frames_analysed": frames_analysed,
        "identity_checks": identity_checks,
        "analysis_seconds": round(elapsed, 2),
        "fps": round(frames_analysed / elapsed, 2) if elapsed > 0 else None,
        "score": score.score,
        "recommendation": score.recommendation,
        "events": {k: sum(1 for e in events if e["kind"] == k) for k in sorted({e["kind"] for e in events})},
        "chain_ok": verification.ok,
    }
    doc = {
        "format": "proctor-events/1",
        "session_id": session_id,
        "genesis": sess.chain.genesis,
        "entries": sess.chain.entries,
        "events": events,
        "score": score.to_dict(),
        "verification": verification.to_dict(),
    }
    (out / "events.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    (out / "signals.json").write_text(json.dumps({"frames": sess.frame_series, "audio": sess.audio_series}))
    from proctor.report import write_report

    write_report(out, doc, {"frames": sess.frame_series, "audio": sess.audio_series}, summary)
    return summary


def _store(sess: OfflineSession, events: list[Event], on_event: Callable[[dict[str, Any]], None] | None) -> None:
    sess.store(events)
    if on_event:
        for ev in events:
            on_event(ev.to_record())


class _NoBar:
    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


def _progress(total: int | None, enabled: bool, name: str):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=f"analysing {name}", unit="frame", leave=True)
