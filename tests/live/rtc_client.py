"""A real aiortc client for tests and the benchmark: sends a clip's camera video (VP8, 640x480, 15 fps) and
microphone audio (Opus) to the live server, and talks the data channel protocol.

The clip is encoded once (:func:`encode_clip`) and its packets are sent by every client, as a browser would send
its encoder's output: the server's side (RTP, SRTP, recording, decoding, analysis) is exactly what a browser
would cause, while the machine does not also spend a VP8 encoder per simulated student.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from server.live.sdp import ptime_from_sdp

VIDEO_TB = fractions.Fraction(1, 90000)
AUDIO_TB = fractions.Fraction(1, 48000)


@dataclass
class EncodedClip:
    video: list[tuple[bytes, bool]]  # (VP8 frame, keyframe) at fps
    audio: list[bytes]  # Opus packets of audio_ms each
    fps: float
    audio_ms: int = 20
    audio_pcm: np.ndarray | None = None  # the clip's audio (48 kHz mono int16), to encode at another packet length
    _by_ms: dict[int, list[bytes]] = field(default_factory=dict, repr=False)

    def audio_packets(self, ms: int) -> list[bytes]:
        """The audio as Opus packets of ``ms`` each (what a browser sends when the answer asks ``a=ptime``)."""
        if ms == self.audio_ms or self.audio_pcm is None:
            return self.audio
        if ms not in self._by_ms:
            self._by_ms[ms] = encode_opus(self.audio_pcm, ms)
        return self._by_ms[ms]


def encode_opus(pcm: np.ndarray, ms: int = 20) -> list[bytes]:
    """48 kHz mono int16 samples -> Opus packets of ``ms`` milliseconds (32 kbit/s, as a browser's microphone)."""
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "mono", "s16"
    enc.bit_rate = 32000
    enc.options = {"frame_duration": str(ms)}
    n = 48 * ms
    out: list[bytes] = []
    for i in range(0, len(pcm) - n + 1, n):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[None, i:i + n]), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, i
        out += [bytes(p) for p in enc.encode(frame)]
    return out + [bytes(p) for p in enc.encode(None)]


