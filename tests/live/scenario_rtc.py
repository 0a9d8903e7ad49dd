"""Run inside a loopback-only network namespace: the live server (uvicorn, real analysis workers) and real aiortc
clients. Writes what it saw to a JSON file; tests/live/test_live_rtc.py checks it and the stored data.

    python tests/live/scenario_rtc.py OUT_DIR VIDEO AUDIO
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.live.netns import enter_loopback_netns  # noqa: E402


async def bad_inputs(base: str, world, clip) -> dict[str, int]:
    import httpx
    from aiortc import RTCConfiguration, RTCPeerConnection

    from tests.live.rtc_client import PacketTrack, VIDEO_TB, AUDIO_TB

    alice = {"Authorization": f"Bearer {world.tokens['alice']}"}
    sid = world.sessions["alice"]
    # an audio-only offer (a real one, from aiortc)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(PacketTrack("audio", clip.audio, 0.02, AUDIO_TB), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    audio_only = pc.localDescription.sdp
    await pc.close()
    out = {}
    async with httpx.AsyncClient(base_url=base, timeout=20) as http:
        url = f"/api/live/sessions/{sid}/offer"
        out["malformed_sdp"] = (await http.post(url, headers=alice, json={"sdp": "v=0\r\nthis is not sdp", "type": "offer"})).status_code
        garbled = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:x\r\n"
        out["garbled_sdp"] = (await http.post(url, headers=alice, json={"sdp": garbled, "type": "offer"})).status_code
        out["not_sdp"] = (await http.post(url, headers=alice, json={"sdp": "hello", "type": "offer"})).status_code
        out["answer_type"] = (await http.post(url, headers=alice, json={"sdp": audio_only, "type": "answer"})).status_code
        out["no_video"] = (await http.post(url, headers=alice, json={"sdp": audio_only, "type": "offer"})).status_code
        out["not_json"] = (await http.post(url, headers=alice, content=b"{not json")).status_code
        out["oversized"] = (await http.post(url, headers=alice, content=b"x" * 200_000)).status_code
        out["unknown_session"] = (await http.post("/api/live/sessions/nope/offer", headers=alice,
                                                  json={"sdp": audio_only, "type": "offer"})).status_code
        out["not_yours"] = (await http.post(f"/api/live/sessions/{world.sessions['bob']}/offer", headers=alice,
                                            json={"sdp": audio_only, "type": "offer"})).status_code
        out["no_auth"] = (await http.post(url, json={"sdp": audio_only, "type": "offer"})).status_code
    return out


async def enrolment_cases(base: str, world, data: Path) -> dict:
    """The enrolment endpoint: each answer's status, and the error details where it failed."""
    import httpx

    sid = world.sessions["alice"]
    alice = {"Authorization": f"Bearer {world.tokens['alice']}"}
    bob = {"Authorization": f"Bearer {world.tokens['bob']}"}
    url = f"/api/live/sessions/{sid}/enrolment"

    def photo(path: Path) -> dict:
        return {"photos": (path.name, path.read_bytes(), "image/jpeg")}

    out = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for name, headers, files in [
            ("not_an_image", alice, {"photos": ("x.jpg", b"not a picture", "image/jpeg")}),
            ("two_faces", alice, photo(data / "groups/obama_biden_side_by_side.jpg")),
            ("not_yours", bob, photo(data / "faces/tvshow_eddie/01.jpg")),
            ("good", alice, photo(data / "faces/tvshow_eddie/01.jpg")),
        ]:
            r = await http.post(url, headers=headers, files=files)
            out[name] = {"status": r.status_code, **(r.json().get("error", {}).get("details") or {})}
        out["status_after"] = (await http.get(url, headers=alice)).json()
    return out


