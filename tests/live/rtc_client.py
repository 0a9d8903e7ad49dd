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

VIDEO_TB = fractions.Fraction(1, 90000)
AUDIO_TB = fractions.Fraction(1, 48000)


@dataclass
class EncodedClip:
    video: list[tuple[bytes, bool]]  # (VP8 frame, keyframe) at fps
    audio: list[bytes]  # 20 ms Opus packets
    fps: float


def encode_clip(video_path: Path, audio_path: Path | None, fps: float = 15.0, bitrate: int = 700_000,
                keyframe_s: float = 2.0, seconds: float | None = None, size: tuple[int, int] = (640, 480)) -> EncodedClip:
    from proctor.media import iter_video_frames

    enc = av.CodecContext.create("libvpx", "w")
    width, height = size
    enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
    enc.time_base = fractions.Fraction(1, int(fps))
    enc.bit_rate = bitrate
    enc.gop_size = int(fps * keyframe_s)
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
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
    audio: list[bytes] = []
    if audio_path is not None:
        aenc = av.CodecContext.create("libopus", "w")
        aenc.sample_rate, aenc.layout, aenc.format = 48000, "mono", "s16"
        aenc.bit_rate = 32000
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        with av.open(str(audio_path)) as c:
            pts = 0
            for frame in c.decode(audio=0):
                for rf in resampler.resample(frame):
                    rf.pts = pts
                    pts += rf.samples
                    audio += [bytes(p) for p in aenc.encode(rf)]
        audio += [bytes(p) for p in aenc.encode(None)]
    return EncodedClip(video, audio, fps)


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
        if self.clip.audio:
            pc.addTransceiver(PacketTrack("audio", self.clip.audio, 0.02, AUDIO_TB), direction="sendonly")
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
