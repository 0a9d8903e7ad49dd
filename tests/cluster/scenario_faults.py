"""Faults during a live exam on the two-node cluster (``server.cluster.stack.Cluster``: PostgreSQL, SeaweedFS,
HAProxy, two ``proctor serve`` nodes), with a real aiortc student connected through the proxy, all inside one
loopback-only network namespace (``tests/live/netns.py``, needs root). Writes what it saw to ``result.json``;
``tests/cluster/test_faults.py`` checks it.

1. the proctor's live view (the review's SSE stream) on the *other* node receives the student's events;
2. ``kill -9`` of the node holding the session: the student posts its offer again through the proxy, HAProxy sends
   it to the other node, which claims the session from the store once the dead node's heartbeat is stale;
3. PostgreSQL restarts while the exam goes on: the page's events raised meanwhile are stored afterwards in order;
4. the node now holding the session restarts (stopped, started with the same node id): the session resumes.
Then the student submits. The chain, the recordings' manifest and what was stored before the kill are read back.

    python tests/cluster/scenario_faults.py OUT_DIR VIDEO AUDIO
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.live.netns import enter_loopback_netns  # noqa: E402

MEDIA_TIMEOUT_S = 1.5
GRACE_S = 120.0


def reader_stores(cluster, data_dir: Path):
    """Stores built from a node's settings (the shared PostgreSQL and bucket), to read back what was stored."""
    from server.db.engine import make_engine, make_sessionmaker
    from server.settings import ServerSettings
    from server.storage import build_stores

    env = {k: v for k, v in cluster.nodes[0].env.items() if k.startswith("PROCTOR_SERVER_")}
    with mock.patch.dict(os.environ, env):  # read as the node reads them (JSON values included)
        settings = ServerSettings(data_dir=data_dir, live_node_id="reader")
    engine = make_engine(settings.resolved_database_url())
    return build_stores(settings, make_sessionmaker(engine)), engine


class Stream:
    """The review's Server-Sent Events of one session, read from one node (pinned with X-Proctor-Node)."""

    def __init__(self, base: str, token: str, sid: str, node: str):
        self.url = f"{base}/api/review/sessions/{sid}/stream"
        self.headers = {"Authorization": f"Bearer {token}", "X-Proctor-Node": node}
        self.entries: list[tuple[float, dict[str, Any]]] = []
        self.served_by: str | None = None
        self.task: asyncio.Task | None = None

    async def _read(self) -> None:
        import httpx

        async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=None)) as http:
            async with http.stream("GET", self.url, headers=self.headers) as r:
                self.served_by = r.headers.get("x-proctor-node")
                event, data = None, []
                async for line in r.aiter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        data.append(line.split(":", 1)[1].strip())
                    elif line == "":
                        if event == "entry" and data:
                            self.entries.append((time.monotonic(), json.loads("".join(data))))
                        event, data = None, []

    def start(self) -> "Stream":
        self.task = asyncio.create_task(self._read())
        return self

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


PROBE_KINDS = ("copy_paste", "devtools")


def probe(client, n: int, label: str) -> float:
    """A browser signal from the page, numbered: it becomes an event in the chain. Neighbouring probes are of two
    kinds, so two that reach the server together are never gathered into one burst."""
    client.send({"type": "browser_signal", "kind": PROBE_KINDS[n % 2], "phase": "instant",
                 "details": {"action": "paste", "probe": f"{label}-{n}"}})
    return time.monotonic()


def probes_in(entries: list[dict[str, Any]]) -> list[str]:
    return [((e["record"].get("evidence") or {}).get("details") or {}).get("probe")
            for e in entries if e["record"].get("kind") in PROBE_KINDS and e["record"].get("type") == "event"]


async def served_by(base: str, token: str, sid: str) -> str | None:
    import httpx

    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(f"{base}/api/live/sessions/{sid}/stats", headers={"Authorization": f"Bearer {token}"})
        return r.headers.get("x-proctor-node") if r.status_code == 200 else f"{r.status_code}"


