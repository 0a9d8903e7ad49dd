"""Live sessions across several nodes: real aiortc clients through HAProxy to the cluster of ``scripts/cluster``
(``server.cluster.stack.Cluster``: PostgreSQL, SeaweedFS, HAProxy, N ``proctor serve`` nodes), all on this machine
inside a loopback-only network namespace (needs root), bounded in sessions and time.

Each client sends the one-face webcam clip (VP8 640x480 15 fps at the answer's ceiling, + Opus), as
``bench_live.py`` does; its offer goes through the proxy, whose hash on the session id picks the node. At each
level (a number of sessions, rising) it prints:

- the sessions each node holds (the node that answered each offer),
- the p95 delay from an event's arrival to its being stored: the analysis' events (each node's own samples,
  ``/stats``) and an event every page raises every 6 s (a ``copy_paste`` signal, timed until the node's warning
  that comes once it is stored, less the 5 s the node holds a browser signal to gather a burst of them),
- analysed frames per second per session (min / median),
- failures: offers refused or connections that did not open, sessions under 5 analysed fps,
- CPU (cores) of the nodes (each with its analysis workers) and of the shared services (PostgreSQL, SeaweedFS,
  HAProxy), and PSS per session.

A level holds when every session connected, gets >= 4.85 analysed fps, and the event p95 is under 1 s. It stops
at the first level that does not hold (``--keep-going`` runs them all). The last line says how the cost
grows with nodes: the fixed cost of one idle node (measured before the first level) and the cost per session.

    .venv/bin/python benchmarks/bench_cluster.py [--nodes 2] [--sessions 8,12,16,20,24] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_live import cpu_seconds, process_tree, pss_mb  # noqa: E402
from benchmarks.live_stats import session_stats  # noqa: E402
from server.settings import ServerSettings  # noqa: E402

DATA = Path(os.environ.get("PROCTOR_DATA", ROOT.parent / "shared" / "data"))


def p95(xs: list[float]) -> float | None:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.95 * (len(xs) - 1) + 0.5))] if xs else None


def shared_pids(cluster) -> list[int]:
    """PostgreSQL (its postmaster's tree), SeaweedFS, HAProxy."""
    pids: list[int] = []
    pid_file = cluster.pg.data_dir / "postmaster.pid"
    if pid_file.is_file():
        pids += process_tree(int(pid_file.read_text().split()[0]))
    for proc in (cluster.s3.proc if cluster.s3 else None, cluster.proxy.proc if cluster.proxy else None):
        if proc is not None and proc.alive():
            pids += process_tree(proc.pid)
    return pids


def node_pids(cluster) -> dict[str, list[int]]:
    return {n.name: process_tree(n.proc.pid) for n in cluster.nodes if n.proc and n.proc.alive()}


async def run_level(cluster, world, names: list[str], clip, args) -> dict:
    import httpx

    from tests.live.rtc_client import LiveClient

    base = cluster.proxy.url
    clients: list[LiveClient] = []
    failures: list[str] = []
    node_of: dict[str, str] = {}

    async def join(name: str) -> None:
        c = LiveClient(base, world.tokens[name], world.sessions[name], clip)
        try:
            await c.connect(timeout=60)
            clients.append(c)
        except Exception as exc:  # noqa: BLE001 - a refused offer or a connection that did not open is counted
            failures.append(f"{name}: {str(exc)[:120]}")
            await c.drop()

    try:
        for name in names:  # one after another, as students arrive
            await join(name)
        async with httpx.AsyncClient(timeout=30) as http:
            for c in clients:
                r = await http.get(f"{base}/api/live/sessions/{c.session_id}/stats",
                                   headers={"Authorization": f"Bearer {c.token}"})
                node_of[c.session_id] = r.headers.get("x-proctor-node", "?")
        await asyncio.sleep(args.warmup)
        nodes0, shared0 = node_pids(cluster), shared_pids(cluster)
        t0 = time.monotonic()
        cpu_nodes0 = {k: cpu_seconds(v) for k, v in nodes0.items()}
        cpu_shared0 = cpu_seconds(shared0)
        before = [await c.stats() for c in clients]
        sent: dict[int, list[float]] = {i: [] for i in range(len(clients))}
        for c in clients:
            c.messages.clear()
        while time.monotonic() - t0 < args.seconds:  # each page raises an event every `probe_every` s
            for i, c in enumerate(clients):
                c.send({"type": "browser_signal", "kind": "copy_paste", "phase": "instant",
                        "details": {"action": "paste"}})
                sent[i].append(time.monotonic())
            await asyncio.sleep(args.probe_every)
        await asyncio.sleep(ServerSettings().live_signal_burst_s + 2.0)  # the last probes' answers, after the window
        t1 = time.monotonic()
        nodes1, shared1 = node_pids(cluster), shared_pids(cluster)
        cpu_nodes = {k: (cpu_seconds(v) - cpu_nodes0.get(k, 0.0)) / (t1 - t0) for k, v in nodes1.items()}
        cpu_shared = (cpu_seconds(shared1) - cpu_shared0) / (t1 - t0)
        pss = sum(pss_mb(v) for v in nodes1.values())
        after = await session_stats(base, clients, t0)
    finally:
        for c in clients:
            await c.drop()
    counter = lambda st, key: (st.get("counters") or {}).get(key, 0)  # noqa: E731
    fps = [(counter(a, "analysed") - counter(b, "analysed"))
           / max(1e-6, (a.get("counters_at") or t1) - (b.get("counters_at") or t0)) for a, b in zip(after, before)]
    event_lat = [v for a in after for v in a.get("event_latency_samples", [])]  # the analysis' own events
    # the pages' events: sent -> the warning the node sends once the event is stored (stored, then warned), less the
    # burst window the node holds every browser signal for (signals of one kind within it are one event)
    burst_s = ServerSettings().live_signal_burst_s
    probe_lat, lost = [], 0
    for i, c in enumerate(clients):
        warned = [m["_at"] for m in c.messages if m.get("type") == "warning" and m.get("kind") == "copy_paste"]
        probe_lat += [w - t - burst_s for t, w in zip(sent[i], warned)]
        lost += max(0, len(sent[i]) - len(warned))
    event_lat += probe_lat
    per_node: dict[str, int] = {n.name: 0 for n in cluster.nodes}
    for node in node_of.values():
        per_node[node] = per_node.get(node, 0) + 1
    slow = sum(1 for f in fps if f < 5.0 * 0.97)
    ev95 = p95(event_lat)
    n = len(names)
    row = {
        "sessions": n, "connected": len(clients), "per_node": per_node, "seconds": round(t1 - t0, 1),
        "event_p95_s": None if ev95 is None else round(ev95, 3), "events_timed": len(event_lat), "page_events_unanswered": lost,
        "fps_min": round(min(fps), 2) if fps else 0.0, "fps_median": round(statistics.median(fps), 2) if fps else 0.0,
        "failures": len(failures) + slow, "failed_offers": failures, "under_5fps": slow,
        "nodes_cpu_cores": {k: round(v, 2) for k, v in cpu_nodes.items()},
        "shared_cpu_cores": round(cpu_shared, 2),
        "cpu_per_session": round((sum(cpu_nodes.values()) + cpu_shared) / max(1, len(clients)), 3),
        "pss_per_session_mb": round(pss / max(1, len(clients)), 1),
    }
    row["holds"] = bool(not failures and not slow and (ev95 is None or ev95 < 1.0))
    return row


async def idle_cost(cluster, seconds: float) -> dict:
    pids = node_pids(cluster)
    c0 = {k: cpu_seconds(v) for k, v in pids.items()}
    await asyncio.sleep(seconds)
    return {"cpu_cores_per_node": round(statistics.mean((cpu_seconds(v) - c0[k]) / seconds for k, v in pids.items()), 3),
            "pss_mb_per_node": round(statistics.mean(pss_mb(v) for v in pids.values()))}


async def main(args) -> None:
    from server.cluster.stack import Cluster
    from server.live.ice import allow_loopback_candidates
    from server.settings import ServerSettings
    from tests.live.rtc_client import encode_clip
    from tests.live.world import make_world

    allow_loopback_candidates()  # the clients' side of the loopback namespace
    levels = [int(x) for x in args.sessions.split(",")]
    kbps = ServerSettings().live_video_max_kbps
    clip = encode_clip(DATA / args.clip, DATA / args.audio if args.audio else None, seconds=10.0, bitrate=kbps * 1000)
    root = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    cluster = Cluster.create(root / "cluster", nodes_count=args.nodes, workers=args.workers, extra_env={
        "PROCTOR_SERVER_LOG_LEVEL": "WARNING", "PROCTOR_SERVER_LIVE_MAX_SESSIONS": "0"})
    rows = []
    try:
        cluster.start(timeout=300)
        # students and their proctoring sessions in the cluster's database, a fresh one for every session
        world = make_world(root / "world", n_sessions=max(2, sum(levels)), database_url=cluster.database_url)
        names = list(world.sessions)
        if args.enrol:  # every student enrolled from the clip, so the identity checks run as in a real exam
            from proctor.identity import enrol
            from proctor.media import iter_video_frames
            from server.live.enrolment import save_enrolment

            photo = next(f.rgb for f in iter_video_frames(DATA / args.clip, fps=1.0) if f.t >= 1.0)
            enrolment = enrol([photo]).to_dict()
            for name in names:
                save_enrolment(world.session_factory, world.students[name], enrolment, [], None)
        idle = await idle_cost(cluster, min(10.0, args.seconds))
        print(json.dumps({"idle_node": idle}), flush=True)
        used = 0
        for n in levels:
            row = await run_level(cluster, world, names[used:used + n], clip, args)
            used += n
            rows.append(row)
            print(json.dumps(row), flush=True)
            if not row["holds"] and not args.keep_going:
                break
            await asyncio.sleep(3.0)  # the dropped sessions' media time out before the next level
    finally:
        cluster.stop()
    print()
    print(f"{args.nodes} nodes ({args.workers} analysis worker(s) each), PostgreSQL + SeaweedFS + HAProxy, "
          f"all on this machine's {os.cpu_count()} cores; {args.seconds:.0f} s measured per level")
    print(f"{'sessions':>8} {'per node':>12} {'p95 event':>10} {'fps min/med':>12} {'failures':>8} "
          f"{'nodes CPU':>10} {'shared CPU':>11} {'CPU/session':>12} {'PSS/session':>12}  holds")
    for r in rows:
        per_node = "/".join(str(v) for v in r["per_node"].values())
        ev = "-" if r["event_p95_s"] is None else f"{r['event_p95_s']:.3f}s"
        print(f"{r['sessions']:>8} {per_node:>12} {ev:>10} {r['fps_min']:>5.2f}/{r['fps_median']:<6.2f} "
              f"{r['failures']:>8} {sum(r['nodes_cpu_cores'].values()):>7.2f} c. {r['shared_cpu_cores']:>8.2f} c. "
              f"{r['cpu_per_session']:>9.3f} c. {r['pss_per_session_mb']:>9.1f} MB  {'yes' if r['holds'] else 'NO'}")
    best = max((r["sessions"] for r in rows if r["holds"]), default=0)
    per_session = statistics.mean(r["cpu_per_session"] for r in rows) if rows else 0.0
    print(f"\nheld (every session connected, >= 4.85 analysed fps, p95 < 1 s): {best} sessions on {args.nodes} nodes "
          f"({best / args.nodes:.1f} per node on a share of {os.cpu_count()} cores)")
    print(f"cost with nodes: each node adds {idle['cpu_cores_per_node']:.3f} cores and {idle['pss_mb_per_node']} MB "
          f"idle; each session costs {per_session:.3f} cores (nodes + shared services) wherever it runs, so capacity "
          f"grows with the cores added, one node per machine")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1, help="analysis processes per node")
    ap.add_argument("--sessions", default="8,12,16,20,24", help="rising numbers of sessions (total, all nodes)")
    ap.add_argument("--seconds", type=float, default=30.0, help="measured seconds per level")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds after the last client connected")
    ap.add_argument("--clip", default="video/webcam_glasses_man_640x480.mjpeg")
    ap.add_argument("--audio", default="audio/speech_conversation_2speakers.wav")
    ap.add_argument("--no-enrol", dest="enrol", action="store_false",
                    help="students not enrolled (no identity checks); by default as bench_live.py: enrolled")
    ap.add_argument("--probe-every", type=float, default=6.0,
                    help="each page raises an event (copy_paste) this often, more than the node's signal burst window "
                         "(live_signal_burst_s, 5 s: signals within it are one event); timed until the node has stored "
                         "it, less that window")
    ap.add_argument("--keep-going", action="store_true", help="run every level, also after one broke the target")
    a = ap.parse_args()
    if sum(int(x) for x in a.sessions.split(",")) > 200 or a.seconds > 300:
        ap.error("bounded: at most 200 sessions in all and 300 s per level")
    from tests.live.netns import enter_loopback_netns

    enter_loopback_netns()
    asyncio.run(main(a))
