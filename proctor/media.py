"""Reading media: photos, video frames and audio tracks, with clear errors for unreadable files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np


class MediaError(ValueError):
    """A file that cannot be read or is not of a supported kind."""


def load_image(path: str | Path) -> np.ndarray:
    """An RGB uint8 image; raises :class:`MediaError` if the file is missing or not an image."""
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"{p}: no such file")
    data = np.fromfile(str(p), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)  # applies the EXIF orientation
    if bgr is None:
        raise MediaError(f"{p}: not a readable image (JPEG, PNG, WebP, BMP are supported)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def decode_image_bytes(data: bytes, name: str = "photo") -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise MediaError(f"{name}: not a readable image (JPEG, PNG, WebP, BMP are supported)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def fit_width(rgb: np.ndarray, max_width: int) -> np.ndarray:
    """Scale down (never up) so the image is at most ``max_width`` wide."""
    h, w = rgb.shape[:2]
    if w <= max_width:
        return rgb
    scale = max_width / w
    return cv2.resize(rgb, (max_width, round(h * scale)), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int
    height: int
    fps: float
    duration_s: float
    frames: int
    has_audio: bool


@dataclass(frozen=True)
class VideoFrame:
    t: float  # seconds from the start
    index: int  # index among the frames yielded
    rgb: np.ndarray


RAW_MJPEG_FPS = 30.0  # a raw .mjpeg stream has no clock; Chromium's fake camera plays it at 30 fps


def _is_raw(container) -> bool:
    return container.format.name in ("mjpeg", "mpjpeg", "jpeg_pipe")


def _open(path: Path):
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:  # type: ignore[attr-defined]
        raise MediaError(f"{path}: not a readable video ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise MediaError(f"{path}: has no video stream")
    return container


def probe_video(path: str | Path) -> VideoInfo:
    p = Path(path)
    with _open(p) as c:
        s = c.streams.video[0]
        fps = RAW_MJPEG_FPS if _is_raw(c) else float(s.average_rate or s.guessed_rate or 30.0)
        if s.duration is not None and s.time_base is not None:
            duration = float(s.duration * s.time_base)
        elif c.duration is not None:
            duration = c.duration / av.time_base
        else:
            duration = 0.0
        frames = s.frames or int(round(duration * fps))
        if _is_raw(c):  # no index: count the frames
            frames = sum(1 for _ in c.demux(s) if _.size)
            duration = 0.0
        if duration == 0.0 and frames:
            duration = frames / fps
        return VideoInfo(p, s.codec_context.width, s.codec_context.height, fps, duration, frames, bool(c.streams.audio))


def iter_video_frames(path: str | Path, fps: float | None = None, max_width: int | None = None) -> Iterator[VideoFrame]:
    """Decoded RGB frames, at most ``fps`` per second (every frame when ``None``), scaled to ``max_width``.

    Times come from the stream's timestamps where it has them (MJPEG files have none: their frame rate
    from the container is used).
    """
    p = Path(path)
    info = probe_video(p)
    with _open(p) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        raw = _is_raw(c)
        next_t = 0.0
        step = 0.0 if not fps else 1.0 / fps
        out = 0
        try:
            for n, frame in enumerate(c.decode(stream)):
                t = n / info.fps if raw or frame.time is None else float(frame.time)
                if t + 1e-6 < next_t:
                    continue
                next_t = (next_t + step) if step else t
                if step and next_t <= t:  # keep the grid after a gap
                    next_t = t + step
                rgb = frame.to_ndarray(format="rgb24")
                if max_width:
                    rgb = fit_width(rgb, max_width)
                yield VideoFrame(t=t, index=out, rgb=rgb)
                out += 1
        except av.error.InvalidDataError as exc:  # type: ignore[attr-defined]
            raise MediaError(f"{p}: corrupt video data after {out} frames ({exc})") from exc
    if out == 0:
        raise MediaError(f"{p}: no decodable video frames")