async def reconnect(client, deadline_s: float) -> dict[str, Any]:
    """Post the offer again through the proxy until a node accepts it (409 while the old node's heartbeat is
    fresh, 503 while no node is up), as the student page does."""
    await client.drop()
    client.messages.clear()
    t0 = time.monotonic()
    refusals: list[str] = []
    while True:
        try:
            await client.connect()
            break
        except Exception as exc:  # noqa: BLE001 - refused offers, a proxy with no node up yet
            refusals.append(str(exc)[:100])
            if time.monotonic() - t0 > deadline_s:
                raise
            await client.drop()
            await asyncio.sleep(1.0)
    proctoring = await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "proctoring",
                                       timeout=30)
    seconds = round(time.monotonic() - t0, 2)
    # the gap itself is checked in the chain (its stream_lost event); the page's "resumed" notice is not waited
    # for: it is sent with the first media, which can come before the data channel is open (then it is not sent)
    await asyncio.sleep(2.0)
    resumed = [m for m in client.messages if m.get("type") == "exam_state" and m.get("state") == "resumed"]
    return {"seconds": seconds, "refusals": refusals, "proctoring": proctoring, "resumed_notice": resumed}


async def main(out_dir: Path, video: Path, audio: Path) -> None:
    import httpx
    from sqlalchemy import select

    from proctor.events import fold_events
    from server.cluster.procs import wait_for
    from server.cluster.stack import Cluster
    from server.db.engine import make_engine, make_sessionmaker, transaction
    from server.db.models import Exam, ProctoringSession
    from server.live.ice import allow_loopback_candidates
    from tests.live.rtc_client import LiveClient, encode_clip

    allow_loopback_candidates()  # the student's side offers 127.0.0.1 too (the nodes do: live_ice_loopback)

    result: dict[str, Any] = {}
    cluster = Cluster.create(out_dir / "cluster", nodes_count=2, workers=1, extra_env={
        "PROCTOR_SERVER_LIVE_MEDIA_TIMEOUT_S": str(MEDIA_TIMEOUT_S),
        "PROCTOR_SERVER_LIVE_GRACE_S": str(GRACE_S),
        "PROCTOR_SERVER_LIVE_SEGMENT_S": "3",
        # each probe (a browser signal) must be its own event to be timed: no gathering of bursts here
        "PROCTOR_SERVER_LIVE_SIGNAL_BURST_S": "0",
        # demo passwords are generated unless given: the scenario signs in with known ones
        "PROCTOR_SERVER_DEMO_PASSWORDS": json.dumps({"student": "demo-student-pass", "proctor": "demo-proctor-pass"}),
    })
    streams: list[Stream] = []
    client = None
    try:
        cluster.start(timeout=240)
        base = cluster.proxy.url
        clip = encode_clip(video, audio, seconds=8.0)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            r = await http.post("/api/auth/login", json={"email": "student@demo.college",
                                                        "password": "demo-student-pass"})
            token = r.json()["token"]
            engine = make_engine(cluster.database_url)
            factory = make_sessionmaker(engine)
            with transaction(factory) as db:
                exam_id = db.execute(select(Exam.id).where(Exam.proctored.is_(True))).scalars().first()
            r = await http.post(f"/api/student/exams/{exam_id}/attempts", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code in (200, 201), r.text
            with transaction(factory) as db:
                sid = db.execute(select(ProctoringSession.id)
                                 .where(ProctoringSession.attempt_id == r.json()["id"])).scalar_one()
            engine.dispose()
            home = await served_by(base, token, sid)
            other = next(n.name for n in cluster.nodes if n.name != home)
            r = await http.post("/api/auth/login", headers={"X-Proctor-Node": other},
                                json={"email": "proctor@demo.college", "password": "demo-proctor-pass"})
            proctor = r.json()["token"]
        result.update(session_id=sid, home=home, other=other)

        client = LiveClient(base, token, sid, clip)
        await client.connect()
        await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "proctoring", timeout=30)
        client.send({"type": "exam_state", "state": "started"})
        result["first_node"] = await served_by(base, token, sid)

        # 1. the proctor's live view on the other node (and, to compare, on the node holding the session)
        await asyncio.sleep(4.0)  # the session's analysis is running
        views = {node: Stream(base, proctor, sid, node).start() for node in (other, home)}
        streams.extend(views.values())
        await asyncio.sleep(1.5)
        sent = {}
        for n in range(10):
            sent[f"view-{n}"] = probe(client, n, "view")
            await asyncio.sleep(0.6)
        await asyncio.sleep(2.0)
        result["live_view"] = {}
        for node, view in views.items():
            seen: dict[str, float] = {}
            for at, entry in view.entries:
                for p in probes_in([entry]):
                    seen.setdefault(p, at)
            result["live_view"][node] = {"served_by": view.served_by, "sent": list(sent),
                                         "delays_s": {p: round(seen[p] - t, 3) for p, t in sent.items() if p in seen}}
            await view.stop()

        # 2. kill -9 of the node that holds the session
        await asyncio.sleep(5.0)  # a few 3 s recording segments
        stores, engine = reader_stores(cluster, out_dir / "reader")
        cluster.node(home).proc.kill9()
        t_kill = time.monotonic()
        await asyncio.sleep(0.5)
        before = stores.events.list(sid)
        result["before_kill"] = {"entries": [(e["seq"], e["hash"]) for e in before],
                                 "segments": [(s.index, s.sha256) for s in stores.recordings.list(sid)],
                                 "probes": probes_in(before)}
        result["takeover"] = await reconnect(client, deadline_s=60)
        result["takeover"]["since_kill_s"] = round(time.monotonic() - t_kill, 2)
        result["after_kill_node"] = await served_by(base, token, sid)
        for n in range(3):
            probe(client, n, "after-kill")
            await asyncio.sleep(0.5)
        await asyncio.sleep(4.0)

        # 3. PostgreSQL restarts during the exam; the page's events meanwhile are stored afterwards, in order
        restart = asyncio.create_task(asyncio.to_thread(cluster.pg.restart, 4.0))
        await asyncio.sleep(0.3)
        during = [probe(client, n, "db-down") for n in range(5)]
        for n in range(5, 10):
            await asyncio.sleep(0.4)
            during.append(probe(client, n, "db-down"))
        await restart
        result["db_restart"] = {"sent": len(during), "restarted_at": round(time.monotonic() - t_kill, 2)}
        await asyncio.sleep(6.0)  # the store thread's retries reach the database again
        result["after_db_node"] = await served_by(base, token, sid)
        result["stats_after_db"] = (await client.stats()).get("status")

        # 4. the node holding the session restarts with the same node id
        holder = cluster.node(other)
        holder.proc.stop()
        holder.start()
        holder.wait(120)
        wait_for(lambda: (cluster.proxy.server_states() or {}).get("by_session", {}).get(other, "").startswith("UP"),
                 30, "HAProxy sees the restarted node")
        result["node_restart"] = await reconnect(client, deadline_s=60)
        result["after_restart_node"] = await served_by(base, token, sid)
        for n in range(3):
            probe(client, n, "after-restart")
            await asyncio.sleep(0.5)
        await asyncio.sleep(3.0)
        # the server decides the end (a page's "submitted" is only a request): the proctor ends the attempt
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            r = await http.post(f"/api/review/sessions/{sid}/end", json={"reason": "the fault scenario is over"},
                                headers={"Authorization": f"Bearer {proctor}"})
            assert r.status_code == 200, r.text
        await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "finished", timeout=60)
        await asyncio.sleep(1.0)
        await client.drop()

        entries = stores.events.list(sid)
        records = [e["record"] for e in entries]
        chain = stores.events.verify(sid)
        manifest = stores.recordings.verify_manifest(sid)
        state = stores.sessions.get(sid)
        lost = [e for e in fold_events(records) if e["kind"] == "stream_lost"]
        segments = stores.recordings.list(sid)
        chained = {r["index"]: r["sha256"] for r in records if r["type"] == "recording_segment"}
        result["final"] = {
            "entries": [(e["seq"], e["hash"]) for e in entries],
            "segments": [(s.index, s.sha256) for s in segments],
            "segments_chained": {str(k): v for k, v in chained.items()},
            "segment_bytes_ok": all(__import__("hashlib").sha256(stores.recordings.get(sid, s.index)).hexdigest()
                                    == s.sha256 for s in segments),
            "chain_ok": chain.ok, "chain_problem": str(chain),
            "manifest_ok": manifest.ok, "manifest_problems": [str(p) for p in manifest.problems],
            "probes": probes_in(entries),
            "stream_lost": [{"status": e["status"], "duration": e.get("duration"),
                             "details": (e.get("evidence") or {}).get("details")} for e in lost],
            "status": state.status, "node_id": state.node_id,
            "types": [r["type"] for r in records],
        }
        stores.close(drain_s=5)
        engine.dispose()
    finally:
        for s in streams:
            await s.stop()
        if client is not None:
            await client.drop()
        result["logs"] = {n.name: n.proc.tail(3000) if n.proc else "" for n in cluster.nodes}
        log = cluster.root / "haproxy.log"
        # HAProxy's log of each offer: "... <retries field> ... POST .../offer"; a "+" marks a redispatch
        result["offers_logged"] = [line[-260:] for line in (log.read_text(errors="replace").splitlines()
                                                             if log.is_file() else []) if "/offer " in line]
        cluster.stop(remove=False)
        (out_dir / "result.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    enter_loopback_netns()
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
