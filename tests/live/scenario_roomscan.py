"""Run inside a loopback-only network namespace: the live server (real analysis workers) and a real aiortc client
that streams room-scan clips during the room-scan phase; then a rule's and a proctor's re-scan requests.
Writes what it saw to a JSON file; tests/live/test_live_roomscan.py checks it and the stored chain.

    python tests/live/scenario_roomscan.py OUT_DIR FULL_CLIP PARTIAL_CLIP
"""

from __future__ import annotations

import asyncio
import fractions
import json
import sys
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.live.netns import enter_loopback_netns  # noqa: E402

FPS = 15.0
LEAD_S = 2.0  # the clip's first frame is held this long (the scan starts during it)
TAIL_S = 60.0  # then its last frame (the scan ends during it)


def encode_held(video: Path) -> tuple[object, float]:
    """The clip at 15 fps with its first frame held LEAD_S before and its last frame held after: the client
    loops its packets, so the scan must fall inside one pass. Returns (EncodedClip, the clip's seconds)."""
    from proctor.media import iter_video_frames
    from tests.live.rtc_client import EncodedClip

    frames = [vf.rgb for vf in iter_video_frames(video, fps=FPS)]
    seq = [frames[0]] * int(LEAD_S * FPS) + frames + [frames[-1]] * int(TAIL_S * FPS)
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = 640, 480, "yuv420p"
    enc.time_base = fractions.Fraction(1, int(FPS))
    enc.bit_rate = 900_000
    enc.gop_size = int(FPS * 2)
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out = []
    for n, rgb in enumerate(seq):
        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuv420p")
        f.pts = n
        out += [(bytes(p), bool(p.is_keyframe)) for p in enc.encode(f)]
    out += [(bytes(p), bool(p.is_keyframe)) for p in enc.encode(None)]
    return EncodedClip(out, [], FPS), len(frames) / FPS


async def scan(base: str, world, video: Path) -> dict:
    from tests.live.rtc_client import LiveClient

    clip, seconds = encode_held(video)
    client = LiveClient(base, world.tokens["alice"], world.sessions["alice"], clip)
    await client.connect()
    started = time.monotonic()
    await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "proctoring")
    client.send({"type": "step", "step": "room_scan"})
    request = await client.wait_for(lambda m: m.get("type") == "room_scan_request")
    await asyncio.sleep(max(0.0, started + LEAD_S * 0.6 - time.monotonic()))
    client.send({"type": "room_scan", "phase": "start"})
    await asyncio.sleep(max(0.0, started + LEAD_S + seconds + 1.0 - time.monotonic()))
    client.send({"type": "room_scan", "phase": "end"})
    recorded = await client.wait_for(lambda m: m.get("type") == "room_scan_recorded", timeout=40)
    progress = [m for m in client.messages if m.get("type") == "room_scan_progress"]
    await client.drop()
    return {"request": request, "recorded": recorded, "progress": progress}


async def main(out_dir: Path, full: Path, partial: Path) -> None:
    from tests.live.rtc_client import LiveClient
    from tests.live.serving import Served
    from tests.live.world import live_app, make_world

    world = make_world(out_dir, live_ice_loopback=True, live_media_timeout_s=3.0, live_grace_s=60.0,
                       live_segment_s=5.0, live_workers=1, live_rescan_min_interval_s=300.0)
    app = live_app(world)
    server = await Served(app).start()
    base = server.base
    sid = world.sessions["alice"]
    result: dict = {"session_id": sid}
    try:
        result["partial"] = await scan(base, world, partial)
        await asyncio.sleep(1.0)
        result["full"] = await scan(base, world, full)
        await asyncio.sleep(1.0)

        # during the exam: a multiple_faces event makes the hub ask for a re-scan, at most once per interval;
        # a proctor can ask at any time
        clip, _ = encode_held(partial)
        client = LiveClient(base, world.tokens["alice"], sid, clip)
        await client.connect()
        await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "proctoring")
        client.send({"type": "exam_state", "state": "started"})
        from server.live.messages import StoredEvent

        hub = app.state.live_hub
        t = hub.session_time(sid)
        fake = {"id": "multiple_faces-test", "kind": "multiple_faces", "start": t, "end": None, "status": "open",
                "source": "video", "confidence": 1.0, "severity": "high", "evidence": {"faces": 2}}
        for n in range(2):
            hub.store_events(sid, [StoredEvent({**fake, "id": f"multiple_faces-test{n}"}, {})])
            await asyncio.sleep(1.0)
        result["rule_requests"] = [m for m in client.messages if m.get("type") == "room_scan_request"]
        result["proctor_delivered"] = hub.request_room_scan(sid, "proctor:user:1")
        await asyncio.sleep(1.0)
        result["all_requests"] = [m for m in client.messages if m.get("type") == "room_scan_request"]
        from tests.live.world import submit_attempt

        await asyncio.to_thread(submit_attempt, world, "alice")  # the server's path to the end, not the page's
        client.send({"type": "exam_state", "state": "submitted"})  # the page's request, now that it is true
        await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "finished", timeout=40)
        await client.drop()
    finally:
        await server.stop()
        (out_dir / "result.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    enter_loopback_netns()
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
