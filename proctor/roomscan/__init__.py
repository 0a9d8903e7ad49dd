"""The 360° room scan: how far the camera turned, what it showed, and the verdict.

- :class:`RoomScanTracker`: streaming (``update(rgb, t)`` per frame gives the live guide, ``result()`` the verdict);
- :func:`analyze_room_scan`: a whole video file or sequence of frames;
- :class:`RoomScanResult`: ``room_scan_completed`` / ``room_scan_incomplete`` with coverage, gaps, speed, the
  frames too fast or blurred, faces seen and the evidence strip (JPEG).

See :mod:`proctor.roomscan.tracker` for the rules and :mod:`proctor.roomscan.motion` for the motion estimate.
"""

from proctor.roomscan.config import RoomScanSettings, room_scan_settings
from proctor.roomscan.tracker import COMPLETED, INCOMPLETE, RoomScanResult, RoomScanTracker, analyze_room_scan

__all__ = [
    "COMPLETED",
    "INCOMPLETE",
    "RoomScanResult",
    "RoomScanSettings",
    "RoomScanTracker",
    "analyze_room_scan",
    "room_scan_settings",
]
