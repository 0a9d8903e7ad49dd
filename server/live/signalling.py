"""One peer connection: the browser's offer checked in full, the answer (VP8 only, with the camera's bitrate
ceiling), the tap on the received tracks, the data channel. Like aiortc's ``examples/server/server.py``, the
handlers are closures over the one connection; each carries the connection's generation, so the callbacks of a
connection that a newer one replaced go quiet.

Order matters for :func:`check_offer` (issue 12): the offer is fully applied (``setRemoteDescription``) and must
carry video *before* the session is marked live, so a malformed offer neither starts the session's clock nor
takes a node's place.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription

from server.live import protocol
from server.live.channel import send_to_student
from server.live.media import tap_receiver
from server.live.sdp import cap_video_bitrate, set_audio_ptime
from server.live.state import LiveError, LiveSession


class MediaSink(Protocol):
    """Where a connection's media and its end go (:class:`server.live.session.SessionFlow`)."""

    def on_video(self, s: LiveSession, gen: int, mime: str, data: bytes, ts: int) -> None: ...

    def on_audio(self, s: LiveSession, gen: int, mime: str, data: bytes, ts: int) -> None: ...

    def lost(self, s: LiveSession, reason: str) -> None: ...


def check_offer_text(sdp: Any, sdp_type: str) -> None:
    """The cheap checks, before anything is created."""
    if sdp_type != "offer":
        raise LiveError(400, "not_an_offer", f"expected an SDP offer, got type {sdp_type!r}")
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise LiveError(400, "malformed_sdp", "the SDP does not start with v=0")
    if "\nm=video " not in sdp.replace("\r\n", "\n"):
        raise LiveError(400, "no_video", "the offer has no video: the camera must be sent")


async def check_offer(sdp: str) -> tuple[RTCPeerConnection, list[MediaStreamTrack]]:
    """A new peer connection with the offer applied, and the tracks it announced; :class:`LiveError` (400) for an
    offer aiortc cannot use or one without video (the connection is closed then)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no public STUN server: the host's own candidates
    tracks: list[MediaStreamTrack] = []
    pc.on("track", tracks.append)
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if not any(t.kind == "video" for t in pc.getTransceivers()):
            raise LiveError(400, "no_video", "the offer has no video: the camera must be sent")
    except Exception as exc:  # noqa: BLE001 - aiortc raises many kinds on bad SDP
        await pc.close()
        if isinstance(exc, LiveError):
            raise
        raise LiveError(400, "malformed_sdp", f"the offer could not be used: {exc}") from exc
    return pc, tracks


async def answer(s: LiveSession, pc: RTCPeerConnection, tracks: list[MediaStreamTrack], media: MediaSink,
                 on_message: Callable[[LiveSession, Any], None], max_kbps: int,
                 audio_ptime_ms: int = 0) -> dict[str, str]:
    """Make ``pc`` the session's connection and answer it. The receivers have not started yet (they start once the
    local description is set), so their encoded frames are tapped from the first one."""
    s.generation += 1
    gen = s.generation
    s.pc = pc
    for track in tracks:
        receiver = next((t.receiver for t in pc.getTransceivers() if t.receiver.track is track), None)
        if receiver is None:
            continue
        if track.kind == "video":
            s.video_receiver = receiver
            tap_receiver(receiver, lambda mime, data, ts: media.on_video(s, gen, mime, data, ts))
        elif track.kind == "audio":
            tap_receiver(receiver, lambda mime, data, ts: media.on_audio(s, gen, mime, data, ts))

    @pc.on("datachannel")
    def on_datachannel(channel: Any) -> None:
        if s.generation != gen:
            return
        s.channel = channel

        @channel.on("message")
        def on_channel_message(raw: Any) -> None:
            if s.generation == gen:
                on_message(s, raw)

        send_to_student(s, protocol.exam_state("proctoring", session_id=s.sid, reconnected=s.connections > 1))
        if s.pending_resumed is not None and send_to_student(s, s.pending_resumed):
            s.pending_resumed = None

    @pc.on("connectionstatechange")
    async def on_state() -> None:
        if s.generation == gen and pc.connectionState in ("failed", "closed"):
            media.lost(s, f"connection {pc.connectionState}")

    vp8 = [c for c in RTCRtpReceiver.getCapabilities("video").codecs if c.mimeType.lower() in ("video/vp8", "video/rtx")]
    for t in pc.getTransceivers():
        if t.kind == "video":
            t.setCodecPreferences(vp8)  # recorded as sent (WebM/VP8), never re-encoded
    await pc.setLocalDescription(await pc.createAnswer())
    s.connections += 1
    # the camera stream's ceiling: enough for 640x480 at 15 fps, kind to a student's uplink, and the server
    # receives, decodes and records fewer packets and bytes (bench_live at 16 sessions: 1.58-1.64 server
    # cores, against 1.67 with the clip at 700 kbit/s)
    sdp = set_audio_ptime(cap_video_bitrate(pc.localDescription.sdp, max_kbps), audio_ptime_ms)
    return {"sdp": sdp, "type": pc.localDescription.type}
