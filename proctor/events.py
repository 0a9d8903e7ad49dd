"""Events: what the rules raise from signals, and how a chain of event records folds back into events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

SEVERITIES = ("low", "medium", "high")

# What each kind means, for reports and the review page.
EVENT_KINDS: dict[str, str] = {
    "face_missing": "No face in front of the camera",
    "multiple_faces": "More than one face in the frame",
    "identity_mismatch": "The person in front of the camera is not the enrolled student",
    "looking_away": "Head or eyes turned away from the screen for a sustained time",
    "speech": "Speech heard",
    "noise": "Loud non-speech sound",
    "camera_blocked": "Camera dark, covered or frozen",
    "body_movement": "Large or sustained upper-body movement",
    "tab_switch": "The exam tab or window lost focus",
    "fullscreen_exit": "Full screen was left",
    "copy_paste": "Copy, cut or paste in the exam page",
    "devtools": "Developer tools or a similar tool was opened",
    "stream_lost": "The camera/microphone stream was lost",
    "room_scan_completed": "The 360° room scan covered the room",
    "room_scan_incomplete": "The 360° room scan did not cover the room",
    "stream_poor": "The camera stream was too poor for the analysis (bit rate, frame rate or size): context, not misconduct",
    "uplink_changed": "The exam page changed its camera stream for a poor uplink (the page's own report)",
}

# The one list of event kinds is EVENT_KINDS above; these name groups of it (the rules, the score, the live data
# channel, the review and the pages' translations all use these, never their own copies).
BROWSER_KINDS: tuple[str, ...] = ("tab_switch", "fullscreen_exit", "copy_paste", "devtools")  # the exam page reports them
ROOM_SCAN_KINDS: tuple[str, ...] = ("room_scan_completed", "room_scan_incomplete")
# The stream's quality: context for the proctor, never misconduct. The server measures what arrives
# (``stream_poor``, source "server", server/live/quality.py); the page may report what its uplink does
# (``stream_poor`` while it finds the uplink too poor, ``uplink_changed`` when it lowers or restores its camera
# stream, source "browser"): the page's claim, shown next to the server's measurement.
CONTEXT_KINDS: tuple[str, ...] = ("stream_poor", "uplink_changed")
UNSCORED_KINDS: tuple[str, ...] = ("room_scan_completed", *CONTEXT_KINDS)  # recorded, never lower the integrity score

BASE_SEVERITY: dict[str, str] = {
    "identity_mismatch": "high",
    "multiple_faces": "high",
    "camera_blocked": "high",
    "face_missing": "medium",
    "speech": "medium",
    "stream_lost": "medium",
    "room_scan_incomplete": "medium",
    "devtools": "medium",
    "tab_switch": "medium",
    "fullscreen_exit": "low",
    "copy_paste": "medium",
    "looking_away": "low",
    "noise": "low",
    "body_movement": "low",
    "room_scan_completed": "low",
    "stream_poor": "low",
    "uplink_changed": "low",
}

LONG_EVENT_S = 10.0  # an event this long is one severity level higher than its kind's base


def severity_for(kind: str, duration: float | None) -> str:
    if kind in CONTEXT_KINDS:  # context, not misconduct: a long stretch is no worse
        return BASE_SEVERITY[kind]
    base = SEVERITIES.index(BASE_SEVERITY.get(kind, "medium"))
    if duration is not None and duration >= LONG_EVENT_S:
        base = min(base + 1, len(SEVERITIES) - 1)
    return SEVERITIES[base]


@dataclass
class Event:
    id: str
    kind: str
    start: float
    end: float | None
    confidence: float
    source: str  # "video", "audio", "identity", "browser", "server", "room_scan"
    status: str = "open"  # "open" while it goes on, "closed" once it ended
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, Any] = field(default_factory=dict)
    model_versions: dict[str, str] = field(default_factory=dict)
    evidence_images: dict[str, bytes] = field(default_factory=dict, repr=False)  # name -> JPEG; not hashed

    @property
    def duration(self) -> float | None:
        return None if self.end is None else max(0.0, self.end - self.start)

    @property
    def severity(self) -> str:
        return severity_for(self.kind, self.duration)

    def to_record(self) -> dict[str, Any]:
        """The JSON record that goes into the hash chain (evidence images are referenced by sha256)."""
        return {
            "type": "event",
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "start": round(self.start, 3),
            "end": None if self.end is None else round(self.end, 3),
            "duration": None if self.duration is None else round(self.duration, 3),
            "severity": self.severity,
            "confidence": round(float(self.confidence), 3),
            "source": self.source,
            "message": self.message or EVENT_KINDS.get(self.kind, self.kind),
            "evidence": self.evidence,
            "thresholds": self.thresholds,
            "model_versions": self.model_versions,
        }


def fold_events(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The final state of each event from a stream of chain records (later records of an id win)."""
    by_id: dict[str, dict[str, Any]] = {}
    for r in records:
        rec = r.get("record", r)
        if rec.get("type") == "event":
            by_id[rec["id"]] = rec
    return sorted(by_id.values(), key=lambda e: (e["start"], e["id"]))