async def main(out_dir: Path, video: Path, audio: Path) -> None:
    import httpx

    from tests.live.rtc_client import LiveClient, encode_clip
    from tests.live.serving import Served
    from tests.live.world import live_app, make_world, set_attempt_state, submit_attempt

    world = make_world(out_dir, live_ice_loopback=True, live_media_timeout_s=1.5, live_grace_s=30.0,
                       live_segment_s=3.0, live_workers=1, live_max_sessions=1)
    app = live_app(world)
    server = await Served(app).start()
    base = server.base
    sid = world.sessions["alice"]
    result: dict = {"session_id": sid, "db": str(world.settings.resolved_database_url()),
                    "recordings": str(world.settings.recordings_dir)}
    try:
        clip = encode_clip(video, audio, seconds=8.0)
        result["bad_inputs"] = await bad_inputs(base, world, clip)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:  # enrolment needs the live analysis
            r = await http.post(f"/api/live/sessions/{world.sessions['bob']}/enrolment",
                                headers={"Authorization": f"Bearer {world.tokens['bob']}"},
                                files={"photos": ("a.jpg", (video.parent.parent / "faces/tvshow_eddie/01.jpg").read_bytes())})
            result["enrol_before_connect"] = r.status_code
        client = LiveClient(base, world.tokens["alice"], world.sessions["alice"], clip)
        t0 = time.monotonic()
        await client.connect()
        result["connect_s"] = time.monotonic() - t0
        sections = client.answer_sdp.split("\r\nm=")
        result["answer_bandwidth"] = {sec.split(" ", 1)[0].removeprefix("m="): [ln for ln in sec.split("\r\n") if ln.startswith("b=")]
                                      for sec in sections[1:]}
        await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "proctoring")
        set_attempt_state(world, "alice", "created")  # before the exam: the student may enrol
        result["enrolment"] = await enrolment_cases(base, world, video.parent.parent)
        try:  # this node is full (live_max_sessions=1): bob is asked to retry (elsewhere)
            await LiveClient(base, world.tokens["bob"], world.sessions["bob"], clip).connect(timeout=5)
            result["second_session"] = "connected"
        except RuntimeError as exc:
            result["second_session"] = str(exc)[:200]
        client.send({"type": "identity_check"})
        result["identity_result"] = await client.wait_for(lambda m: m.get("type") == "identity_result", timeout=60)
        set_attempt_state(world, "alice", "started")  # the exam starts: the reference is locked from now on
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            r = await http.post(f"/api/live/sessions/{sid}/enrolment",
                                headers={"Authorization": f"Bearer {world.tokens['alice']}"},
                                files={"photos": ("b.jpg", (video.parent.parent / "faces/barack_obama/01.jpg").read_bytes())})
            result["enrol_after_start"] = {"status": r.status_code, "code": r.json().get("error", {}).get("code")}
        client.send({"type": "step", "step": "room_scan"})
        scan = await client.wait_for(lambda m: m.get("type") == "room_scan_request")
        result["room_scan_request"] = scan
        client.send({"type": "room_scan", "phase": "start"})
        await asyncio.sleep(1.0)
        client.send({"type": "room_scan", "phase": "end"})
        client.send({"type": "exam_state", "state": "started"})
        client.send({"type": "browser_signal", "kind": "tab_switch", "phase": "start", "details": {"via": "visibilitychange"}})
        await asyncio.sleep(1.2)
        client.send({"type": "browser_signal", "kind": "tab_switch", "phase": "end"})
        client.send({"type": "browser_signal", "kind": "copy_paste", "phase": "instant", "details": {"action": "paste"}})
        client.send({"type": "browser_signal", "kind": "devtools", "phase": "instant", "details": {"heuristic": "size"}})
        client.channel.send("{not json")
        await client.wait_for(lambda m: m.get("type") == "error" and m.get("code") == "bad_message")
        await asyncio.sleep(5.0)
        result["stats_before_drop"] = await client.stats()
        await client.drop()
        result["dropped_at"] = time.monotonic()
        await asyncio.sleep(3.0)  # longer than the media timeout: the server notices the loss
        result["stats_during_drop"] = await client.stats()
        client.messages.clear()
        await client.connect()
        await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "proctoring")
        resumed = await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "resumed")
        result["resumed"] = resumed
        await asyncio.sleep(5.0)
        result["stats_before_crash"] = await client.stats()

        # an analysis worker dies: it is restarted and the session's analysis goes on
        hub = app.state.live_hub
        os.kill(hub.worker_pid(sid), signal.SIGKILL)
        await asyncio.sleep(10.0)
        result["stats_after_crash"] = await client.stats()

        # this node goes away; another node (same database and storage) takes the session over
        await server.stop()
        world_b = dataclasses.replace(world, settings=world.settings.model_copy(update={"live_node_id": "node-b"}))
        server = await Served(live_app(world_b)).start()
        base = server.base
        client.base_url = base
        await client.drop()
        client.messages.clear()
        t_takeover = time.monotonic()
        refusals = []
        while True:
            try:
                await client.connect()
                break
            except RuntimeError as exc:  # 409 while the first node's heartbeat is fresh
                refusals.append(str(exc)[:120])
                if time.monotonic() - t_takeover > 40:
                    raise
                await asyncio.sleep(1.0)
        result["takeover"] = {"refusals": refusals, "seconds": time.monotonic() - t_takeover}
        result["resumed_b"] = await client.wait_for(
            lambda m: m.get("type") == "exam_state" and m.get("state") == "resumed", timeout=20)
        await asyncio.sleep(6.0)
        result["stats_before_submit"] = await client.stats()
        # the page cannot end the exam: its request is refused (and recorded), the session goes on
        client.send({"type": "exam_state", "state": "submitted"})
        result["page_submit"] = await client.wait_for(
            lambda m: m.get("type") == "error" and m.get("code") == "page_request_refused", timeout=20)
        result["status_after_page_submit"] = (await client.stats()).get("status")
        # the attempt is submitted (the server's path): the hub sees it and ends the session, scored
        result["attempt_state"] = await asyncio.to_thread(submit_attempt, world, "alice")
        result["finished"] = await client.wait_for(
            lambda m: m.get("type") == "exam_state" and m.get("state") == "finished", timeout=40)
        await asyncio.sleep(1.0)
        result["messages"] = [m for m in client.messages if m.get("type") != "pong"]
        await client.drop()
        # a finished session cannot be joined again
        late = LiveClient(base, world.tokens["alice"], world.sessions["alice"], clip)
        try:
            await late.connect(timeout=5)
            result["after_finish"] = "connected"
        except RuntimeError as exc:
            result["after_finish"] = str(exc)[:200]
        await late.drop()

        # bob drops and never comes back: when the grace period (2 s on this node) ends, the session ends
        await server.stop()
        world_c = dataclasses.replace(world, settings=world.settings.model_copy(
            update={"live_node_id": "node-c", "live_grace_s": 2.0}))
        server = await Served(live_app(world_c)).start()
        bob = LiveClient(server.base, world.tokens["bob"], world.sessions["bob"], clip)
        await bob.connect()
        await asyncio.sleep(3.0)
        await bob.drop()
        await asyncio.sleep(6.0)  # media timeout 1.5 s + grace 2 s, and the analysis closing
        result["bob_session"] = world.sessions["bob"]
    finally:
        await server.stop()
        (out_dir / "result.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    enter_loopback_netns()
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
