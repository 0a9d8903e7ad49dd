"""Eye direction relative to the head, from the Face Landmarker's eye blendshapes.

The blendshape names follow ARKit and are the *subject's* eyes: ``eyeLookOutRight`` is the subject's right eye
turning outward (toward the subject's right, i.e. the image's left). Checked on data/headpose: with the head
turned toward the image's left (Pointing'04 pan > 0) ``eyeLookOutRight`` rises and ``eyeLookOutLeft`` /
``eyeLookInRight`` fall.

For each direction both eyes are averaged: looking to the subject's right is ``eyeLookOutRight`` (right eye out)
with ``eyeLookInLeft`` (left eye in). The gaze is *off screen* when one direction's score exceeds
``settings.looking_away.gaze_off``, unless the eyes are closed (both ``eyeBlink*`` above :data:`EYES_CLOSED`):
the look-down shapes also rise during a blink, which is not looking away.
"""

from __future__ import annotations

from collections.abc import Mapping

from proctor.signals import Gaze

EYES_CLOSED = 0.5

_DIRECTIONS = {
    "right": ("eyeLookOutRight", "eyeLookInLeft"),  # subject's right = image left
    "left": ("eyeLookOutLeft", "eyeLookInRight"),
    "up": ("eyeLookUpLeft", "eyeLookUpRight"),
    "down": ("eyeLookDownLeft", "eyeLookDownRight"),
}


def direction_scores(blendshapes: Mapping[str, float]) -> dict[str, float]:
    return {d: (float(blendshapes.get(a, 0.0)) + float(blendshapes.get(b, 0.0))) / 2 for d, (a, b) in _DIRECTIONS.items()}


def eyes_closed(blendshapes: Mapping[str, float]) -> bool:
    return min(float(blendshapes.get("eyeBlinkLeft", 0.0)), float(blendshapes.get("eyeBlinkRight", 0.0))) > EYES_CLOSED


def gaze_from_blendshapes(blendshapes: Mapping[str, float], off_threshold: float) -> Gaze:
    """``horizontal`` > 0: eyes toward the image's left (subject's right); ``vertical`` > 0: up; both -1..1."""
    s = direction_scores(blendshapes)
    horizontal = max(-1.0, min(1.0, s["right"] - s["left"]))
    vertical = max(-1.0, min(1.0, s["up"] - s["down"]))
    off = (not eyes_closed(blendshapes)) and max(s.values()) > off_threshold
    return Gaze(horizontal=horizontal, vertical=vertical, off_screen=bool(off))
