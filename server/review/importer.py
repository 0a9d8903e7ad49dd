"""Import an offline engine run (``proctor analyze``) into a proctoring session of the store, so it is reviewed
exactly like a live session: the same kinds of records, in the same places.

* the chain: an ``offline_import`` record (the source chain's id, head and verification), then every record of
  the offline chain (``session_start``, events, ``session_end``), re-chained under the session's own genesis
  through the :class:`~server.storage.events.EventStore` (so the store's ``verify`` checks it), then one
  ``recording_segment`` record per segment and a ``signal_series`` record;
* evidence JPEGs in the blob store at ``<session>/evidence/<name>`` (where the live hub puts them);
* the signal series at ``<session>/signals.json`` (its sha256 in the ``signal_series`` record);
* the enrolment photos at ``<session>/enrolment/<sha256>.jpg`` and an ``identity_enrolments`` row;
* the recording: the clip encoded to VP8 (+ Opus) WebM segments, each starting with a keyframe, through
  ``RecordingStore.put_segment`` (sha256 manifest), as the live recorder stores them;
* the session row: started, ended, integrity score and the engine's summary.

``python -m server.review.importer VIDEO --attempt ID [--reference PHOTO ...]`` does it on the configured server.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from dataclasses import dataclass
from fractions import Fraction
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np

from proctor.chain import verify_chain
from server.db.base import utcnow
from server.db.engine import transaction
from server.db.models import Attempt, IdentityEnrolment, ProctoringSession
from server.storage import Stores

SEGMENT_S = 5.0
RECORD_FPS = 15
MS = 1000


class ImportFailed(ValueError):
    """The offline run cannot be imported (bad chain, missing files, a session that already has events)."""


@dataclass(frozen=True)
class ImportResult:
    session_id: str
    entries: int
    events: int
    segments: int
    evidence: int
    score: float | None


def _encode_segments(video: Path, segment_s: float, max_width: int = 640) -> list[dict[str, Any]]:
    """The clip as VP8/Opus WebM segments of ``segment_s`` seconds, each opening with a keyframe."""
    from proctor.audio import read_audio
    from proctor.media import MediaError, iter_video_frames, probe_video

    info = probe_video(video)
    pcm = None
    if info.has_audio:
        try:
            pcm = read_audio(video, 48000)
        except MediaError:
            pcm = None
    segments: list[dict[str, Any]] = []
    state: dict[str, Any] = {}

    def open_segment(t0: float, w: int, h: int) -> None:
        buf = io.BytesIO()
        c = av.open(buf, "w", format="webm")
        v = c.add_stream("libvpx", rate=RECORD_FPS)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.bit_rate = 600_000
        v.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        a = None
        if pcm is not None:
            a = c.add_stream("libopus", rate=48000)
            a.layout = "mono"
        state.update(buf=buf, c=c, v=v, a=a, t0=t0, t1=t0, frames=0, last_pts=-1)

    def close_segment(t_end: float) -> None:
        c, v, a, t0 = state["c"], state["v"], state["a"], state["t0"]
        for p in v.encode(None):
            c.mux(p)
        if a is not None:
            lo, hi = int(t0 * 48000), min(len(pcm), int(t_end * 48000))
            if hi > lo:
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[lo:hi].reshape(1, -1)), format="s16",
                                                   layout="mono")
                frame.sample_rate, frame.pts = 48000, 0
                for p in a.encode(frame):
                    c.mux(p)
            for p in a.encode(None):
                c.mux(p)
        c.close()
        data = state["buf"].getvalue()
        segments.append({"data": data, "sha256": hashlib.sha256(data).hexdigest(), "t_start": round(t0, 3),
                         "t_end": round(t_end, 3), "video_frames": state["frames"],
                         "audio": a is not None})
        state.clear()

    last_t = 0.0
    for frame in iter_video_frames(video, fps=RECORD_FPS, max_width=max_width):
        h, w = frame.rgb.shape[:2]
        w, h = w - w % 2, h - h % 2
        if state and frame.t - state["t0"] >= segment_s:
            close_segment(frame.t)
        if not state:
            open_segment(frame.t, w, h)
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame.rgb[:h, :w]), format="rgb24").reformat(
            format="yuv420p")
        pts = max(int(round((frame.t - state["t0"]) * RECORD_FPS)), state["last_pts"] + 1)
        vf.pts, state["last_pts"] = pts, pts
        vf.time_base = Fraction(1, RECORD_FPS)
        for p in state["v"].encode(vf):
            state["c"].mux(p)
        state["frames"] += 1
        last_t = frame.t
    if state:
        close_segment(max(last_t + 1.0 / RECORD_FPS, info.duration_s or 0.0))
    return segments


def _load_run(out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    events_file, signals_file = out / "events.json", out / "signals.json"
    if not events_file.is_file() or not signals_file.is_file():
        raise ImportFailed(f"{out}: no events.json/signals.json (run `proctor analyze ... --out {out}` first)")
    doc = json.loads(events_file.read_text())
    signals = json.loads(signals_file.read_text())
    check = verify_chain(doc["entries"], doc["genesis"])
    if not check.ok:
        raise ImportFailed(f"{events_file}: the offline chain does not verify: {check.reason}")
    return doc, signals


def import_offline_session(stores: Stores, session_factory: Any, session_id: str, *, analysis_dir: Path,
                           video: Path | None = None, references: list[Path] | None = None,
                           segment_s: float = SEGMENT_S, progress: bool = False) -> ImportResult:
    """Store an offline run (in ``analysis_dir``; made there from ``video`` first if it is not yet) into the
    proctoring session ``session_id``, which must exist and have no events yet."""
    analysis_dir = Path(analysis_dir)
    if not (analysis_dir / "events.json").is_file():
        if video is None:
            raise ImportFailed(f"{analysis_dir}: no events.json and no video to analyse")
        from proctor.analyze import analyze_file

        analyze_file(Path(video), analysis_dir, references=references, progress=progress)
    doc, signals = _load_run(analysis_dir)
    entries = doc["entries"]
    start = entries[0]["record"] if entries else {}
    end = entries[-1]["record"] if entries else {}
    if video is None or not Path(video).is_file():
        raise ImportFailed("the recording is made from the analysed video: pass video= (an existing file)")
    video = Path(video)
    sha = hashlib.sha256(video.read_bytes()).hexdigest()
    if start.get("video", {}).get("sha256") not in (None, sha):
        raise ImportFailed(f"{video} is not the video the run analysed (sha256 differs)")

    with transaction(session_factory) as db:
        row = db.get(ProctoringSession, session_id)
        if row is None:
            raise ImportFailed(f"no proctoring session {session_id!r}")
        if row.event_count:
            raise ImportFailed(f"session {session_id} already has {row.event_count} chain entries")
        student_id = db.get(Attempt, row.attempt_id).student_id

    blobs = stores.recordings.blobs  # type: ignore[attr-defined]
    # evidence first, so every record that names an image can be followed
    evidence = 0
    for path in sorted((analysis_dir / "evidence").glob("*.jpg")):
        blobs.put(f"{session_id}/evidence/{path.name}", path.read_bytes())
        evidence += 1
    # enrolment photos (the run names them by file name and sha256)
    photos = []
    for ref in references or []:
        data = Path(ref).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        blobs.put(f"{session_id}/enrolment/{digest}.jpg", data)
        photos.append(digest)
    if photos:
        with transaction(session_factory) as db:
            enrol = IdentityEnrolment(student_id=student_id, photo_sha256s=photos, embedding=None,
                                      model=(start.get("model_versions") or {}).get("identity"), is_active=False)
            db.add(enrol)
            db.flush()
            db.get(ProctoringSession, session_id).enrolment_id = enrol.id

    stores.events.append(session_id, {
        "type": "offline_import", "source_session_id": doc.get("session_id"), "source_genesis": doc["genesis"],
        "source_head": entries[-1]["hash"] if entries else None, "source_entries": len(entries),
        "source_verified": True, "video": {"name": video.name, "sha256": sha}})
    stores.events.append_many(session_id, [e["record"] for e in entries])

    segments = _encode_segments(video, segment_s)
    for i, seg in enumerate(segments):
        info = stores.recordings.put_segment(session_id, i, "video", seg["data"], t_start=seg["t_start"],
                                             t_end=seg["t_end"], ext="webm")
        stores.events.append(session_id, {
            "type": "recording_segment", "index": i, "kind": "video", "key": info.key, "sha256": seg["sha256"],
            "bytes": len(seg["data"]), "start": seg["t_start"], "end": seg["t_end"],
            "video_frames": seg["video_frames"], "audio_packets": None, "container": "webm",
            "codecs": ["vp8", "opus"] if seg["audio"] else ["vp8"]})

    series = json.dumps(signals, separators=(",", ":")).encode()
    series_sha = hashlib.sha256(series).hexdigest()
    blobs.put(f"{session_id}/signals.json", series)
    stores.events.append(session_id, {"type": "signal_series", "key": f"{session_id}/signals.json",
                                      "sha256": series_sha, "frames": len(signals.get("frames", [])),
                                      "audio": len(signals.get("audio", []))})

    score = (end.get("score") or doc.get("score") or {})
    duration = float(end.get("duration_s") or score.get("duration_s") or 0.0)
    began = utcnow() - timedelta(seconds=duration)
    stores.sessions.mark_live(session_id, "offline-import", at=began)
    stores.sessions.end(session_id, at=began + timedelta(seconds=duration), integrity_score=score.get("score"),
                        score_recommendation=score.get("recommendation"), score_breakdown=score.get("breakdown"),
                        report={"source": "offline_import", "score": score, "duration_s": duration,
                                "frames_analysed": end.get("frames_analysed"),
                                "identity_checks": end.get("identity_checks"), "video": video.name})
    return ImportResult(session_id, len(entries) + len(segments) + 2, len(doc.get("events", [])), len(segments),
                        evidence, score.get("score"))


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - a thin command around the function
    from server.db.engine import make_engine, make_sessionmaker
    from server.settings import ServerSettings
    from server.storage import build_stores

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("video", type=Path)
    p.add_argument("--attempt", type=int, required=True, help="the attempt whose proctoring session gets the run")
    p.add_argument("--reference", type=Path, action="append", default=[])
    p.add_argument("--out", type=Path, help="analysis folder (default: a temporary one)")
    args = p.parse_args(argv)
    settings = ServerSettings()
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    stores = build_stores(settings, factory)
    state = stores.sessions.for_attempt(args.attempt)
    if state is None:
        p.error(f"attempt {args.attempt} has no proctoring session")
    import tempfile

    out = args.out or Path(tempfile.mkdtemp(prefix="proctor-import-"))
    result = import_offline_session(stores, factory, state.id, analysis_dir=out, video=args.video,
                                    references=args.reference, progress=True)
    print(json.dumps(result.__dict__))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
