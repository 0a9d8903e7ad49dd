"""Bounds on what a student's page may send: a burst of one kind of browser signal becomes one event with a
count, and the page's requests for the costly checks (identity step, room scan) are rate-limited per session.
Pure bookkeeping on the event loop (no I/O): the hub flushes a burst when its window closes."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Burst:
    """Signals of one kind gathered over one window: one event from ``start`` to ``end`` with their count."""

    kind: str
    start: float
    end: float
    details: dict[str, Any]
    count: int = 1
    seconds: float = 0.0  # the summed durations of start/end signals (tab switches)

    def add(self, start: float, end: float) -> None:
        self.count += 1
        self.end = max(self.end, end)
        self.seconds += max(0.0, end - start)

    def details_out(self) -> dict[str, Any]:
        out = {**self.details, "count": self.count}
        if self.seconds:
            out["seconds"] = round(self.seconds, 3)
        return out


@dataclass
class RateLimit:
    """At most ``limit`` requests in any ``window_s`` seconds (a sliding window of their times)."""

    limit: int
    window_s: float
    times: deque[float] = field(default_factory=deque)

    def allow(self, now: float) -> float | None:
        """None if the request may go ahead (it is counted), else the seconds until one may."""
        while self.times and now - self.times[0] >= self.window_s:
            self.times.popleft()
        if len(self.times) >= self.limit:
            return round(self.window_s - (now - self.times[0]), 3)
        self.times.append(now)
        return None


def bounded_details(details: dict[str, Any], max_text: int) -> dict[str, Any]:
    """The page's details of a signal with every text cut to ``max_text`` characters (marked ``truncated``)."""
    out: dict[str, Any] = {}
    cut = False
    for key, value in details.items():
        if isinstance(value, str) and len(value) > max_text:
            value, cut = value[:max_text], True
        out[key] = value
    if cut:
        out["truncated"] = True
    return out
