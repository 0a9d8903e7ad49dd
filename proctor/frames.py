"""The one check of an RGB frame that every analyser runs before it looks at the pixels."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_rgb(rgb: Any) -> np.ndarray:
    """The frame as a C-contiguous RGB uint8 array of shape (H, W, 3), at least 2x2, or a :class:`ValueError`
    saying what is wrong (no copy when it already is one)."""
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        got = type(rgb).__name__ if not isinstance(rgb, np.ndarray) else f"{rgb.dtype} array of shape {rgb.shape}"
        raise ValueError(f"expected an RGB uint8 image of shape (H, W, 3), got {got}")
    if rgb.shape[0] < 2 or rgb.shape[1] < 2:
        raise ValueError(f"image is empty or too small to analyse: shape {rgb.shape}")
    return np.ascontiguousarray(rgb)
