"""Run inside a loopback-only network namespace: the live server (real analysis workers) and two real aiortc
clients. Alice's camera clip is encoded as a very poor uplink sends it (160x120, 60 kbit/s); bob's as a good one
(640x480 at the usual rate). Alice's page also reports its uplink (``stream_poor`` start/end, ``uplink_changed``),
as web_client/student/app.js does. Both attempts are then submitted (the server's path to the end). Writes what
it saw to a JSON file; tests/live/test_live_stream_quality.py checks it and the stored chains.

    python tests/live/scenario_stream.py OUT_DIR VIDEO AUDIO
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.live.netns import enter_loopback_netns  # noqa: E402

STREAM_S = 22.0  # four heartbeats of 5 s after the first: a poor stretch of at least live_stream_poor_s (8 s)
POOR = {"size": (160, 120), "bitrate": 60_000}


async def main(out_dir: Path, video: Path, audio: Path) -> None:
    from tests.live.rtc_client import LiveClient, encode_clip
    from tests.live.serving import Served
    from tests.live.world import live_app, make_world, submit_attempt

    world = make_world(out_dir, live_ice_loopback=True, live_workers=1)
    app = live_app(world)
    result: dict = {"sessions": dict(world.sessions), "poor": POOR}
    server = await Served(app).start()
    clients: dict[str, LiveClient] = {}
    try:
        clips = {"alice": encode_clip(video, audio, seconds=10.0, bitrate=POOR["bitrate"], size=POOR["size"]),
                 "bob": encode_clip(video, audio, seconds=10.0)}
        for name, clip in clips.items():
            result[f"{name}_clip_kbps"] = round(sum(len(d) for d, _ in clip.video) * 8 / 1000 / (len(clip.video) / clip.fps), 1)
            clients[name] = LiveClient(server.base, world.tokens[name], world.sessions[name], clip)
            await clients[name].connect()
            await clients[name].wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "proctoring")
            clients[name].send({"type": "exam_state", "state": "started"})
        alice = clients["alice"]
        # the page's claim, as app.js sends it (the server records it as the page's, next to its own measurement)
        alice.send({"type": "browser_signal", "kind": "uplink_changed", "phase": "instant",
                    "details": {"rung": "half_size_10fps", "level": 3, "kbps": 90}})
        alice.send({"type": "browser_signal", "kind": "stream_poor", "phase": "start",
                    "details": {"rung": "half_size_10fps", "level": 3, "kbps": 60}})
        await asyncio.sleep(STREAM_S / 2)
        result["alice_stats"] = await alice.stats()
        result["bob_stats"] = await clients["bob"].stats()
        await asyncio.sleep(STREAM_S / 2)
        alice.send({"type": "browser_signal", "kind": "stream_poor", "phase": "end",
                    "details": {"rung": "half_size_10fps", "level": 3, "kbps": 400}})
        await asyncio.sleep(1.0)
        for name, client in clients.items():
            result[f"{name}_attempt"] = await asyncio.to_thread(submit_attempt, world, name)
            await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "finished", timeout=40)
        await asyncio.sleep(1.0)
    finally:
        for c in clients.values():
            await c.drop()
        await server.stop()
        (out_dir / "result.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    enter_loopback_netns()
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
