"""The 360° room scan: how far the camera turned, what it showed, and whether that is the whole room.

:class:`RoomScanTracker` is fed frames one by one (live: the server shows the student a guide from each
:meth:`~RoomScanTracker.update`); :meth:`~RoomScanTracker.result` gives the verdict. :func:`analyze_room_scan`
runs it over a video file or a sequence of frames.

Angles are room angles in degrees relative to the heading of the first frame, > 0 to the right (clockwise
seen from above). ``yaw_deg`` of a frame is unwrapped (a full turn to the right ends near +360).

A frame is *usable* (counts for coverage) when its pair with the previous frame was matched, it is not dark or
blank, the camera was not turning faster than ``max_speed_deg_s`` and it shows no horizontal motion blur.
Coverage is the union of ``[yaw - fov/2, yaw + fov/2]`` over usable frames.

Field of view: the turn is measured from how far the picture shifts, which needs the lens's focal length.
:mod:`proctor.roomscan.lens` measures the horizontal field of view from the scan's own frames (how the picture
distorts as the camera turns); until it has (and when it cannot: too little texture or turn) the ``fov_deg``
setting is used, 65 degrees by default. ``fov_source`` in the result says which ("estimated" or "setting"). With
the setting and a real lens of 50-90 degrees, the measured turn is off by -36 % .. +37 % (a 360 degree turn
reads 230-493 degrees).

Verdict: ``room_scan_completed`` when the usable coverage reaches ``min_coverage_deg``, the camera was not too
fast for more than ``max_too_fast_share`` of the turning time and the motion estimate is trusted (at most
``max_lost_share`` of frame pairs unmatched). A sweep that is too fast fails even when its frames
geometrically swept the whole room: its frames are smeared over 40 px, a proctor cannot inspect the room in
them, and the live guide ("slow down") lets the student repeat it at once.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from proctor.frames import check_rgb
from proctor.media import fit_width, iter_video_frames
from proctor.roomscan.config import RoomScanSettings, room_scan_settings
from proctor.roomscan.coverage import CoverageMap, coverage_of, wrap360
from proctor.roomscan.faces import FaceHit, FaceSpotter, offset_deg, sightings
from proctor.roomscan.lens import FovEstimator
from proctor.roomscan.motion import ShiftEstimator, focal_px, frame_measures
from proctor.roomscan.strip import StripBuilder

log = logging.getLogger(__name__)

MAX_WIDTH = 640  # frames wider than this are scaled down first
MOVING_DEG_S = 5.0  # the live guide shows no direction below this speed
HOLD_DEG_S = 10.0  # turning slower than this over HOLD_WINDOW_S is holding still (hand wobble is +-2 deg)
HOLD_WINDOW_S = 0.5
PAUSE_MIN_S = 1.0  # a hold at least this long between two turning phases is reported as a pause
MAX_PITCH_DEG = 40.0

COMPLETED = "room_scan_completed"
INCOMPLETE = "room_scan_incomplete"


@dataclass
class RoomScanResult:
    passed: bool
    kind: str  # "room_scan_completed" | "room_scan_incomplete"
    coverage_deg: float  # room angle seen in usable frames (0..360)
    coverage_any_deg: float  # room angle swept by any frame, blurred or not (0..360)
    total_turn_deg: float  # range of the camera's heading (max - min of the unwrapped yaw)
    net_turn_deg: float  # heading of the last frame relative to the first (> 0 right)
    direction: str  # "right", "left" or "none": the way the scan turned
    gaps: list[tuple[float, float]]  # unseen arcs (from_deg, to_deg) running to the right, angles in [0, 360)
    mean_speed_deg_s: float  # while turning
    peak_speed_deg_s: float
    too_fast_frames: list[float]  # times (s) of frames taken while turning faster than the limit
    blurred_frames: list[float]  # times (s) of frames smeared by motion blur
    dark_frames: list[float]  # times (s) of dark or blank frames
    faces: list[dict[str, Any]]  # {t, angle_deg, count, score, frames, confirmed, box}
    reasons: list[str]  # why it did not pass ("code: detail"); empty when passed
    warnings: list[str]  # worth a look even when passed
    pauses: list[dict[str, float]]  # {t_start, t_end, angle_deg}: holds between two turning phases
    per_frame: list[dict[str, Any]]  # {i, t, yaw_deg, ok, quality, speed_deg_s, usable, too_fast, blurred, dark}
    frames: int
    duration_s: float
    unmatched_pairs: int
    pitch_deg: float | None  # camera pitch measured from the image rotation (> 0 up), None if too little turn
    fov_deg: float  # the horizontal field of view the turn was measured with ...
    min_coverage_deg: float
    strip_jpeg: bytes = field(default=b"", repr=False)  # the evidence strip
    strip_step_deg: float = 30.0
    fov_source: str = "setting"  # ... "estimated" from the scan's frames, or the "setting" (fallback)

    def to_dict(self, per_frame: bool = True) -> dict[str, Any]:
        d = asdict(self)
        d.pop("strip_jpeg")
        d["gaps"] = [list(g) for g in self.gaps]
        if not per_frame:
            d.pop("per_frame")
        return d

    def to_event(self, event_id: str, start: float = 0.0):
        """The engine event for this scan (evidence image ``room_strip.jpg``); ``start``: session time of frame 0."""
        from proctor.events import Event

        evidence = self.to_dict(per_frame=False)
        return Event(
            id=event_id, kind=self.kind, start=start, end=start + self.duration_s,
            confidence=1.0 if self.unmatched_pairs == 0 else max(0.0, 1.0 - self.unmatched_pairs / max(1, self.frames)),
            source="room_scan", status="closed",
            message=("Room scan covered the room" if self.passed else "Room scan incomplete: " + "; ".join(self.reasons)),
            evidence=evidence,
            thresholds={"min_coverage_deg": self.min_coverage_deg, "fov_deg": self.fov_deg,
                        "fov_source": self.fov_source},
            evidence_images={"room_strip.jpg": self.strip_jpeg} if self.strip_jpeg else {},
        )


@dataclass
class _Frame:
    t: float
    raw_yaw: float  # degrees, before the pitch correction
    ok: bool
    quality: float
    raw_speed: float  # smoothed |d raw yaw| / dt
    signed_speed: float
    too_fast: bool
    blurred: bool
    dark: bool

    @property
    def usable(self) -> bool:
        return self.ok and not (self.too_fast or self.blurred or self.dark)


_check_rgb = check_rgb  # the engine's one RGB frame check


class RoomScanTracker:
    """Streaming room-scan analysis: ``update(rgb, t)`` per frame, ``result()`` at the end.

    ``settings``: an :class:`EngineSettings` (its ``room_scan`` field when it has one), a
    :class:`RoomScanSettings`, or None for the defaults. ``fov_deg``: the camera's horizontal field of view to
    use until (or unless) it is measured from the scan; None: the ``fov_deg`` setting.
    ``detect_faces``: look for faces in usable frames (needs the model files).
    """

    def __init__(self, settings: Any = None, fov_deg: float | None = None, detect_faces: bool = True):
        self.cfg: RoomScanSettings = room_scan_settings(settings)
        fov_deg = self.cfg.fov_deg if fov_deg is None else fov_deg
        if not 10.0 <= fov_deg <= 150.0:
            raise ValueError(f"fov_deg must be between 10 and 150 degrees, got {fov_deg}")
        self.fov_setting = float(fov_deg)
        self.fov_deg = float(fov_deg)  # in use: the setting, or the estimate once there is one
        self.fov_source = "setting"
        self._fov_scale = 1.0  # room yaw / raw yaw: raw yaws are kept in units of the setting's focal length
        self._lens: FovEstimator | None = None
        self._lens_checked = 0  # pairs the last estimate was made from
        self._faces = FaceSpotter(self.cfg.face_min_score) if detect_faces else None
        self._est: ShiftEstimator | None = None
        self._prev = None
        self._prev_small: np.ndarray | None = None
        self._prev_dark = False
        self._frames: list[_Frame] = []
        self._raw_yaw = 0.0
        self._yaw_max = self._yaw_min = 0.0
        self._vel_px_s = 0.0
        self._lost = True  # no prediction yet: search the whole correlation surface
        self._fails = 0
        self._coast_s = 0.0
        self._speeds: deque[float] = deque(maxlen=3)
        self._roll_sum = 0.0
        self._turn_sum = 0.0  # radians of matched turn with a roll measure
        self._coverage = CoverageMap()
        self._strip = StripBuilder(self.cfg.strip_thumb_width)
        self._hits: list[FaceHit] = []
        self._last_face_t = -math.inf
        self._focal_full = 0.0
        self._width = 0

    # -- geometry -------------------------------------------------------------------------------------------
    def _pitch_rad(self) -> float | None:
        turn = self._turn_sum * self._fov_scale
        if turn < math.radians(self.cfg.pitch_min_turn_deg):
            return None
        p = math.atan2(self._roll_sum, turn)
        return max(-math.radians(MAX_PITCH_DEG), min(math.radians(MAX_PITCH_DEG), p))

    def _scale(self) -> float:
        """Room yaw / raw yaw: the field-of-view correction over cos(pitch)."""
        p = self._pitch_rad()
        return self._fov_scale if p is None else self._fov_scale / math.cos(p)

    def _use_fov(self, fov: float) -> None:
        """Measure with ``fov`` from now on: the motion estimate's projection too (a wrong one biases the shifts);
        what was seen is re-scaled."""
        if self._est is None:
            return
        old = self.fov_deg
        self.fov_deg, self.fov_source = float(fov), "estimated"
        # yaw = shift / focal, and focal ~ 1 / tan(fov / 2): room yaw = raw yaw x f(setting) / f(fov)
        self._fov_scale = math.tan(math.radians(fov) / 2.0) / math.tan(math.radians(self.fov_setting) / 2.0)
        self._focal_full = focal_px(self._width, fov)
        est = self._est
        self._est = ShiftEstimator(est.width, est.height, self.fov_deg, self.cfg.track_width)
        self._vel_px_s *= self._est.f / est.f  # same turning speed, in the new projection's pixels
        if self._prev_small is not None:
            self._prev = self._est.prepare(self._prev_small)
        log.debug("room scan: field of view %.1f deg measured (was %.1f)", fov, old)
        scale = self._scale()
        self._coverage = CoverageMap()
        for f in self._frames:
            if f.usable:
                self._coverage.add(f.raw_yaw * scale, self.fov_deg)

    def _estimate_fov(self, final: bool = False) -> None:
        """Estimate the field of view when enough new frame pairs came in since the last try (or at the end)."""
        lens = self._lens
        if lens is None or len(lens.pairs) < lens.min_pairs:
            return
        if not final and len(lens.pairs) < 2 * max(self._lens_checked, lens.min_pairs // 2):
            return  # at 8, 16, 32 ... pairs while scanning: the estimate costs ~10-40 ms
        self._lens_checked = len(lens.pairs)
        fov = lens.estimate()
        if fov is not None:
            self._use_fov(fov)

    # -- streaming ------------------------------------------------------------------------------------------
    def update(self, rgb: np.ndarray, t: float) -> dict[str, Any]:
        """Analyse one frame taken at ``t`` seconds; returns the live guide state."""
        _check_rgb(rgb)
        t = float(t)
        if self._frames and t <= self._frames[-1].t:
            raise ValueError(f"frame times must increase: got t={t} after t={self._frames[-1].t}")
        rgb = fit_width(rgb, MAX_WIDTH)
        h, w = rgb.shape[:2]
        if self._est is None:
            self._est = ShiftEstimator(w, h, self.fov_deg, self.cfg.track_width)
            self._focal_full = focal_px(w, self.fov_deg)
            self._width = w
            if self.cfg.estimate_fov:
                self._lens = FovEstimator(w, h, self.cfg.fov_keyframe_deg, self.cfg.fov_min_pairs)
        est = self._est
        cfg = self.cfg
        small = est.small_grey(rgb)
        mean, std, ratio, energy = frame_measures(small)
        dark = mean < cfg.dark_mean or std < cfg.flat_std
        prep = est.prepare(small)

        ok, quality, d_raw = (not dark), 0.0, 0.0
        if self._prev is not None:
            dt = t - self._frames[-1].t
            prior = None if self._lost else self._vel_px_s * dt
            sigma = (3.0 + 60.0 * dt) * (2.0 ** min(self._fails, 3))
            shift = est.estimate(self._prev, prep, prior, sigma)
            quality = shift.quality
            ok = quality >= cfg.min_quality and not dark and not self._prev_dark
            if ok:
                d_raw = est.yaw_deg(shift.dx) / self._fov_scale  # in the setting's units (see _fov_scale)
                self._vel_px_s = shift.dx / dt
                self._fails, self._coast_s, self._lost = 0, 0.0, False
                if shift.roll is not None and abs(d_raw) > 0.05:
                    self._roll_sum += -shift.roll * math.copysign(1.0, d_raw)
                    self._turn_sum += math.radians(abs(d_raw))
            else:
                self._fails += 1
                self._coast_s += dt
                if not self._lost and self._coast_s <= cfg.max_coast_s and not dark:
                    d_raw = est.yaw_deg(self._vel_px_s * dt) / self._fov_scale  # keep the last speed for a moment
                else:
                    self._lost, self._vel_px_s = True, 0.0
            self._speeds.append(d_raw / dt)
        self._raw_yaw += d_raw
        self._yaw_max = max(self._yaw_max, self._raw_yaw)
        self._yaw_min = min(self._yaw_min, self._raw_yaw)
        self._prev, self._prev_dark, self._prev_small = prep, dark, small

        scale = self._scale()
        signed = float(np.median(self._speeds)) if self._speeds else 0.0
        speed = abs(signed) * scale
        too_fast = speed > cfg.max_speed_deg_s
        # smeared sideways while turning (or while the turn could not be followed, when speed is unknown)
        blurred = ratio < cfg.blur_ratio and (speed > cfg.blur_min_speed_deg_s or not ok)
        fr = _Frame(t, self._raw_yaw, ok, quality, abs(signed), signed, too_fast, blurred, dark)
        self._frames.append(fr)
        yaw = self._raw_yaw * scale
        if fr.usable:
            self._coverage.add(yaw, self.fov_deg)
            if self._lens is not None and self._lens.offer(rgb, self._raw_yaw):
                self._estimate_fov()
                yaw = self._raw_yaw * self._scale()
        self._strip.offer(rgb, self._raw_yaw, yaw, t, fr.usable, energy)

        n_faces = None
        if self._faces is not None and fr.usable and t - self._last_face_t >= 1.0 / cfg.face_fps - 1e-6:
            self._last_face_t = t
            n_faces = self._find_faces(rgb, t, yaw)

        coverage = self._coverage.degrees
        direction = "none"
        if speed > MOVING_DEG_S:
            direction = "right" if signed > 0 else "left"
        return {
            "t": round(t, 3),
            "yaw_deg": round(yaw, 1),
            "coverage_deg": round(coverage, 1),
            "remaining_deg": round(max(0.0, cfg.min_coverage_deg - coverage), 1),
            "complete": coverage >= cfg.min_coverage_deg,
            "speed_deg_s": round(speed, 1),
            "slow_down": speed > cfg.slow_down_ratio * cfg.max_speed_deg_s,
            "too_fast": too_fast,
            "blurred": blurred,
            "dark": dark,
            "direction": direction,
            "turn_direction": self._turn_direction(),
            "tracking": "ok" if ok else ("lost" if self._lost else "coasting"),
            "faces": n_faces,
        }

    def _turn_direction(self) -> str:
        """The way the scan went: the side the heading got farthest to."""
        hi, lo = self._yaw_max, self._yaw_min
        if max(hi, -lo) < 2.0:
            return "none"
        return "right" if hi >= -lo else "left"

    def _find_faces(self, rgb: np.ndarray, t: float, yaw: float) -> int:
        assert self._faces is not None
        found = self._faces.detect(rgb)
        scale = self._scale()
        for box, score in found:
            off = offset_deg(box[0] + box[2] / 2.0, self._width, self._focal_full)
            angle = wrap360(yaw + off)
            known = any(
                h.confirmed and abs((h.raw_yaw * scale + h.offset_deg - angle + 180.0) % 360.0 - 180.0)
                <= self.cfg.face_merge_deg
                for h in self._hits
            )
            confirmed = False if known else self._faces.confirm(rgb, box)
            self._hits.append(FaceHit(t, self._raw_yaw, off, score, len(found), confirmed, box))
        return len(found)

    # -- verdict --------------------------------------------------------------------------------------------
    def result(self) -> RoomScanResult:
        cfg = self.cfg
        self._estimate_fov(final=True)
        frames = self._frames
        scale = self._scale()
        pitch = self._pitch_rad()
        n = len(frames)
        yaws = np.array([f.raw_yaw * scale for f in frames]) if frames else np.zeros(0)
        usable = [f.usable for f in frames]
        cov = coverage_of(yaws[np.array(usable, dtype=bool)] if n else [], self.fov_deg)
        cov_any = coverage_of(yaws[np.array([not f.dark for f in frames], dtype=bool)] if n else [], self.fov_deg)
        speeds = np.array([f.raw_speed * scale for f in frames]) if frames else np.zeros(0)
        moving = _windowed_speed(np.array([f.t for f in frames]), yaws) > HOLD_DEG_S
        duration = frames[-1].t - frames[0].t if n else 0.0
        unmatched = sum(1 for f in frames[1:] if not f.ok)

        too_fast = [f.t for f in frames if f.too_fast]
        blurred = [f.t for f in frames if f.blurred]
        dark = [f.t for f in frames if f.dark]
        total_turn = float(np.ptp(yaws)) if n else 0.0
        net_turn = float(yaws[-1]) if n else 0.0
        direction = self._turn_direction()
        mean_speed = float(speeds[moving].mean()) if moving.any() else 0.0
        peak_speed = float(speeds.max()) if n else 0.0
        too_fast_share = (sum(1 for f, m in zip(frames, moving) if m and f.too_fast) / int(moving.sum())
                          if moving.any() else 0.0)
        gaps = cov.gaps()

        reasons: list[str] = []
        warnings: list[str] = []
        if n < 2:
            reasons.append(f"no_scan: {n} frame(s), a scan needs a video of the camera turning")
        elif total_turn < 2.0:
            reasons.append("no_turn: the camera did not turn")
        lost_share = unmatched / max(1, n - 1)
        if n >= 2 and lost_share > cfg.max_lost_share:
            smeared = sum(1 for f in frames[1:] if not f.ok and f.blurred)
            hint = (" - most of them are smeared: the camera probably turned too fast"
                    if smeared >= 0.5 * unmatched else "")
            reasons.append(f"tracking_unreliable: {unmatched} of {n - 1} frame pairs could not be matched "
                           f"({100 * lost_share:.0f}%), the turn cannot be measured{hint}")
        if cov.degrees < cfg.min_coverage_deg:
            gap_txt = ", ".join(f"{a:.0f}..{b:.0f}" for a, b in gaps[:6])
            reasons.append(f"coverage: {cov.degrees:.0f} deg of the room seen in usable frames, "
                           f"{cfg.min_coverage_deg:.0f} required" + (f" (not seen: {gap_txt} deg)" if gap_txt else ""))
        if too_fast and too_fast_share > cfg.max_too_fast_share:
            reasons.append(f"too_fast: {100 * too_fast_share:.0f}% of the turning time above "
                           f"{cfg.max_speed_deg_s:.0f} deg/s (peak {peak_speed:.0f} deg/s); frames are smeared")
        elif too_fast:
            warnings.append(f"too_fast: {len(too_fast)} frame(s) above {cfg.max_speed_deg_s:.0f} deg/s "
                            f"(peak {peak_speed:.0f} deg/s)")
        if blurred:
            warnings.append(f"blurred: {len(blurred)} frame(s) smeared by motion blur")
        if dark:
            warnings.append(f"dark: {len(dark)} frame(s) dark or blank")
        if 0 < lost_share <= cfg.max_lost_share:
            warnings.append(f"unmatched: {unmatched} frame pair(s) could not be matched (turn extrapolated)")
        hits = [FaceHit(h.t, h.raw_yaw, offset_deg(h.box[0] + h.box[2] / 2.0, self._width, self._focal_full), h.score,
                        h.in_frame, h.confirmed, h.box) for h in self._hits]  # with the focal length in use now
        faces = sightings(hits, scale, cfg.face_merge_deg)
        confirmed = [f for f in faces if f["confirmed"]]
        if confirmed:
            where = ", ".join(f"{f['angle_deg']:.0f} deg (t={f['t']:.1f}s)" for f in confirmed)
            warnings.append(f"faces_seen: {len(confirmed)} place(s) with a face: {where}")
        elif faces:
            warnings.append(f"face_candidates: {len(faces)} unconfirmed face detection(s); see the strip")

        pauses = self._pauses(frames, moving, yaws)
        per_frame = [
            {"i": i, "t": round(f.t, 3), "yaw_deg": round(float(y), 2), "ok": f.ok, "quality": round(f.quality, 2),
             "speed_deg_s": round(float(s), 1), "usable": f.usable, "too_fast": f.too_fast, "blurred": f.blurred,
             "dark": f.dark}
            for i, (f, y, s) in enumerate(zip(frames, yaws, speeds))
        ]
        strip = self._strip.render(scale, -1 if direction == "left" else 1, cfg.strip_step_deg) if n else b""
        passed = not reasons
        return RoomScanResult(
            passed=passed, kind=COMPLETED if passed else INCOMPLETE,
            coverage_deg=round(cov.degrees, 1), coverage_any_deg=round(cov_any.degrees, 1),
            total_turn_deg=round(total_turn, 1), net_turn_deg=round(net_turn, 1), direction=direction,
            gaps=gaps, mean_speed_deg_s=round(mean_speed, 1), peak_speed_deg_s=round(peak_speed, 1),
            too_fast_frames=[round(t, 3) for t in too_fast], blurred_frames=[round(t, 3) for t in blurred],
            dark_frames=[round(t, 3) for t in dark], faces=faces, reasons=reasons, warnings=warnings,
            pauses=pauses, per_frame=per_frame, frames=n, duration_s=round(duration, 3), unmatched_pairs=unmatched,
            pitch_deg=None if pitch is None else round(-math.degrees(pitch), 1), fov_deg=round(self.fov_deg, 2),
            fov_source=self.fov_source,
            min_coverage_deg=cfg.min_coverage_deg, strip_jpeg=strip, strip_step_deg=cfg.strip_step_deg,
        )

    @staticmethod
    def _pauses(frames: list[_Frame], moving: np.ndarray, yaws: np.ndarray) -> list[dict[str, float]]:
        idx = np.flatnonzero(moving)
        if len(idx) < 2:
            return []
        out = []
        i, last = int(idx[0]), int(idx[-1])
        while i < last:
            if moving[i]:
                i += 1
                continue
            j = i
            while j < last and not moving[j]:
                j += 1
            if frames[j - 1].t - frames[i].t >= PAUSE_MIN_S:
                out.append({"t_start": round(frames[i].t, 3), "t_end": round(frames[j - 1].t, 3),
                            "angle_deg": round(wrap360(float(np.mean(yaws[i:j]))), 1)})
            i = j
        return out

    def close(self) -> None:
        """Release the face models (the tracker can still give its result)."""
        if self._faces is not None:
            self._faces.close()

    def __enter__(self) -> "RoomScanTracker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _windowed_speed(times: np.ndarray, yaws: np.ndarray) -> np.ndarray:
    """|yaw change| / time over HOLD_WINDOW_S around each frame (deg/s)."""
    if len(times) < 2:
        return np.zeros(len(times))
    half = HOLD_WINDOW_S / 2.0
    lo = np.clip(times - half, times[0], times[-1])
    hi = np.clip(times + half, times[0], times[-1])
    span = np.maximum(hi - lo, 1e-6)
    return np.abs(np.interp(hi, times, yaws) - np.interp(lo, times, yaws)) / span


def _frames_of(source: Any, fps: float | None) -> Iterable[tuple[np.ndarray, float]]:
    if isinstance(source, (str, Path)):
        for f in iter_video_frames(source, fps=None, max_width=MAX_WIDTH):
            yield f.rgb, f.t
        return
    for i, item in enumerate(source):
        if hasattr(item, "rgb") and hasattr(item, "t"):
            yield item.rgb, float(item.t)
        elif isinstance(item, tuple) and len(item) == 2:
            a, b = item
            yield (a, float(b)) if isinstance(a, np.ndarray) else (b, float(a))
        elif isinstance(item, np.ndarray):
            if not fps:
                raise ValueError("bare frames need fps= to give them times")
            yield item, i / fps
        else:
            raise ValueError(f"frame {i}: expected a VideoFrame, an (rgb, t) pair or an RGB array, "
                             f"got {type(item).__name__}")


def analyze_room_scan(source: str | Path | Iterable[Any], settings: Any = None, fov_deg: float | None = None,
                      detect_faces: bool = True, fps: float | None = None) -> RoomScanResult:
    """Analyse a whole room scan: a video file (every frame is used), or frames as ``VideoFrame`` objects,
    ``(rgb, t)`` pairs, or bare RGB arrays with ``fps``."""
    tracker = RoomScanTracker(settings, fov_deg=fov_deg, detect_faces=detect_faces)
    try:
        for rgb, t in _frames_of(source, fps):
            tracker.update(rgb, t)
        result = tracker.result()
    finally:
        tracker.close()
    log.info("room scan: %s coverage=%.0f turn=%.0f frames=%d", result.kind, result.coverage_deg,
             result.total_turn_deg, result.frames)
    return result
