"""Unit tests of the live plumbing that need no network: the data channel protocol, the segment recorder,
the worker's newest-frame policy, the page's texts in three languages."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from server.live import protocol
from server.live.messages import FrameAnalysed, OpenSession, VideoPacket
from server.live.worker import Worker
from server.recording import SegmentRecorder, is_vp8_keyframe

WEB = Path(__file__).resolve().parents[2] / "web_client" / "student"


# ---- protocol ------------------------------------------------------------------------------------------
def test_client_messages_parse():
    m = protocol.parse_client_message('{"type":"browser_signal","kind":"tab_switch","phase":"start","details":{"via":"blur"}}')
    assert (m.kind, m.phase, m.details) == ("tab_switch", "start", {"via": "blur"})
    assert protocol.parse_client_message(b'{"type":"room_scan","phase":"end"}').phase == "end"
    assert protocol.parse_client_message('{"type":"step","step":"room_scan"}').step == "room_scan"


@pytest.mark.parametrize("raw", [
    "{not json", '{"type":"nope"}', '{"type":"browser_signal","kind":"keylogger"}',
    '{"type":"room_scan","phase":"sideways"}', '{"type":"ping","extra":1}', b"\xff\xfe", "x" * 5000,
])
def test_bad_client_messages_are_refused(raw):
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_client_message(raw)


def test_warnings_have_page_texts_in_three_languages():
    text = (WEB / "i18n.js").read_text()
    blocks = dict(re.findall(r"const (en|ru|kk) = \{(.*?)\n\};", text, re.S))
    keys = {lang: set(re.findall(r'"([a-z_]+\.[a-z_.]+)":', body)) for lang, body in blocks.items()}
    assert set(blocks) == {"en", "ru", "kk"}
    assert keys["en"] == keys["ru"] == keys["kk"], (keys["en"] ^ keys["ru"], keys["en"] ^ keys["kk"])
    for kind in protocol.WARNING_TEXT:
        assert f"warning.{kind}" in keys["en"]
    used = set(re.findall(r'data-i18n(?:-label)?="([^"]+)"', (WEB / "index.html").read_text()))
    used |= set(re.findall(r'"((?:identity|room|exam|conn|devices|signin|consent)\.[a-z_.]+)"', (WEB / "app.js").read_text()))
    assert used <= keys["en"], used - keys["en"]


# ---- recording -----------------------------------------------------------------------------------------
def _vp8_packets(n: int, gop: int, layers: int = 1) -> list[bytes]:
    from tests.live.rtc_client import temporal_layers

    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt, enc.time_base = 320, 240, "yuv420p", Fraction(1, 15)
    enc.gop_size = gop
    enc.bit_rate = 300_000
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0", **temporal_layers(300_000, layers)}
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        f = av.VideoFrame.from_ndarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), format="rgb24")
        f = f.reformat(format="yuv420p")
        f.pts = i
        out += [bytes(p) for p in enc.encode(f)]
    return out + [bytes(p) for p in enc.encode(None)]


def test_segments_start_at_keyframes_and_carry_their_sha256():
    packets = _vp8_packets(60, gop=15)  # 4 s at 15 fps, a keyframe every second
    stored, asked = [], []
    rec = SegmentRecorder(stored.append, lambda: asked.append(1), segment_s=1.5, width=320, height=240)
    for i, data in enumerate(packets[1:]):  # the first keyframe is missing: the recorder waits for one
        rec.video(data, i / 15.0)
        rec.audio(b"\xf8\xff\xfe", i / 15.0)  # an Opus packet (TOC + silence)
    rec.close()
    assert rec.dropped_before_keyframe == 14 and asked  # it asked the sender for a keyframe
    assert [s.index for s in stored] == list(range(len(stored))) and len(stored) >= 2
    for seg in stored:
        assert seg.sha256 == hashlib.sha256(seg.data).hexdigest()
        with av.open(io.BytesIO(seg.data)) as c:
            frames = list(c.decode(video=0))
            assert len(frames) == seg.video_frames and frames[0].key_frame
            assert c.streams.audio
    assert sum(s.video_frames for s in stored) == len(packets) - 1 - 14


def test_vp8_keyframe_bit():
    packets = _vp8_packets(3, gop=30)
    assert is_vp8_keyframe(packets[0]) and not is_vp8_keyframe(packets[1]) and not is_vp8_keyframe(b"")


# ---- worker: newest frame, counted skips ---------------------------------------------------------------
class FakeQueue(list):
    def put(self, item):
        self.append(item)


class SlowAnalyzer:
    """Stands for the engine: counts what it was given."""

    scanning = False
    identity_checks = 0

    def __init__(self, settings, enrolment):
        self.times = []

    def process_frame(self, rgb, t):
        from proctor.pipeline import FrameResult
        from proctor.signals import FrameSignals

        self.times.append(t)
        return FrameResult(FrameSignals(t=t, index=len(self.times), width=rgb.shape[1], height=rgb.shape[0]), [])

    def close(self):
        pass


def test_worker_analyses_the_newest_due_frame_and_counts_the_rest(monkeypatch):
    import server.live.worker as w

    monkeypatch.setattr(w, "load_factory", lambda path: SlowAnalyzer)
    packets = _vp8_packets(30, gop=30)
    out = FakeQueue()
    worker = Worker(None, out)
    worker.handle(OpenSession("s1", {"analysis_fps": 5.0}, None, "x:y"))
    # 2 s of video at 15 fps arrive while the worker is busy: all decoded, one analysed at the end
    for i, data in enumerate(packets):
        worker.handle(VideoPacket("s1", "video/VP8", data, i * 6000, i / 15.0, time.monotonic()))
    worker.analyse_one()
    s = worker.sessions["s1"]
    c = s.counters
    assert c["decoded"] == 30 and c["analysed"] == 1
    assert s.analyzer.times == [29 / 15.0]  # the newest frame, not the oldest
    assert c["analysed"] + c["skipped_rate"] + c["skipped_behind"] == c["decoded"]
    assert c["skipped_behind"] >= 8  # ~10 due frames at 5 fps, only the newest analysed
    frame_msgs = [m for m in out if isinstance(m, FrameAnalysed)]
    assert frame_msgs and frame_msgs[0].counters["analysed"] == 1


def test_an_overloaded_worker_shares_its_time_fairly_between_old_and_new_sessions(monkeypatch):
    """Sessions have their own media clocks (an older session's frames carry later times): the worker serves the
    one that has waited longest on the machine's clock, so both get the same share when it cannot keep up."""
    import server.live.worker as w

    monkeypatch.setattr(w, "load_factory", lambda path: SlowAnalyzer)
    packets = _vp8_packets(90, gop=90)
    worker = Worker(None, FakeQueue())
    for sid in ("old", "new"):
        worker.handle(OpenSession(sid, {"analysis_fps": 5.0}, None, "x:y"))
    start = time.monotonic()
    for i, data in enumerate(packets):  # 6 s at 15 fps each; time for only one analysis per two frame times
        arrival = start + i / 15.0
        worker.handle(VideoPacket("old", "video/VP8", data, i * 6000, 600.0 + i / 15.0, arrival))
        worker.handle(VideoPacket("new", "video/VP8", data, i * 6000, i / 15.0, arrival))
        if i % 2:
            worker.analyse_one()
    old, new = (worker.sessions[sid].counters["analysed"] for sid in ("old", "new"))
    assert old + new == 45 and abs(old - new) <= 1, (old, new)


def test_worker_keeps_up_at_the_analysis_rate(monkeypatch):
    import server.live.worker as w

    monkeypatch.setattr(w, "load_factory", lambda path: SlowAnalyzer)
    packets = _vp8_packets(45, gop=45)
    worker = Worker(None, FakeQueue())
    worker.handle(OpenSession("s1", {"analysis_fps": 5.0}, None, "x:y"))
    for i, data in enumerate(packets):  # one frame at a time, analysed as soon as due
        worker.handle(VideoPacket("s1", "video/VP8", data, i * 6000, i / 15.0, time.monotonic()))
        worker.analyse_one()
    c = worker.sessions["s1"].counters
    assert c["analysed"] == 15 and c["skipped_behind"] == 0  # 3 s at 5 fps
    assert json.dumps(c)


# ---- SDP ------------------------------------------------------------------------------------------------------
ANSWER = "\r\n".join([
    "v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=mid:0",
    "m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "b=AS:2000", "a=mid:1",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0", "a=mid:2", ""])


def test_the_video_bitrate_cap_goes_in_the_video_section_only():
    from server.live.sdp import cap_video_bitrate

    capped = cap_video_bitrate(ANSWER, 500)
    lines = capped.split("\r\n")
    video = lines[lines.index("m=video 9 UDP/TLS/RTP/SAVPF 96"):lines.index("m=application 9 UDP/DTLS/SCTP webrtc-datachannel")]
    assert video == ["m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "b=AS:500", "a=mid:1"]  # replaced, after c=
    assert capped.count("b=AS:") == 1 and capped.endswith("\r\n")
    assert cap_video_bitrate(ANSWER, 0) == ANSWER
    assert cap_video_bitrate(ANSWER.replace("\r\n", "\n"), 300).count("b=AS:300") == 1


def test_the_audio_packet_length_goes_in_the_audio_section_only():
    from server.live.sdp import cap_video_bitrate, ptime_from_sdp, set_audio_ptime

    asked = set_audio_ptime(ANSWER.replace("a=mid:0", "a=ptime:20\r\na=mid:0"), 60)
    lines = asked.split("\r\n")
    audio = lines[lines.index("m=audio 9 UDP/TLS/RTP/SAVPF 111"):lines.index("m=video 9 UDP/TLS/RTP/SAVPF 96")]
    assert audio == ["m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=ptime:60", "a=mid:0"]  # replaced
    assert asked.count("a=ptime:") == 1 and ptime_from_sdp(asked) == 60
    assert set_audio_ptime(ANSWER, 0) == ANSWER and ptime_from_sdp(ANSWER) is None
    both = set_audio_ptime(cap_video_bitrate(ANSWER, 500), 60)
    assert ptime_from_sdp(both) == 60 and both.count("b=AS:500") == 1


# ---- the API document ------------------------------------------------------------------------------------------
def test_every_json_route_of_the_live_and_review_api_documents_its_answer(tmp_path):
    from server.app import create_app
    from server.settings import ServerSettings

    app = create_app(ServerSettings(data_dir=tmp_path, seed_demo=False, webhooks_enabled=False, auto_migrate=False))
    doc = app.openapi()
    not_json = {"/api/review/sessions/{session_id}/stream", "/api/review/sessions/{session_id}/recording.webm",
                "/api/review/sessions/{session_id}/frame.jpg", "/api/review/sessions/{session_id}/evidence/{name}",
                "/api/review/sessions/{session_id}/enrolment/{sha256}.jpg",
                "/api/review/sessions/{session_id}/reference/{sha256}.jpg",
                "/api/review/sessions/{session_id}/export.html"}
    checked = 0
    for path, ops in doc["paths"].items():
        if not path.startswith(("/api/live/", "/api/review/")) or path in not_json:
            continue
        for method, op in ops.items():
            schema = op["responses"]["200"]["content"]["application/json"]["schema"]
            assert schema.get("$ref") or schema.get("properties") or schema.get("items"), (method, path, schema)
            checked += 1
    assert checked >= 12


class ScanningAnalyzer(SlowAnalyzer):
    """A session whose room scan runs from the start (every frame is wanted)."""

    scanning = True

    def scan_frame(self, rgb, t):
        self.times.append(t)


@pytest.mark.parametrize("scanning", [False, True])
def test_worker_skips_decoding_the_frames_nothing_refers_to_unless_a_room_scan_runs(monkeypatch, scanning):
    """Three temporal layers (the page's L1T3): the top layer's frames update no reference, so the worker does not
    decode them for the 5 analysed frames a second (7.5 of 15 decoded are enough), and decodes every one while the
    room scan follows the camera's turn."""
    import server.live.worker as w

    monkeypatch.setattr(w, "load_factory", lambda path: ScanningAnalyzer if scanning else SlowAnalyzer)
    packets = _vp8_packets(60, gop=60, layers=3)
    worker = Worker(None, FakeQueue())
    worker.handle(OpenSession("s1", {"analysis_fps": 5.0}, None, "x:y"))
    for i, data in enumerate(packets):
        worker.handle(VideoPacket("s1", "video/VP8", data, i * 6000, i / 15.0, time.monotonic()))
        worker.analyse_one()
    c = worker.sessions["s1"].counters
    if scanning:
        assert (c["decoded"], c["skipped_unreferenced"]) == (60, 0)
    else:
        assert c["decoded"] + c["skipped_unreferenced"] == 60 and 25 <= c["skipped_unreferenced"] <= 30, c
        assert c["analysed"] == 20 and c["skipped_behind"] == 0  # 4 s at 5 fps from the referenced frames alone


def test_workers_are_pinned_one_per_core_and_only_then():
    from server.live.analysis import worker_cores

    assert worker_cores(2, True, [0, 1]) == [0, 1]
    assert worker_cores(2, True, [2, 5]) == [2, 5]  # the cores this process may use, not 0..n
    assert worker_cores(1, True, [0, 1]) == [None]  # two one-worker nodes on one machine: both would sit on core 0
    assert worker_cores(3, True, [0, 1]) == [None] * 3
    assert worker_cores(2, False, [0, 1]) == [None, None]
    assert worker_cores(1, True, [0, 1], given=[1]) == [1]  # live_worker_cores: the second node of scripts/cluster
    assert worker_cores(3, False, [0, 1], given=[0, 1]) == [0, 1, 0]
