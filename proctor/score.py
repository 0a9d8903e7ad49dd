"""The session's integrity score, computed from its events in a way a proctor can redo by hand.

    score = 100 - sum over event kinds k of  weight_k x (share of the session's time covered by k)
                - per_event_penalty x (number of events)
    clipped to 0..100.

The share of time of a kind is the length of the union of its events' intervals divided by the session's
length (an event still open counts up to the session's end). Recommendation: ``violation`` below
``violation_below``, ``suspicious`` below ``suspicious_below``, else ``clean``. Weights and cut-offs are in
:class:`proctor.settings.ScoreWeights`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from proctor.events import BROWSER_KINDS, UNSCORED_KINDS
from proctor.settings import EngineSettings


@dataclass(frozen=True)
class IntegrityScore:
    score: float
    recommendation: str  # "clean", "suspicious" or "violation"
    duration_s: float
    breakdown: dict[str, dict[str, float]] = field(default_factory=dict)  # kind -> {count, seconds, share, penalty}

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "recommendation": self.recommendation, "duration_s": self.duration_s,
                "breakdown": self.breakdown}


def _union_length(intervals: list[tuple[float, float]]) -> float:
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted(intervals):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def weight_for(kind: str, settings: EngineSettings) -> float:
    """The kind's weight: its own :class:`ScoreWeights` field, ``browser`` for the browser's kinds (and for a
    kind with no field of its own, e.g. ``room_scan_incomplete``)."""
    w = settings.score
    if kind in BROWSER_KINDS:
        return w.browser
    return float(getattr(w, kind, w.browser))


def integrity_score(events: Iterable[dict[str, Any]], duration_s: float, settings: EngineSettings | None = None) -> IntegrityScore:
    """Score folded events (records with kind, start, end) of a session lasting ``duration_s`` seconds."""
    s = settings or EngineSettings()
    duration = max(float(duration_s), 1e-6)
    by_kind: dict[str, list[tuple[float, float]]] = {}
    for e in events:
        if e["kind"] in UNSCORED_KINDS:
            continue
        start = float(e["start"])
        end = float(e["end"]) if e.get("end") is not None else duration
        # an instant event (a tab switch with no measured end) still counts for one second
        by_kind.setdefault(e["kind"], []).append((start, max(end, start + 1.0) if end <= start else end))
    breakdown: dict[str, dict[str, float]] = {}
    total_penalty = 0.0
    for kind, intervals in sorted(by_kind.items()):
        seconds = min(_union_length(intervals), duration)
        share = seconds / duration
        penalty = weight_for(kind, s) * share + s.score.per_event_penalty * len(intervals)
        total_penalty += penalty
        breakdown[kind] = {"count": len(intervals), "seconds": round(seconds, 2), "share": round(share, 4),
                           "weight": weight_for(kind, s), "penalty": round(penalty, 2)}
    score = round(min(100.0, max(0.0, 100.0 - total_penalty)), 1)
    if score < s.score.violation_below:
        rec = "violation"
    elif score < s.score.suspicious_below:
        rec = "suspicious"
    else:
        rec = "clean"
    return IntegrityScore(score, rec, round(duration_s, 2), breakdown)