def temporal_layers(bitrate: int, layers: int) -> dict[str, str]:
    """libvpx options for VP8 in ``layers`` temporal layers as a browser sends them for ``scalabilityMode``
    L1T2/L1T3 (WebRTC's split of the rate: 60/100 % or 40/60/100 %); the top layer's frames update no reference."""
    kbps = bitrate // 1000
    if layers == 3:
        rates, spec = (kbps * 2 // 5, kbps * 3 // 5, kbps), "ts_rate_decimator=4,2,1:ts_periodicity=4:ts_layer_id=0,2,1,2"
    elif layers == 2:
        rates, spec = (kbps * 3 // 5, kbps), "ts_rate_decimator=2,1:ts_periodicity=2:ts_layer_id=0,1"
    else:
        return {}
    return {"ts-parameters": f"ts_number_layers={layers}:ts_target_bitrate={','.join(map(str, rates))}:{spec}"
                             f":ts_layering_mode={layers}"}


def encode_clip(video_path: Path, audio_path: Path | None, fps: float = 15.0, bitrate: int = 700_000,
                keyframe_s: float = 2.0, seconds: float | None = None, size: tuple[int, int] = (640, 480),
                layers: int = 3) -> EncodedClip:
    """The clip as a browser sends it: VP8 ``size`` at ``fps`` in ``layers`` temporal layers (the student page asks
    for L1T3, ``live_video.scalability_mode``), at ``bitrate``; the audio as 20 ms Opus packets."""
    from proctor.media import iter_video_frames

    enc = av.CodecContext.create("libvpx", "w")
    width, height = size
    enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
    enc.time_base = fractions.Fraction(1, int(fps))
    enc.bit_rate = bitrate
    enc.gop_size = int(fps * keyframe_s)
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0", **temporal_layers(bitrate, layers)}
    video: list[tuple[bytes, bool]] = []
    for n, vf in enumerate(iter_video_frames(video_path, fps=fps)):
        if seconds is not None and vf.t >= seconds:
            break
        rgb = vf.rgb if vf.rgb.shape[:2] == (height, width) else __import__("cv2").resize(vf.rgb, (width, height))
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuv420p")
        frame.pts = n
        for p in enc.encode(frame):
            video.append((bytes(p), bool(p.is_keyframe)))
    for p in enc.encode(None):
        video.append((bytes(p), bool(p.is_keyframe)))
    if audio_path is None:
        return EncodedClip(video, [], fps)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
    parts: list[np.ndarray] = []
    with av.open(str(audio_path)) as c:
        for frame in c.decode(audio=0):
            parts += [rf.to_ndarray().reshape(-1) for rf in resampler.resample(frame)]
    parts += [rf.to_ndarray().reshape(-1) for rf in resampler.resample(None)]
    pcm = np.concatenate(parts).astype(np.int16) if parts else np.zeros(0, np.int16)
    return EncodedClip(video, encode_opus(pcm, 20), fps, 20, pcm)


class PacketTrack(MediaStreamTrack):
    """Sends pre-encoded packets in real time, looping the clip."""

    def __init__(self, kind: str, packets: list[bytes], period: float, time_base: fractions.Fraction):
        super().__init__()
        self.kind = kind
        self.packets = packets
        self.period = period
        self.time_base = time_base
        self.n = 0
        self.start: float | None = None
        self.sent_at: list[float] = []

    async def recv(self) -> av.Packet:
        if self.start is None:
            self.start = time.monotonic()
        due = self.start + self.n * self.period
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        data = self.packets[self.n % len(self.packets)]
        packet = av.Packet(data)
        packet.pts = int(round(self.n * self.period / self.time_base))
        packet.time_base = self.time_base
        self.n += 1
        return packet


@dataclass
class LiveClient:
    base_url: str
    token: str
    session_id: str
    clip: EncodedClip
    messages: list[dict[str, Any]] = field(default_factory=list)
    pc: RTCPeerConnection | None = None
    channel: Any = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    answer_sdp: str = ""  # the server's last SDP answer

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def connect(self, timeout: float = 20.0) -> None:
        self.connected = asyncio.Event()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc = pc
        pc.addTransceiver(PacketTrack("video", [d for d, _ in self.clip.video], 1.0 / self.clip.fps, VIDEO_TB),
                          direction="sendonly")
        audio = None
        if self.clip.audio:
            audio = PacketTrack("audio", self.clip.audio, self.clip.audio_ms / 1000, AUDIO_TB)
            pc.addTransceiver(audio, direction="sendonly")
        self.channel = pc.createDataChannel("proctor")

        @self.channel.on("message")
        def on_message(raw: str) -> None:
            msg = json.loads(raw)
            msg["_at"] = time.monotonic()
            self.messages.append(msg)

        @self.channel.on("open")
        def on_open() -> None:
            self.connected.set()

        await pc.setLocalDescription(await pc.createOffer())  # aiortc gathers every candidate here
        async with httpx.AsyncClient(timeout=30.0) as http:
            r = await http.post(f"{self.base_url}/api/live/sessions/{self.session_id}/offer", headers=self._headers(),
                                json={"sdp": pc.localDescription.sdp, "type": pc.localDescription.type})
        if r.status_code != 200:
            raise RuntimeError(f"offer refused: {r.status_code} {r.text}")
        answer = r.json()
        self.answer_sdp = answer["sdp"]
        ptime = ptime_from_sdp(answer["sdp"])
        if audio is not None and ptime and ptime != self.clip.audio_ms:  # as a browser does: Opus frames of ptime
            audio.packets, audio.period = self.clip.audio_packets(ptime), ptime / 1000
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await asyncio.wait_for(self.connected.wait(), timeout)

    def send(self, message: dict[str, Any]) -> None:
        self.channel.send(json.dumps(message))

    async def wait_for(self, pred, timeout: float = 10.0) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for m in self.messages:
                if pred(m):
                    return m
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no such message in {timeout} s; got {[m.get('type') for m in self.messages]}")

    async def drop(self) -> None:
        """Close the connection abruptly, as a network drop would."""
        if self.pc is not None:
            await self.pc.close()
            self.pc = None

    async def stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10.0) as http:
            r = await http.get(f"{self.base_url}/api/live/sessions/{self.session_id}/stats", headers=self._headers())
        r.raise_for_status()
        return r.json()
