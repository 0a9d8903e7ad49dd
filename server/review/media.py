"""The recording as the review page plays it: a session's WebM segments remuxed (never re-encoded) into one
WebM whose timestamps are session time, and still frames taken from the recording at a given time.

Segments (live or imported) each start with a VP8 keyframe and carry timestamps relative to their own start;
the manifest gives each segment's ``t_start`` in session seconds. Concatenation shifts every packet of a
segment by its ``t_start``, so ``video.currentTime`` in the browser equals the session time the events use.
A tampered segment is still played (what is stored is what is shown); the verification says it fails.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable

import av

MS = Fraction(1, 1000)


@dataclass(frozen=True)
class Piece:
    """One stored segment: its bytes and where it starts in the session (seconds)."""

    data: bytes
    t_start: float


def _shift(packet: av.Packet, offset_ms: int, last: int) -> int:
    pts = packet.pts if packet.pts is not None else packet.dts
    tb = packet.time_base or MS
    ms = int(round(float(pts * tb) * 1000)) if pts is not None else last + 1
    return max(offset_ms + ms, last + 1)


def concat_webm(pieces: Iterable[Piece]) -> bytes:
    """One WebM (VP8 + Opus when present) of the pieces, timestamps in session milliseconds.

    Raises ``ValueError`` when no piece has a video stream."""
    out_buf = io.BytesIO()
    out = av.open(out_buf, "w", format="webm")
    vout = aout = None
    last = {"v": -1, "a": -1}
    try:
        for piece in pieces:
            try:
                inp = av.open(io.BytesIO(piece.data), "r")
            except av.error.FFmpegError:  # type: ignore[attr-defined] - an unreadable segment is skipped
                continue
            with inp:
                vin = inp.streams.video[0] if inp.streams.video else None
                ain = inp.streams.audio[0] if inp.streams.audio else None
                if vin is None:
                    continue
                if vout is None:
                    vout = out.add_stream_from_template(vin)
                    vout.time_base = MS
                if ain is not None and aout is None and last["v"] < 0:
                    aout = out.add_stream_from_template(ain)
                    aout.time_base = MS
                offset = int(round(piece.t_start * 1000))
                streams = [s for s in (vin, ain if aout is not None else None) if s is not None]
                try:
                    for packet in inp.demux(*streams):
                        if packet.size == 0:
                            continue
                        key = "v" if packet.stream is vin else "a"
                        ts = _shift(packet, offset, last[key])
                        last[key] = ts
                        packet.stream = vout if key == "v" else aout
                        packet.pts = packet.dts = ts
                        packet.time_base = MS
                        out.mux(packet)
                except av.error.FFmpegError:  # type: ignore[attr-defined] - a corrupt tail: keep what was read
                    continue
        if vout is None:
            raise ValueError("the recording has no playable video segment")
    finally:
        try:
            out.close()
        except Exception:  # noqa: BLE001 - closing an empty muxer may fail; the ValueError above says why
            pass
    return out_buf.getvalue()


def frame_at(pieces: list[Piece], t: float, max_width: int = 480, quality: int = 80) -> bytes | None:
    """A JPEG of the recording at session time ``t`` (the last frame shown at or before ``t``), or None."""
    chosen = None
    for piece in sorted(pieces, key=lambda p: p.t_start):
        if piece.t_start <= t + 1e-6:
            chosen = piece
    if chosen is None:
        return None
    local = t - chosen.t_start
    best = None
    try:
        with av.open(io.BytesIO(chosen.data), "r") as inp:
            if not inp.streams.video:
                return None
            for frame in inp.decode(video=0):
                if frame.time is not None and frame.time > local + 1e-3 and best is not None:
                    break
                best = frame
    except av.error.FFmpegError:  # type: ignore[attr-defined]
        pass
    if best is None:
        return None
    img = best.to_image()
    if img.width > max_width:
        img = img.resize((max_width, round(img.height * max_width / img.width)))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
