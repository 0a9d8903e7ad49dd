"""An orphaned session on the two-node cluster: a real aiortc student connected through HAProxy, ``kill -9`` of
the node holding the session, and the student never comes back. The other node's orphan sweep
(``server.live.orphans``) ends the session once the dead node has been silent for longer than the grace period
(plus the node silence). Runs inside one loopback-only network namespace (``tests/live/netns.py``, needs root);
writes what it saw to ``result.json``; ``tests/cluster/test_orphan_fault.py`` checks it.

    python tests/cluster/scenario_orphan.py OUT_DIR VIDEO AUDIO
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.cluster.scenario_faults import reader_stores, served_by  # noqa: E402
from tests.live.netns import enter_loopback_netns  # noqa: E402

MEDIA_TIMEOUT_S = 1.5
GRACE_S = 4.0
SWEEP_S = 1.0


async def main(out_dir: Path, video: Path, audio: Path) -> None:
    import httpx
    from sqlalchemy import select

    from proctor.cli import main as proctor_main
    from proctor.events import fold_events
    from server.cluster.stack import Cluster
    from server.db.engine import transaction
    from server.db.models import Exam, ProctoringSession, Question
    from server.live.ice import allow_loopback_candidates
    from tests.live.rtc_client import LiveClient, encode_clip

    allow_loopback_candidates()
    result: dict[str, Any] = {"grace_s": GRACE_S}
    cluster = Cluster.create(out_dir / "cluster", nodes_count=2, workers=1, extra_env={
        "PROCTOR_SERVER_LIVE_MEDIA_TIMEOUT_S": str(MEDIA_TIMEOUT_S),
        "PROCTOR_SERVER_LIVE_GRACE_S": str(GRACE_S),
        "PROCTOR_SERVER_LIVE_ORPHAN_SWEEP_S": str(SWEEP_S),
        "PROCTOR_SERVER_LIVE_SEGMENT_S": "3",
        "PROCTOR_SERVER_DEMO_PASSWORDS": json.dumps({"student": "demo-student-pass", "proctor": "demo-proctor-pass"}),
    })
    client = None
    try:
        cluster.start(timeout=240)
        base = cluster.proxy.url
        clip = encode_clip(video, audio, seconds=8.0)
        stores, engine = reader_stores(cluster, out_dir / "reader")
        factory = stores.sessions.session_factory
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            r = await http.post("/api/auth/login", json={"email": "student@demo.college",
                                                        "password": "demo-student-pass"})
            token = r.json()["token"]
            with transaction(factory) as db:
                exam_id = db.execute(select(Exam.id).where(Exam.proctored.is_(True))).scalars().first()
                question_id = db.execute(select(Question.id).where(Question.exam_id == exam_id)
                                         .order_by(Question.position)).scalars().first()
            r = await http.post("/api/auth/login", json={"email": "proctor@demo.college",
                                                        "password": "demo-proctor-pass"})
            proctor = {"Authorization": f"Bearer {r.json()['token']}"}
            # the attempt started (its checks confirmed by the proctor), so that its answers count
            r = await http.post(f"/api/student/exams/{exam_id}/attempts",
                                headers={"Authorization": f"Bearer {token}"})
            assert r.status_code in (200, 201), r.text
            attempt_id = r.json()["id"]
            r = await http.post(f"/api/proctor/attempts/{attempt_id}/checks", headers=proctor,
                                json={"identity_verified": True, "room_scanned": True})
            assert r.status_code == 200, r.text
            r = await http.post(f"/api/student/attempts/{attempt_id}/start",
                                headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200 and r.json()["state"] == "started", r.text
            with transaction(factory) as db:
                sid = db.execute(select(ProctoringSession.id)
                                 .where(ProctoringSession.attempt_id == attempt_id)).scalar_one()
        result.update(session_id=sid, attempt_id=attempt_id)

        async def save() -> httpx.Response:
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                return await http.put(f"/api/student/attempts/{attempt_id}/answers/{question_id}",
                                      headers={"Authorization": f"Bearer {token}"}, json={"response": 1})

        client = LiveClient(base, token, sid, clip)
        await client.connect()
        await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "proctoring", timeout=30)
        client.send({"type": "exam_state", "state": "started"})
        home = await served_by(base, token, sid)
        other = next(n.name for n in cluster.nodes if n.name != home)
        result.update(home=home, other=other)
        await asyncio.sleep(6.0)  # the analysis runs, a few 3 s segments are stored
        result["answer_live"] = (await save()).status_code

        # kill -9 of the node holding the session; the student never comes back
        cluster.node(home).proc.kill9()
        t_kill = time.monotonic()
        await client.drop()
        client = None
        result["status_at_kill"] = stores.sessions.get(sid).status
        while time.monotonic() - t_kill < 90:
            state = stores.sessions.get(sid)
            if not state.is_active:
                break
            await asyncio.sleep(0.5)
        result["ended_after_kill_s"] = round(time.monotonic() - t_kill, 2)
        await asyncio.sleep(3.0 * SWEEP_S + 1.0)  # further sweeps find nothing more to do

        records = [e["record"] for e in stores.events.list(sid)]
        state = stores.sessions.get(sid)
        lost = [e for e in fold_events(records) if e["kind"] == "stream_lost"]
        result["final"] = {
            "status": state.status, "integrity_score": state.integrity_score,
            "provisional": state.score_provisional, "report_source": (state.report or {}).get("source"),
            "types": [r["type"] for r in records],
            "stream_lost": [{"status": e["status"], "duration": e.get("duration"),
                             "details": (e.get("evidence") or {}).get("details")} for e in lost],
            "chain_ok": stores.events.verify(sid).ok,
            "manifest_ok": stores.recordings.verify_manifest(sid).ok,
            "segments": len(stores.recordings.list(sid)),
        }

        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            r = await save()
            result["answer"] = {"status": r.status_code, **r.json()}
            on_other = {"X-Proctor-Node": other}
            r = await http.get(f"/api/evidence/sessions/{sid}/export.zip", headers={**proctor, **on_other})
            assert r.status_code == 200, r.text
            (out_dir / "export.zip").write_bytes(r.content)
            keys = (await http.get("/api/evidence/keys", headers=on_other)).json()
        current = next(k for k in keys["keys"] if k["key_id"] == keys["current"])
        (out_dir / "server.pem").write_text(current["public_key_pem"])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = proctor_main(["verify", str(out_dir / "export.zip"), "--public-key", str(out_dir / "server.pem")])
        result["verify"] = {"rc": rc, "out": out.getvalue()[-2000:]}
        stores.close(drain_s=5)
        engine.dispose()
    finally:
        if client is not None:
            await client.drop()
        result["logs"] = {n.name: n.proc.tail(3000) if n.proc else "" for n in cluster.nodes}
        cluster.stop(remove=False)
        (out_dir / "result.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    enter_loopback_netns()
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
