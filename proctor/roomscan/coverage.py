"""Which directions of the room were seen: the union of the frames' fields of view on a circle.

Angles are room angles in degrees relative to the first frame's heading, > 0 to the right (clockwise seen
from above). The circle is kept in bins of ``1 / BINS_PER_DEG`` degree.
"""

from __future__ import annotations

import numpy as np

BINS_PER_DEG = 2
NBINS = 360 * BINS_PER_DEG


class CoverageMap:
    def __init__(self) -> None:
        self.seen = np.zeros(NBINS, dtype=bool)

    def add(self, yaw_deg: float, fov_deg: float) -> None:
        """Mark ``[yaw - fov/2, yaw + fov/2]`` as seen."""
        half = fov_deg / 2.0
        lo = int(np.floor((yaw_deg - half) * BINS_PER_DEG))
        hi = int(np.ceil((yaw_deg + half) * BINS_PER_DEG))
        if hi - lo >= NBINS:
            self.seen[:] = True
            return
        idx = np.arange(lo, hi) % NBINS
        self.seen[idx] = True

    @property
    def degrees(self) -> float:
        return float(self.seen.sum()) / BINS_PER_DEG

    def gaps(self, min_gap_deg: float = 1.0) -> list[tuple[float, float]]:
        """Unseen arcs as (from_deg, to_deg), each running to the right from ``from`` to ``to``; angles in
        [0, 360), ``to < from`` when the arc crosses 0. Arcs narrower than ``min_gap_deg`` are left out."""
        if not self.seen.any():
            return [(0.0, 360.0)]
        if self.seen.all():
            return []
        # rotate so index 0 is seen, then find runs of unseen bins
        start = int(np.argmax(self.seen))
        ring = np.roll(self.seen, -start)
        out: list[tuple[float, float]] = []
        i = 0
        while i < NBINS:
            if ring[i]:
                i += 1
                continue
            j = i
            while j < NBINS and not ring[j]:
                j += 1
            width = (j - i) / BINS_PER_DEG
            if width >= min_gap_deg:
                a = ((i + start) % NBINS) / BINS_PER_DEG
                b = ((j + start) % NBINS) / BINS_PER_DEG
                out.append((round(a, 1), round(b, 1)))
            i = j
        return out


def coverage_of(yaws_deg: list[float] | np.ndarray, fov_deg: float) -> CoverageMap:
    cov = CoverageMap()
    for y in yaws_deg:
        cov.add(float(y), fov_deg)
    return cov


def wrap360(angle_deg: float) -> float:
    a = float(angle_deg) % 360.0
    return 0.0 if a >= 360.0 else a
