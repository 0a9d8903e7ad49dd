"""How many concurrent live sessions one server sustains on this machine, with full analysis.

Real aiortc clients (tests/live/rtc_client.py) send a shared clip as camera video (VP8 640x480, 15 fps, encoded
once at the server's ceiling ``live_video_max_kbps`` and sent by every client, as a browser sends its encoder's
output) and microphone audio (Opus), to the live server (its own process with its analysis worker processes,
default one per core), all inside a loopback-only network namespace (needs root). For each number of sessions
it prints:

- analysed frames per second per session (min / median), frames skipped,
- the 95th percentile delay from a frame's arrival to its analysis result, and to its events being stored,
- CPU of the server (process + workers, in cores and per session), of the clients, and memory (PSS) per session.

A level is *sustained* when every session gets 5 analysed frames per second (>= 4.85 over the measured window:
3% for the window's edges) and both p95 delays are under 1 s. Every student is enrolled (``--enrol``), so the
engine's identity checks run every few seconds as in a real exam.

    .venv/bin/python benchmarks/bench_live.py [--sessions 8,12,16,18] [--seconds 40] [--workers N] [--clip ...]
    .venv/bin/python benchmarks/bench_live.py --recording-cost
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.live_stats import session_stats  # noqa: E402

DATA = Path(os.environ.get("PROCTOR_DATA", ROOT.parent / "shared" / "data"))
TICK = os.sysconf("SC_CLK_TCK")


# ---- /proc figures ---------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += _children(p)
    return tree


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:
            pass
    return total / TICK


def pss_mb(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


# ---- the server process ----------------------------------------------------------------------------------
def serve(data_dir: str, port: int, workers: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    from server.api import errors
    from server.db.engine import make_engine, make_sessionmaker
    from server.live.app import install_live
    from server.settings import ServerSettings
    from server.storage import build_stores

    settings = ServerSettings(data_dir=Path(data_dir), live_ice_loopback=True, live_workers=workers,
                              log_level="WARNING", webhooks_enabled=False)
    factory = make_sessionmaker(make_engine(settings.resolved_database_url()))
    app = FastAPI()
    app.state.settings, app.state.session_factory = settings, factory
    app.state.stores = build_stores(settings, factory)
    errors.install(app)
    install_live(app, settings, app.state.stores)
    uvicorn.run(app, host="127.0.0.1", port=port, loop="asyncio", log_level="warning", lifespan="on")


# ---- one level ---------------------------------------------------------------------------------------------
async def run_level(n: int, clip, args) -> dict:
    import httpx

    from tests.live.rtc_client import LiveClient
    from tests.live.world import make_world

    tmp = Path(tempfile.mkdtemp(prefix=f"bench-live-{n}-"))
    world = make_world(tmp, n_sessions=n)
    names = list(world.sessions)[:n]
    if args.enrol:  # every student enrolled, so the periodic identity checks run as in a real exam
        from server.live.enrolment import save_enrolment

        for name in names:
            row = save_enrolment(world.session_factory, world.students[name], args.enrolment, [], None)
            world.stores.sessions.set_enrolment(world.sessions[name], row)  # the session's own enrolment
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(tmp), str(port), str(args.workers)],
                              stdout=subprocess.DEVNULL, stderr=open(tmp / "server.log", "w"))
    base = f"http://127.0.0.1:{port}"
    clients: list[LiveClient] = []
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                try:
                    if (await http.get(f"{base}/api/live/config")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        for name in names:
            c = LiveClient(base, world.tokens[name], world.sessions[name], clip)
            await c.connect(timeout=60)
            clients.append(c)
        await asyncio.sleep(args.warmup)
        pids = process_tree(server.pid)
        t0, cpu0, me0, main0 = time.monotonic(), cpu_seconds(pids), self_cpu(), cpu_seconds([server.pid])
        before = [await c.stats() for c in clients]
        await asyncio.sleep(args.seconds)
        t1 = time.monotonic()
        pids = process_tree(server.pid)
        cpu1, me1, mem, main1 = cpu_seconds(pids), self_cpu(), pss_mb(pids), cpu_seconds([server.pid])
        after = await session_stats(base, clients, t0)
    finally:
        for c in clients:
            await c.drop()
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    dt = t1 - t0
    c = lambda st, key: st.get("counters", {}).get(key, 0)  # noqa: E731
    # each session's rate over its own counters' times (the snapshots of 16 sessions are taken one after another,
    # a second or more apart on a busy server: the bench's own window would under-count the last ones)
    fps = [(c(a, "analysed") - c(b, "analysed")) / max(1e-6, (a.get("counters_at") or t1) - (b.get("counters_at") or t0))
           for a, b in zip(after, before)]
    recv = [(a["video_frames_in"] - b["video_frames_in"]) / dt for a, b in zip(after, before)]
    behind = sum(c(a, "skipped_behind") - c(b, "skipped_behind") for a, b in zip(after, before))
    frame_lat = sorted(v for a in after for v in a["frame_latency_samples"])
    event_lat = sorted(v for a in after for v in a["event_latency_samples"])
    p95 = lambda xs: xs[min(len(xs) - 1, int(0.95 * (len(xs) - 1) + 0.5))] if xs else None  # noqa: E731
    server_cores = (cpu1 - cpu0) / dt
    out = {
        "sessions": n, "seconds": round(dt, 1), "workers": args.workers or (os.cpu_count() or 1),
        "fps_min": round(min(fps), 2), "fps_median": round(statistics.median(fps), 2),
        "fps_each": [round(x, 2) for x in fps], "skipped_behind_each": [c(a, "skipped_behind") - c(b, "skipped_behind") for a, b in zip(after, before)],
        "received_fps_median": round(statistics.median(recv), 2), "skipped_behind": behind,
        "frame_p95_s": p95(frame_lat), "event_p95_s": p95(event_lat), "events_timed": len(event_lat),
        "server_cpu_cores": round(server_cores, 2), "event_loop_process_cpu_cores": round((main1 - main0) / dt, 2), "server_cpu_per_session": round(server_cores / n, 3),
        "client_cpu_cores": round((me1 - me0) / dt, 2), "server_pss_mb": round(mem), "pss_per_session_mb": round(mem / n, 1),
    }
    d = lambda key: sum(c(a, key) - c(b, key) for a, b in zip(after, before))  # noqa: E731
    analysed = max(1, d("analysed"))
    out.update({"identity_checks_per_session_min": round(d("engine_identity_checks") / n / (dt / 60), 1),
                "analyse_wall_ms_per_frame": round(d("analyse_wall_ms") / analysed, 1),
                "analyse_cpu_ms_per_frame": round(d("analyse_cpu_ms") / analysed, 1),
                "decode_cpu_ms_per_frame": round(d("decode_cpu_ms") / max(1, d("decoded")), 2),
                "decode_cpu_ms_per_s": round(d("decode_cpu_ms") / dt / n, 1),
                "decoded_fps": round(d("decoded") / dt / n, 1),
                "audio_cpu_ms_per_s": round(d("audio_cpu_ms") / dt / n, 1)})
    out["sustained"] = bool(out["fps_min"] >= 5.0 * 0.97 and (out["frame_p95_s"] or 9) < 1.0
                            and (out["event_p95_s"] is None or out["event_p95_s"] < 1.0))
    return out


async def main(args) -> None:
    from server.live.ice import allow_loopback_candidates
    from tests.live.rtc_client import encode_clip

    allow_loopback_candidates()  # the clients' side of the loopback namespace

    from server.settings import ServerSettings

    # encoded at the server's ceiling, as a browser that took the b=AS line of the server's answer sends it
    kbps = ServerSettings().live_video_max_kbps
    clip = encode_clip(DATA / args.clip, DATA / args.audio if args.audio else None, seconds=10.0, bitrate=kbps * 1000)
    if args.enrol:
        from proctor.identity import enrol

        if args.enrol == "clip":  # as the product does: the student's enrolment photo taken from the live camera
            from proctor.media import iter_video_frames

            photo = next(f.rgb for f in iter_video_frames(DATA / args.clip, fps=1.0) if f.t >= 1.0)
        else:
            photo = DATA / args.enrol
        args.enrolment = enrol([photo]).to_dict()
    rows = []
    for n in [int(x) for x in args.sessions.split(",")]:
        row = await run_level(n, clip, args)
        rows.append(row)
        print(json.dumps(row), flush=True)
        if not row["sustained"] and args.stop_at_first_failure:
            break
    best = max((r["sessions"] for r in rows if r["sustained"]), default=0)
    print()
    print(f"{'sessions':>8} {'fps min/med':>12} {'p95 frame':>10} {'p95 event':>10} {'server CPU':>11} "
          f"{'CPU/session':>12} {'PSS/session':>12} {'client CPU':>11}  sustained")
    for r in rows:
        ev = "-" if r["event_p95_s"] is None else f"{r['event_p95_s']:.3f}s"
        print(f"{r['sessions']:>8} {r['fps_min']:>5.2f}/{r['fps_median']:<6.2f} {r['frame_p95_s'] or 0:>9.3f}s {ev:>10} "
              f"{r['server_cpu_cores']:>8.2f} c. {r['server_cpu_per_session']:>9.3f} c. {r['pss_per_session_mb']:>9.1f} MB "
              f"{r['client_cpu_cores']:>8.2f} c.  {'yes' if r['sustained'] else 'NO'}")
    print(f"\nsustained with full analysis (>= 5 analysed fps per session, p95 < 1 s): {best} sessions "
          f"on {os.cpu_count()} cores (target: 20)")


# ---- what storing a recording costs ----------------------------------------------------------------------
def recording_cost(args) -> None:
    """CPU per second of recorded 640x480 15 fps video (+ Opus audio) for three designs, on one core."""
    import hashlib
    from fractions import Fraction

    import av

    from server.recording import SegmentRecorder
    from tests.live.rtc_client import encode_clip

    clip = encode_clip(DATA / args.clip, DATA / args.audio if args.audio else None, seconds=10.0)
    seconds = len(clip.video) / clip.fps
    reps = 3

    # (a) this server: remux the packets as received into WebM segments, sha256, no decode/encode
    def remux() -> float:
        stored = []
        rec = SegmentRecorder(stored.append, lambda: None, segment_s=10.0)
        c0 = time.process_time()
        a = 0
        for i, (data, _key) in enumerate(clip.video):
            t = i / clip.fps
            rec.video(data, t)
            while a < len(clip.audio) and a * 0.02 <= t:
                rec.audio(clip.audio[a], a * 0.02)
                a += 1
        rec.close()
        return time.process_time() - c0

    # (b) server-side transcoding: decode what arrives and encode it again (VP8 realtime / H.264 ultrafast)
    def transcode(codec: str) -> float:
        dec = av.CodecContext.create("libvpx", "r")
        enc = av.CodecContext.create(codec, "w")
        enc.width, enc.height, enc.pix_fmt, enc.time_base = 640, 480, "yuv420p", Fraction(1, 15)
        enc.bit_rate = 700_000
        enc.options = {"deadline": "realtime", "cpu-used": "8"} if codec == "libvpx" else {"preset": "ultrafast"}
        c0 = time.process_time()
        n = 0
        for data, _key in clip.video:
            for frame in dec.decode(av.Packet(data)):
                frame.pts = n
                n += 1
                for p in enc.encode(frame):
                    hashlib.sha256(bytes(p))
        for p in enc.encode(None):
            pass
        return time.process_time() - c0

    def decode_only() -> float:
        dec = av.CodecContext.create("libvpx", "r")
        c0 = time.process_time()
        for data, _key in clip.video:
            dec.decode(av.Packet(data))
        return time.process_time() - c0

    # (c) browser-side recording (MediaRecorder) uploaded in chunks: the server only hashes and writes
    def upload_only() -> float:
        blob = b"".join(d for d, _ in clip.video) + b"".join(clip.audio)
        c0 = time.process_time()
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "seg.webm").write_bytes(blob)
            hashlib.sha256(blob).hexdigest()
        return time.process_time() - c0

    rows = [
        ("server remux of received packets (this design)", min(remux() for _ in range(reps))),
        ("server transcode, VP8 realtime (decode + encode)", min(transcode("libvpx") for _ in range(reps))),
        ("server transcode, H.264 ultrafast (decode + encode)", min(transcode("libx264") for _ in range(reps))),
        ("  of which the decode alone (the analysis decodes anyway)", min(decode_only() for _ in range(reps))),
        ("browser MediaRecorder upload: server hash + write only", min(upload_only() for _ in range(reps))),
    ]
    kbps = 8 * sum(len(d) for d, _ in clip.video) / seconds / 1000
    print(f"recording cost per second of 640x480 {clip.fps:.0f} fps video ({kbps:.0f} kbit/s VP8) + Opus, one core:")
    for name, cpu in rows:
        per_s = cpu / seconds * 1000
        print(f"  {name:<58} {per_s:7.2f} ms CPU/s  ({per_s / 10:5.2f}% of a core; x16 sessions: {per_s * 16 / 1000:.2f} cores)")
    print("  (a browser-side recording costs the student's machine a second VP8 encoder, about the transcode's\n"
          "   encode share above, and the upload bandwidth again; a closed tab loses the chunk not yet sent)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        sys.exit(0)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", default="8,12,16,18", help="comma-separated levels")
    ap.add_argument("--seconds", type=float, default=40.0, help="measured seconds per level")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds after the last client connected")
    ap.add_argument("--workers", type=int, default=0, help="analysis processes (0: the server's default, one per core)")
    ap.add_argument("--clip", default="video/webcam_glasses_man_640x480.mjpeg",
                    help="the camera clip every client sends (two_people_dinner_640x480.mjpeg with --enrol "
                         "faces/tvshow_eddie/01.jpg: two faces in every frame)")
    ap.add_argument("--audio", default="audio/speech_conversation_2speakers.wav")
    ap.add_argument("--enrol", default="clip",
                    help="enrolment photo of every student (identity checks run through the session): 'clip' (the "
                         "default) takes it from the clip at 1 s, as the student page takes it from the camera; a "
                         "path under the data folder; '' for none")
    ap.add_argument("--stop-at-first-failure", action="store_true")
    ap.add_argument("--recording-cost", action="store_true", help="measure what storing a recording costs, then stop")
    a = ap.parse_args()
    if a.recording_cost:
        recording_cost(a)
        sys.exit(0)
    from tests.live.netns import enter_loopback_netns

    enter_loopback_netns()
    asyncio.run(main(a))
