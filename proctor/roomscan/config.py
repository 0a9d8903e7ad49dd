"""Thresholds of the room-scan check: ``EngineSettings.room_scan`` (a :class:`RoomScanSettings`)."""

from __future__ import annotations

from proctor.settings import EngineSettings, RoomScanSettings

__all__ = ["RoomScanSettings", "room_scan_settings"]


def room_scan_settings(settings: EngineSettings | RoomScanSettings | None = None) -> RoomScanSettings:
    """The room-scan thresholds from engine settings, room-scan settings as they are, or the defaults."""
    if settings is None:
        return RoomScanSettings()
    if isinstance(settings, RoomScanSettings):
        return settings
    return settings.room_scan
