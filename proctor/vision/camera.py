"""Camera checks: is the picture dark, covered or frozen?

:class:`CameraCheck` measures one frame (frame in, :class:`~proctor.signals.CameraObservation` out; it keeps
only the previous analysed frame, for ``change``); :func:`classify` turns one observation into a state with
the thresholds of ``settings.camera_blocked``. The rule (``min_duration_s``) decides when a state lasts long
enough to be an event: a single "frozen" frame is normal when the picture holds still for a moment.

All measures are taken on a grey copy scaled down to :data:`ANALYSIS_WIDTH` pixels wide (about 0.3 ms for a
640x480 frame), so they do not depend on the camera's resolution:

- ``brightness``: mean luma 0..255 (BT.601 weights, as OpenCV's RGB->grey);
- ``contrast``: luma standard deviation;
- ``sharpness``: variance of the Laplacian (a blurred or covered lens gives a low figure);
- ``change``: mean absolute luma difference to the previous analysed frame, -1 for the first one
  (and after the frame's shape changes; a new resolution of the same shape is compared at the analysis
  width, so a WebRTC stream that steps its resolution up keeps its figure).
"""

from __future__ import annotations

import cv2
import numpy as np

from proctor.frames import check_rgb
from proctor.settings import CameraBlockedRule, EngineSettings
from proctor.signals import CameraObservation

ANALYSIS_WIDTH = 320  # frames are scaled down to this width before they are measured
# settings.camera_blocked.blur_sharpness (15): variance of the Laplacian below it is a lens blurred beyond use
# (paper or tape over it, smeared, far out of focus). Measured at ANALYSIS_WIDTH over every frame (5 fps) of
# ../shared/data/video: lowest 51; the same frames after a Gaussian blur of sigma 5 px (640 px wide): 1.9..5.4
# (8-bit rounding keeps even a flat picture near 1).

DARK = "dark"
COVERED = "covered"
FROZEN = "frozen"


def small_grey(rgb: np.ndarray, width: int = ANALYSIS_WIDTH) -> np.ndarray:
    """A grey copy at most ``width`` pixels wide (area-averaged, so sensor noise shrinks too)."""
    check_rgb(rgb)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    if w > width:
        grey = cv2.resize(grey, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return grey


def measure(grey: np.ndarray, previous: np.ndarray | None = None) -> CameraObservation:
    """The observation of one grey frame (``previous``: the last analysed grey frame, same size, or None)."""
    mean, std = cv2.meanStdDev(grey)
    lap = cv2.Laplacian(grey, cv2.CV_32F, ksize=1)
    sharpness = float(lap.var())
    if previous is None or previous.shape != grey.shape:
        change = -1.0
    else:
        change = float(cv2.absdiff(grey, previous).mean())
    return CameraObservation(
        brightness=float(mean[0, 0]), contrast=float(std[0, 0]), sharpness=sharpness, change=change
    )


class CameraCheck:
    """Measures frames one after another (keeps the previous analysed frame for ``change``)."""

    def __init__(self, width: int = ANALYSIS_WIDTH) -> None:
        self.width = width
        self._previous: np.ndarray | None = None

    def analyze(self, rgb: np.ndarray) -> CameraObservation:
        grey = small_grey(rgb, self.width)
        obs = measure(grey, self._previous)
        self._previous = grey
        return obs

    def reset(self) -> None:
        """Forget the previous frame (a new stream or file starts)."""
        self._previous = None


def classify(obs: CameraObservation, settings: EngineSettings | CameraBlockedRule | None = None) -> str | None:
    """"dark", "covered", "frozen" or None (a normal picture), first match in that order.

    - dark: mean luma below ``dark_mean``;
    - covered: luma standard deviation below ``flat_std`` (a hand, tape or a flat surface on the lens), or
      sharpness below ``blur_sharpness`` (a blurred picture: paper or tape over the lens);
    - frozen: the picture did not change (``0 <= change < frozen_diff``); the first frame (change -1) is never
      frozen.
    """
    if settings is None:
        rule = EngineSettings().camera_blocked
    elif isinstance(settings, CameraBlockedRule):
        rule = settings
    else:
        rule = settings.camera_blocked
    if obs.brightness < rule.dark_mean:
        return DARK
    if obs.contrast < rule.flat_std or obs.sharpness < rule.blur_sharpness:
        return COVERED
    if 0.0 <= obs.change < rule.frozen_diff:
        return FROZEN
    return None
