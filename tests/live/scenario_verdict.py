"""Run inside a loopback-only network namespace: the whole server (create_app: migrations, demo data, live exams,
review, college API) on uvicorn, and real aiortc clients taking the demo's proctored exam through the public API.
Writes what it saw to OUT/result.json; tests/live/test_live_verdict.py checks it and the stored data.

    python tests/live/scenario_verdict.py OUT_DIR MULTI_FACE_VIDEO ONE_FACE_VIDEO

- ``multi``: a clip with several faces; the page asks to end the exam (refused, recorded), sends 200 copy_paste
  signals (one event, count 200), asks for the identity step over and over (rate-limited); a provisional score
  appears on the review queue while it runs; the attempt's submit API ends it with its final score.
- ``single``: a one-person clip, submitted the same way.
- ``lost``: drops its connection and never comes back: after the grace period its answers are refused (409
  ``proctoring_interrupted``) until a proctor allows the attempt to go on.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import traceback
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.live.netns import enter_loopback_netns  # noqa: E402

PROCTOR = ("proctor@demo.college", "demo-proctor-pass")
GRACE_S = 3.0
PROVISIONAL_S = 2.0
BURST_S = 3.0


def add_students(app, names: list[str]) -> dict[str, str]:
    """Students enrolled in the demo course, each with a bearer token: name -> token."""
    from server.auth.keys import new_token
    from server.db.base import utcnow
    from server.db.engine import transaction
    from server.db.models import AuthToken, Course, Enrolment, User

    out = {}
    with transaction(app.state.session_factory, write_lock=True) as db:
        course = db.get(Course, app.state.demo["course_id"])
        for name in names:
            user = User(college_id=course.college_id, email=f"{name}@demo.college", full_name=name, role="student")
            db.add(user)
            db.flush()
            db.add(Enrolment(course_id=course.id, student_id=user.id))
            token, digest = new_token()
            db.add(AuthToken(user_id=user.id, token_hash=digest, expires_at=utcnow() + timedelta(hours=2)))
            out[name] = token
    return out


async def main(out_dir: Path, multi_video: Path, one_video: Path) -> None:
    import httpx

    from server.app import create_app
    from server.settings import ServerSettings
    from tests.live.rtc_client import LiveClient, encode_clip
    from tests.live.serving import Served

    settings = ServerSettings(data_dir=out_dir, webhooks_enabled=False, log_level="WARNING", live_ice_loopback=True,
                              live_media_timeout_s=1.5, live_grace_s=GRACE_S, live_segment_s=4.0, live_workers=1,
                              live_provisional_score_s=PROVISIONAL_S, live_signal_burst_s=BURST_S,
                              live_check_requests_per_min=2,
                              seed_demo=True, demo_passwords={"proctor": PROCTOR[1]})  # the demo, with a known password
    app = create_app(settings)
    server = await Served(app).start()
    base = server.base
    result: dict = {"db": settings.resolved_database_url(), "ok": False}
    try:
        tokens = await asyncio.to_thread(add_students, app, ["multi", "single", "lost"])
        exam_id = app.state.demo["exam_ids"][0]  # the proctored attestation
        api = {"Authorization": f"Bearer {app.state.demo['api_key']}"}
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            login = (await http.post("/api/auth/login", json={"email": PROCTOR[0], "password": PROCTOR[1]})).json()
            proctor = {"Authorization": f"Bearer {login['token']}"}
            question_id = (await http.get(f"/api/v1/exams/{exam_id}", headers=api)).json()["questions"][0]["id"]

            async def begin(name: str) -> tuple[int, str]:
                """The attempt started (checks confirmed by the proctor): (attempt id, session id)."""
                me = {"Authorization": f"Bearer {tokens[name]}"}
                a = (await http.post(f"/api/student/exams/{exam_id}/attempts", headers=me)).json()
                r = await http.post(f"/api/proctor/attempts/{a['id']}/checks", headers=proctor,
                                    json={"identity_verified": True, "room_scanned": True})
                assert r.status_code == 200, r.text
                r = await http.post(f"/api/student/attempts/{a['id']}/start", headers=me)
                assert r.status_code == 200 and r.json()["state"] == "started", r.text
                return a["id"], a["proctoring_session_id"]

            async def save(name: str, attempt_id: int) -> httpx.Response:
                return await http.put(f"/api/student/attempts/{attempt_id}/answers/{question_id}",
                                      headers={"Authorization": f"Bearer {tokens[name]}"}, json={"response": 1})

            async def queue_row(sid: str, status: str) -> dict | None:
                rows = (await http.get("/api/review/queue", params={"status": status}, headers=proctor)).json()
                return next((r for r in rows["sessions"] if r["id"] == sid), None)

            # encoded one after the other, before any session starts
            clips = {"multi": encode_clip(multi_video, None, seconds=10.0),
                     "single": encode_clip(one_video, None, seconds=10.0),
                     "lost": encode_clip(one_video, None, seconds=4.0)}

            async def run_exam(name: str, misbehave: bool) -> dict:
                out: dict = {}
                attempt_id, sid = await begin(name)
                out["attempt_id"], out["session_id"] = attempt_id, sid
                clip = clips[name]
                client = LiveClient(base, tokens[name], sid, clip)
                await client.connect()
                await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "proctoring")
                client.send({"type": "exam_state", "state": "started"})
                if misbehave:
                    # the page says the exam is over: a request, refused and recorded; the session goes on
                    client.send({"type": "exam_state", "state": "submitted"})
                    out["refused"] = await client.wait_for(
                        lambda m: m.get("type") == "error" and m.get("code") == "page_request_refused", timeout=15)
                    await asyncio.sleep(1.0)
                    out["status_after_page_submit"] = (await client.stats()).get("status")
                    out["answer_while_live"] = (await save(name, attempt_id)).status_code
                    for _ in range(200):
                        client.send({"type": "browser_signal", "kind": "copy_paste", "phase": "instant",
                                     "details": {"action": "paste", "text": "x" * 1000}})
                    for _ in range(6):
                        client.send({"type": "identity_check"})
                    out["rate_limited"] = await client.wait_for(
                        lambda m: m.get("type") == "error" and m.get("code") == "rate_limited", timeout=15)
                # a provisional score appears on the review queue (live) while the session runs
                deadline = time.monotonic() + 40
                row = None
                while time.monotonic() < deadline:
                    row = await queue_row(sid, "live")
                    if row and row["integrity_score"] is not None and row["score_provisional"]:
                        break
                    await asyncio.sleep(1.0)
                out["live_row"] = row
                out["live_view"] = (await http.get(f"/api/review/sessions/{sid}", headers=proctor)).json()
                await asyncio.sleep(12.0)  # the clip plays through (its several-faces part)
                out["stats_before_submit"] = await client.stats()
                r = await http.post(f"/api/student/attempts/{attempt_id}/submit",
                                    headers={"Authorization": f"Bearer {tokens[name]}"})
                out["submit"] = r.status_code
                out["finished"] = await client.wait_for(
                    lambda m: m.get("type") == "exam_state" and m.get("state") == "finished", timeout=40)
                await client.drop()
                await asyncio.sleep(1.0)
                out["queue_row"] = await queue_row(sid, "all")
                out["view"] = (await http.get(f"/api/review/sessions/{sid}", headers=proctor)).json()
                out["college"] = (await http.get(f"/api/v1/attempts/{attempt_id}", headers=api)).json()
                out["messages"] = [m for m in client.messages if m.get("type") not in ("pong", "room_scan_progress")]
                return out

            multi, single = await asyncio.gather(run_exam("multi", True), run_exam("single", False))
            result["multi"], result["single"] = multi, single

            # the stream is lost and the grace period passes: answers are refused until a proctor allows it
            lost: dict = {}
            attempt_id, sid = await begin("lost")
            lost["attempt_id"], lost["session_id"] = attempt_id, sid
            client = LiveClient(base, tokens["lost"], sid, clips["lost"])
            await client.connect()
            await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "proctoring")
            lost["answer_live"] = (await save("lost", attempt_id)).status_code
            await asyncio.sleep(2.0)
            await client.drop()
            await asyncio.sleep(1.5 + GRACE_S + 4.0)  # media timeout + grace + the analysis closing
            r = await save("lost", attempt_id)
            lost["refused"] = {"status": r.status_code, **r.json()}
            r = await http.post(f"/api/proctor/attempts/{attempt_id}/allow-unproctored", headers=proctor,
                                json={"reason": "the student's camera broke; a proctor watched by phone"})
            lost["allowed"] = {"status": r.status_code, **r.json()}
            lost["answer_after_allow"] = (await save("lost", attempt_id)).status_code
            lost["view"] = (await http.get(f"/api/review/sessions/{sid}", headers=proctor)).json()
            result["lost"] = lost
        result["ok"] = True
    except Exception:  # noqa: BLE001 - reported to the test with what was seen so far
        result["error"] = traceback.format_exc()
    finally:
        await server.stop()
        (out_dir / "result.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    enter_loopback_netns()
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
