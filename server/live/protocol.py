"""The data channel protocol: JSON messages, one per data channel message, both ways.

Browser -> server (:data:`ClientMessage`):

- ``{"type": "browser_signal", "kind": "tab_switch"|"fullscreen_exit"|"copy_paste"|"devtools",
  "phase": "start"|"end"|"instant", "details": {...}}``: a tab/window switch or leaving full screen opens with
  ``start`` and closes with ``end`` (one event with its duration); copy/cut/paste and devtools-like signals are
  ``instant``. Bounded (``browser.py``): at most ``MAX_DETAIL_KEYS`` detail keys, texts cut to
  ``live_signal_detail_chars``, and the signals of one kind within ``live_signal_burst_s`` are one event with
  their ``count``. The page's uplink reports take the same path with the context kinds
  (``proctor.events.CONTEXT_KINDS``, never scored): ``stream_poor`` start/end while the page finds its uplink too
  poor for a fair exam, ``uplink_changed`` instant when it lowers or restores its camera stream (details: ``rung``,
  ``level``, ``kbps``). They are the page's claim, recorded next to the server's own measurement
  (``server/live/quality.py``), which decides what the proctor is shown as measured.
- ``{"type": "identity_check"}``: check the live face against the enrolment now (answer: ``identity_result``);
  at most ``live_check_requests_per_min`` a minute (so is ``room_scan`` start), else ``error`` ``rate_limited``.
- ``{"type": "room_scan", "phase": "start"|"end"}``: the student started / finished the 360° turn.
- ``{"type": "exam_state", "state": "started"|"submitted"}``: what the exam page did. The page asks, the
  server decides: ``submitted`` never ends the session by itself (the attempt's submit API, its time-out, the
  grace period or a proctor do); if the attempt is not over it is recorded as ``page_request_refused``.
- ``{"type": "step", "step": "identity"|"room_scan"|"exam"|...}``: the page moved to a step (entering the room
  scan step makes the server send ``room_scan_request``).
- ``{"type": "ping"}``.

Server -> browser (:func:`warning`, :func:`room_scan_request`, :func:`room_scan_progress`, :func:`exam_state`,
``identity_result``, ``room_scan_recorded``, ``pong``, ``error`` with a ``code``: ``bad_message``,
``rate_limited`` (with ``request`` and ``retry_after_s``), ``page_request_refused``): warnings carry a ``code`` the page translates
(``warning.<kind>``) and an English ``text``.

- ``room_scan_request``: scan the room now (on the room scan step; during the exam ``"rescan": true`` with a
  ``reason``: a proctor asked, or ``event:<kind>`` after e.g. ``multiple_faces``).
- ``{"type": "room_scan_progress", "yaw_deg", "coverage_deg", "remaining_deg", "direction": "right"|"left"|
  "none", "turn_direction", "slow_down", "too_fast", "complete", "speed_deg_s", "tracking", "faces", "t"}``:
  the scan's live guide, about 4 times a second while scanning.
- ``{"type": "room_scan_recorded", "passed", "coverage_deg", "reasons": ["code: detail"], "kind", "event_id",
  "warnings", "faces", "attempt_state"}``: the verdict after ``room_scan`` end; only a passed scan marks the
  attempt room-scanned.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from proctor.events import BROWSER_KINDS, CONTEXT_KINDS, EVENT_KINDS

MAX_MESSAGE_BYTES = 4096
MAX_DETAIL_KEYS = 8  # a browser signal's details: at most this many keys of at most 40 characters


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BrowserSignal(_Msg):
    type: Literal["browser_signal"]
    kind: Literal[BROWSER_KINDS + CONTEXT_KINDS]  # type: ignore[valid-type]  # the engine's lists (proctor.events)
    phase: Literal["start", "end", "instant"] = "instant"
    details: dict[Annotated[str, Field(max_length=40)], str | int | float | bool | None] = Field(
        default_factory=dict, max_length=MAX_DETAIL_KEYS)  # texts are cut to live_signal_detail_chars


class IdentityCheckRequest(_Msg):
    type: Literal["identity_check"]


class RoomScanReport(_Msg):
    type: Literal["room_scan"]
    phase: Literal["start", "end"]


class ExamStateReport(_Msg):
    type: Literal["exam_state"]
    state: Literal["started", "submitted"]


class StepReport(_Msg):
    type: Literal["step"]
    step: Literal["consent", "device_check", "identity", "room_scan", "exam", "done"]


class Ping(_Msg):
    type: Literal["ping"]


ClientMessage = Annotated[
    Union[BrowserSignal, IdentityCheckRequest, RoomScanReport, ExamStateReport, StepReport, Ping], Field(discriminator="type")
]
_client_adapter: TypeAdapter[Any] = TypeAdapter(ClientMessage)


class ProtocolError(ValueError):
    """A data channel message that is not valid JSON or not a known message."""


def parse_client_message(raw: str | bytes) -> Any:
    if isinstance(raw, bytes):
        if len(raw) > MAX_MESSAGE_BYTES:
            raise ProtocolError(f"message of {len(raw)} bytes (at most {MAX_MESSAGE_BYTES})")
        try:
            raw = raw.decode()
        except UnicodeDecodeError as exc:
            raise ProtocolError("message is not UTF-8") from exc
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {len(raw)} characters (at most {MAX_MESSAGE_BYTES})")
    try:
        return _client_adapter.validate_json(raw)
    except ValidationError as exc:
        raise ProtocolError(f"not a valid message: {exc.errors(include_url=False)[:1]}") from exc


# ---- server -> browser ------------------------------------------------------------------------------------
# What the student is told when an event of these kinds opens (the page shows its own translation of
# warning.<kind>; tests/test_event_kinds.py checks that every kind has one in kk/ru/en).
WARNING_TEXT: dict[str, str] = {
    "multiple_faces": "Only you may be in the frame.",
    "face_missing": "Stay in front of the camera.",
    "looking_away": "Please look at your screen.",
    "speech": "Please keep quiet during the exam.",
    "noise": "It is noisy around you.",
    "camera_blocked": "Your camera seems covered or too dark.",
    "identity_mismatch": "We could not confirm that you are the enrolled student.",
    "tab_switch": "Stay on the exam page.",
    "fullscreen_exit": "Please return to full screen.",
    "devtools": "Close developer tools.",
    "copy_paste": "Copying and pasting is recorded.",
}


assert set(WARNING_TEXT) <= set(EVENT_KINDS), set(WARNING_TEXT) - set(EVENT_KINDS)


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def warning(kind: str, event_id: str) -> dict[str, Any]:
    return {"type": "warning", "kind": kind, "code": f"warning.{kind}", "event_id": event_id,
            "text": WARNING_TEXT.get(kind, kind)}


def room_scan_request(duration_s: float) -> dict[str, Any]:
    return {"type": "room_scan_request", "code": "room_scan.request", "turn_deg": 360, "duration_s": duration_s,
            "text": "Slowly turn your camera all the way around the room (360 degrees)."}


PROGRESS_KEYS = ("t", "yaw_deg", "coverage_deg", "remaining_deg", "direction", "turn_direction", "slow_down",
                 "too_fast", "complete", "speed_deg_s", "tracking", "faces")


def room_scan_progress(guide: dict[str, Any]) -> dict[str, Any]:
    """The tracker's live guide as a data channel message."""
    return {"type": "room_scan_progress", **{k: guide.get(k) for k in PROGRESS_KEYS}}


def exam_state(state: str, **extra: Any) -> dict[str, Any]:
    return {"type": "exam_state", "state": state, **extra}
