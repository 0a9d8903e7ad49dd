"""The evidence strip: the room as the scan saw it, one thumbnail every ``step`` degrees, as one JPEG.

While the scan runs, :class:`StripBuilder` keeps at most one small thumbnail per 5 degrees of the room (the
sharpest usable frame looking there). :meth:`StripBuilder.render` lays out the thumbnails nearest to 0, step,
2*step, ... degrees in the direction the camera turned; a direction no frame looked at gets a grey "not seen"
tile, one seen only in blurred or too-fast frames a red frame around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

BIN_DEG = 5.0
LABEL_H = 18


@dataclass
class _Thumb:
    raw_yaw: float  # unscaled yaw (the final pitch correction multiplies it)
    t: float
    usable: bool
    sharpness: float
    rgb: np.ndarray


class StripBuilder:
    def __init__(self, thumb_width: int = 160):
        self.thumb_width = int(thumb_width)
        self._bins: dict[int, _Thumb] = {}
        self._thumb_h: int | None = None

    def offer(self, rgb: np.ndarray, raw_yaw: float, live_yaw: float, t: float, usable: bool, sharpness: float) -> None:
        key = int(np.floor((live_yaw % 360.0) / BIN_DEG))
        old = self._bins.get(key)
        if old is not None and (old.usable, old.sharpness) >= (usable, sharpness):
            return
        h, w = rgb.shape[:2]
        th = max(1, round(h * self.thumb_width / w))
        self._thumb_h = th
        thumb = cv2.resize(rgb, (self.thumb_width, th), interpolation=cv2.INTER_AREA)
        self._bins[key] = _Thumb(raw_yaw, t, usable, sharpness, thumb)

    def render(self, scale: float, direction: int, step_deg: float = 30.0, quality: int = 80) -> bytes:
        """JPEG bytes of the strip; ``scale``: final yaw / raw yaw; ``direction``: +1 right, -1 left."""
        tw = self.thumb_width
        th = self._thumb_h or round(tw * 3 / 4)
        n = max(1, int(round(360.0 / step_deg)))
        thumbs = list(self._bins.values())
        tiles = []
        sign = 1 if direction >= 0 else -1
        for i in range(n):
            target = (sign * i * step_deg) % 360.0
            best, best_key = None, None
            for th_ in thumbs:
                d = abs(((th_.raw_yaw * scale) - target + 180.0) % 360.0 - 180.0)
                if d > step_deg / 2.0:
                    continue
                key = (th_.usable, -d)
                if best_key is None or key > best_key:
                    best, best_key = th_, key
            tile = np.full((th + LABEL_H, tw, 3), 40, dtype=np.uint8)
            angle = sign * i * step_deg
            if best is None:
                cv2.putText(tile, "not seen", (tw // 2 - 32, th // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                            (200, 200, 200), 1, cv2.LINE_AA)
                label = f"{angle:+.0f} deg"
            else:
                tile[:th] = best.rgb
                if not best.usable:
                    cv2.rectangle(tile, (1, 1), (tw - 2, th - 2), (220, 30, 30), 2)
                label = f"{angle:+.0f} deg  t={best.t:.1f}s"
            cv2.putText(tile, label, (4, th + LABEL_H - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                        cv2.LINE_AA)
            tiles.append(tile)
        strip = np.hstack(tiles)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(strip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:  # pragma: no cover - OpenCV always encodes a uint8 image
            raise RuntimeError("could not encode the room-scan strip as JPEG")
        return buf.tobytes()
