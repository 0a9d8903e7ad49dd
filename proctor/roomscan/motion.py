"""Camera yaw between two frames of a room scan, from the horizontal image shift.

The camera turns about a vertical axis, so the picture of the room moves sideways. Each frame is scaled
down (``track_width`` px), re-projected onto a cylinder around the camera's vertical axis (a turn is then a
plain horizontal shift of ``f * angle`` at every column, not only at the centre), high-passed (vignetting,
exposure changes) and correlated with the previous frame in the Fourier domain:

- the cross-power spectrum is only partly whitened (``|X| ** 0.7``): full phase correlation gives every
  frequency the same weight and, on texture-free walls, lets sensor noise and the static pattern of video
  compression win (a false peak at zero shift); plain correlation is dominated by low frequencies;
- the peak is searched under a Gaussian prior around the shift the last matched pair predicts (the camera
  cannot change its speed much in 1/15 s); with no prediction (first frame, after losing track) the whole
  surface is searched;
- the shift is refined on the overlapping parts of both frames only (the window no longer pulls it towards 0)
  and located to a fraction of a pixel;
- the same correlation on the left and right halves gives their vertical shifts: their difference is the
  image rotation (roll rate). For a camera pitched by ``p`` that turns about the world vertical, roll rate /
  yaw rate = tan(p), so the roll summed over a sweep measures the pitch, and the yaw measured at the image
  (which sees cos(p) of the turn) is divided by cos(p). Hand-held roll wobble sums to almost nothing.

The quality of a match is the ratio of the correlation peak to the highest value outside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import scipy.fft as sfft

ALPHA = 0.7  # whitening exponent of the cross-power spectrum
HIGHPASS_SIGMA = 3.0  # px at track scale
PEAK_EXCLUDE = 3  # px around the peak left out when finding the second peak


def focal_px(width: int, fov_deg: float) -> float:
    """Pinhole focal length in pixels for an image ``width`` px wide with a horizontal field of view ``fov_deg``."""
    return (width / 2.0) / math.tan(math.radians(fov_deg) / 2.0)


@dataclass(frozen=True)
class Prepared:
    """One frame ready for matching."""

    image: np.ndarray  # high-passed cylindrical image, float32 (H, W)
    spectrum: np.ndarray  # rfft2 of the windowed image
    left: np.ndarray  # rfft2 of the windowed left half
    right: np.ndarray  # rfft2 of the windowed right half


@dataclass(frozen=True)
class Shift:
    dx: float  # px at track scale; > 0 when the picture moves right (the camera turns left)
    dy: float
    quality: float  # correlation peak / second peak
    roll: float | None  # image rotation between the frames (rad), None when the halves disagree


def _peak(surface: np.ndarray, weight: np.ndarray | None) -> tuple[float, float, float]:
    """Sub-pixel (dx, dy) of the highest (weighted) value of a centred correlation surface, and its quality."""
    h, w = surface.shape
    pos = np.maximum(surface, 0.0)
    if weight is not None:
        pos = pos * weight
    y, x = divmod(int(np.argmax(pos)), w)

    def vertex(a: float, m: float, b: float) -> float:
        d = a - 2.0 * m + b
        return 0.0 if d >= 0 else 0.5 * (a - b) / d

    fx = vertex(surface[y, x - 1], surface[y, x], surface[y, x + 1]) if 0 < x < w - 1 else 0.0
    fy = vertex(surface[y - 1, x], surface[y, x], surface[y + 1, x]) if 0 < y < h - 1 else 0.0
    best = pos[y, x]
    pos[max(0, y - PEAK_EXCLUDE):y + PEAK_EXCLUDE + 1, max(0, x - PEAK_EXCLUDE):x + PEAK_EXCLUDE + 1] = 0.0
    second = float(pos.max())
    quality = float(best / second) if second > 1e-12 else (10.0 if best > 0 else 0.0)
    return x + fx - w // 2, y + fy - h // 2, min(quality, 10.0)


def _correlate(fa: np.ndarray, fb: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    x = np.conj(fa) * fb
    x /= (np.abs(x) + 1e-6) ** ALPHA
    return np.fft.fftshift(sfft.irfft2(x, s=shape))


class ShiftEstimator:
    """Matches frames of one size (``width`` x ``height``) at ``track_width`` px; ``fov_deg`` is horizontal."""

    def __init__(self, width: int, height: int, fov_deg: float = 65.0, track_width: int = 160):
        if width < 8 or height < 8:
            raise ValueError(f"frame too small to track: {width}x{height}")
        self.width, self.height = width, height
        tw = min(int(track_width), width)
        tw -= tw % 4
        th = max(8, int(round(height * tw / width)))
        th -= th % 2
        self.tw, self.th = tw, th
        self.f = focal_px(tw, fov_deg)  # px at track scale
        cx, cy = (tw - 1) / 2.0, (th - 1) / 2.0
        u, v = np.meshgrid(np.arange(tw, dtype=np.float64), np.arange(th, dtype=np.float64))
        theta = (u - cx) / self.f
        height_ = (v - cy) / self.f
        self._mapx = (np.tan(theta) * self.f + cx).astype(np.float32)
        self._mapy = (height_ / np.cos(theta) * self.f + cy).astype(np.float32)
        self._win = cv2.createHanningWindow((tw, th), cv2.CV_32F)
        self._hwin = cv2.createHanningWindow((tw // 2, th), cv2.CV_32F)
        self._gx = (np.arange(tw) - tw // 2)[None, :].astype(np.float64)
        self._hgx = (np.arange(tw // 2) - tw // 4)[None, :].astype(np.float64)
        self._hgy = (np.arange(th) - th // 2)[:, None].astype(np.float64)

    def small_grey(self, rgb: np.ndarray) -> np.ndarray:
        """The frame scaled to the track size, grey uint8."""
        if rgb.shape[1] != self.width or rgb.shape[0] != self.height:
            raise ValueError(
                f"frame size changed during the scan: {rgb.shape[1]}x{rgb.shape[0]}, expected {self.width}x{self.height}"
            )
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        return cv2.resize(grey, (self.tw, self.th), interpolation=cv2.INTER_AREA)

    def prepare(self, grey_small: np.ndarray) -> Prepared:
        cyl = cv2.remap(grey_small, self._mapx, self._mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        img = cyl.astype(np.float32)
        img -= cv2.GaussianBlur(img, (0, 0), HIGHPASS_SIGMA)
        h = self.tw // 2
        return Prepared(
            image=img,
            spectrum=sfft.rfft2(img * self._win),
            left=sfft.rfft2(img[:, :h] * self._hwin),
            right=sfft.rfft2(img[:, h:2 * h] * self._hwin),
        )

    def estimate(self, a: Prepared, b: Prepared, prior_dx: float | None = None, prior_sigma: float = 7.0) -> Shift:
        """The shift of ``b`` relative to ``a`` (px at track scale); ``prior_dx``: the expected dx, or None."""
        th, tw = self.th, self.tw
        weight = None
        if prior_dx is not None:
            weight = np.exp(-((self._gx - prior_dx) ** 2) / (2.0 * prior_sigma ** 2))
        dx, dy, quality = _peak(_correlate(a.spectrum, b.spectrum, (th, tw)), weight)
        dx, dy = self._refine(a.image, b.image, dx, dy)
        # halves: vertical shift on each side -> roll
        hw = np.exp(-((self._hgx - dx) ** 2 + (self._hgy - dy) ** 2) / (2.0 * 2.0 ** 2))
        lx, ly, lq = _peak(_correlate(a.left, b.left, (th, tw // 2)), hw)
        rx, ry, rq = _peak(_correlate(a.right, b.right, (th, tw // 2)), hw)
        roll = None
        if min(lq, rq) >= 1.3 and abs(lx - dx) < 1.5 and abs(rx - dx) < 1.5:
            roll = (ry - ly) / (tw / 2.0)
        return Shift(dx=float(dx), dy=float(dy), quality=float(quality), roll=roll)

    def _refine(self, a: np.ndarray, b: np.ndarray, dx: float, dy: float) -> tuple[float, float]:
        """Correlate the overlapping parts only: the window of the full frame biases large shifts towards 0."""
        ix = int(round(dx))
        th, tw = a.shape
        if abs(ix) < 2 or abs(ix) > tw // 2:
            return dx, dy
        if ix > 0:
            pa, pb = a[:, :tw - ix], b[:, ix:]
        else:
            pa, pb = a[:, -ix:], b[:, :tw + ix]
        ow = pa.shape[1]
        win = cv2.createHanningWindow((ow, th), cv2.CV_32F)
        surface = _correlate(sfft.rfft2(pa * win), sfft.rfft2(pb * win), (th, ow))
        gx = (np.arange(ow) - ow // 2)[None, :]
        gy = (np.arange(th) - th // 2)[:, None]
        weight = np.exp(-(gx ** 2 + (gy - dy) ** 2) / (2.0 * 3.0 ** 2))
        rx, ry, _ = _peak(surface, weight)
        if abs(rx) >= 2.0:
            return dx, dy
        return ix + rx, ry

    def yaw_deg(self, dx: float) -> float:
        """Yaw increment (degrees, > 0 = turning right) seen at the image for a horizontal shift ``dx``."""
        return -math.degrees(dx / self.f)


def frame_measures(grey_small: np.ndarray) -> tuple[float, float, float, float]:
    """(mean, std, ratio, energy): luma statistics, horizontal/vertical gradient energy ratio, and the
    horizontal gradient energy (a sharpness figure to pick evidence thumbnails).

    A horizontal motion blur of L px leaves the vertical gradients and wipes out the horizontal ones: sharp
    frames of the corpus give 0.45..5 at 160 px wide, frames with 20+ px of blur (at 640) mostly < 0.35.
    """
    g = grey_small.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1)
    ex = float(np.mean(gx * gx))
    ey = float(np.mean(gy * gy))
    mean, std = cv2.meanStdDev(grey_small)
    ratio = ex / ey if ey > 1e-6 else (10.0 if ex > 1e-6 else 1.0)
    return float(mean[0, 0]), float(std[0, 0]), ratio, ex
