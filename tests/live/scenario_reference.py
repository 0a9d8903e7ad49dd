"""Run inside a loopback-only network namespace: the live server (real analysis workers), the college's reference
photos, and real aiortc clients streaming a one-person webcam clip. Alice's reference is a frame of the clip (the
same person): the photo taken now matches it and the live check verifies her identity; once the exam has started
a second enrolment is refused. Bob's reference is another person (a frame of another webcam clip): the photo taken
now mismatches it (identity_mismatch at the start), the live check cannot verify him, the attempt waits for a
proctor, who replaces the reference with a reason and confirms the identity. Writes what it saw to a JSON file;
tests/live/test_live_reference.py checks it and the stored chains.

    python tests/live/scenario_reference.py OUT_DIR VIDEO AUDIO OTHER_PERSON_VIDEO
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.live.netns import enter_loopback_netns  # noqa: E402

REFERENCE_T = 2.5  # the clip's frame the college registered as alice's reference
TAKEN_T = 5.0  # the clip's frame the student's page takes at the identity step


def frame_jpeg(video: Path, t: float) -> bytes:
    import cv2

    from proctor.media import iter_video_frames

    for vf in iter_video_frames(video, fps=10.0):
        if vf.t >= t:
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(vf.rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
            assert ok
            return buf.tobytes()
    raise ValueError(f"{video} is shorter than {t} s")


def register_reference(world, name: str, photo: bytes) -> int:
    """As the college API does (POST /api/v1/students/{id}/reference-photos, tested in tests/backend)."""
    from server.auth.principal import Principal
    from server.db.engine import transaction
    from server.db.models import User
    from server.services import reference_photos as refs

    enrolled = refs.enrol_photos([photo])
    with transaction(world.session_factory) as db:
        college = db.get(User, world.students[name]).college_id
        row = refs.register(db, world.stores.recordings.blobs, Principal(college_id=college, api_key_id=1),
                            world.students[name], [photo], enrolled)
        return row.id


def add_proctor(world) -> str:
    from datetime import timedelta

    from server.auth.keys import new_token
    from server.db.base import utcnow
    from server.db.engine import transaction
    from server.db.models import AuthToken, User

    with transaction(world.session_factory) as db:
        college = db.get(User, world.students["alice"]).college_id
        u = User(college_id=college, email="proctor@t.kz", full_name="Proctor", role="proctor")
        db.add(u)
        db.flush()
        token, digest = new_token()
        db.add(AuthToken(user_id=u.id, token_hash=digest, expires_at=utcnow() + timedelta(hours=1)))
        return token


def attempt_of(world, name: str) -> dict:
    from server.db.engine import transaction
    from server.db.models import Attempt, ProctoringSession

    with transaction(world.session_factory) as db:
        a = db.get(Attempt, db.get(ProctoringSession, world.sessions[name]).attempt_id)
        return {"id": a.id, "state": a.state, "identity_verified": a.identity_verified_at is not None}


async def identity_step(base: str, world, name: str, clip, photo: bytes) -> tuple[dict, object]:
    import httpx

    from tests.live.rtc_client import LiveClient

    out: dict = {}
    client = LiveClient(base, world.tokens[name], world.sessions[name], clip)
    await client.connect()
    await client.wait_for(lambda m: m.get("type") == "exam_state" and m.get("state") == "proctoring")
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        r = await http.post(f"/api/live/sessions/{world.sessions[name]}/enrolment",
                            headers={"Authorization": f"Bearer {world.tokens[name]}"},
                            files={"photos": ("now.jpg", photo, "image/jpeg")})
        out["enrolment"] = {"status": r.status_code, **r.json()}
    client.send({"type": "identity_check"})
    out["identity_result"] = await client.wait_for(lambda m: m.get("type") == "identity_result", timeout=60)
    out["attempt"] = attempt_of(world, name)
    return out, client


async def main(out_dir: Path, video: Path, audio: Path, other: Path) -> None:
    import httpx

    from server.api import proctor
    from server.review.routes import install_review
    from tests.live.rtc_client import encode_clip
    from tests.live.serving import Served
    from tests.live.world import live_app, make_world, set_attempt_state

    world = make_world(out_dir, live_ice_loopback=True, live_workers=1, live_max_sessions=2)
    app = live_app(world)
    app.include_router(proctor.router)
    install_review(app)
    for name in ("alice", "bob"):
        set_attempt_state(world, name, "created")
    taken = frame_jpeg(video, TAKEN_T)
    result: dict = {"sessions": dict(world.sessions), "students": dict(world.students), "db": str(world.settings.resolved_database_url()),
                    "recordings": str(world.settings.recordings_dir)}
    result["references"] = {"alice": register_reference(world, "alice", frame_jpeg(video, REFERENCE_T)),
                            "bob": register_reference(world, "bob", frame_jpeg(other, REFERENCE_T))}
    proctor_h = {"Authorization": f"Bearer {add_proctor(world)}"}
    server = await Served(app).start()
    base = server.base
    clients = []
    try:
        clip = encode_clip(video, audio, seconds=8.0)
        # alice: the photo taken now is her, as is the college's reference
        result["alice"], client = await identity_step(base, world, "alice", clip, taken)
        clients.append(client)
        set_attempt_state(world, "alice", "started")  # the exam starts: the reference is locked
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            r = await http.post(f"/api/live/sessions/{world.sessions['alice']}/enrolment",
                                headers={"Authorization": f"Bearer {world.tokens['alice']}"},
                                files={"photos": ("other.jpg", frame_jpeg(other, TAKEN_T), "image/jpeg")})
            result["alice"]["enrol_after_start"] = {"status": r.status_code, **r.json().get("error", {})}

        # bob: the college's reference is another person
        result["bob"], client = await identity_step(base, world, "bob", clip, taken)
        clients.append(client)
        bob_sid = world.sessions["bob"]
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            view = (await http.get(f"/api/review/sessions/{bob_sid}", headers=proctor_h)).json()
            result["bob"]["view_identity"] = view["identity"]
            ref = view["identity"]["reference"]["photos"][0]["sha256"]
            r = await http.get(f"/api/review/sessions/{bob_sid}/reference/{ref}.jpg", headers=proctor_h)
            result["bob"]["reference_photo"] = {"status": r.status_code, "bytes": len(r.content)}
            # the proctor decides: a new reference (the photo taken now), with a reason, then the identity
            r = await http.post(f"/api/review/sessions/{bob_sid}/reference", headers=proctor_h,
                                files={"photos": ("now.jpg", taken, "image/jpeg")},
                                data={"reason": "the college's photo is of another student; checked the ID card"})
            result["bob"]["replaced"] = {"status": r.status_code, **r.json()}
            r = await http.post(f"/api/review/sessions/{bob_sid}/reference", headers=proctor_h,
                                files={"photos": ("now.jpg", taken, "image/jpeg")})
            result["bob"]["replace_without_reason"] = r.status_code
            attempt_id = result["bob"]["attempt"]["id"]
            r = await http.post(f"/api/proctor/attempts/{attempt_id}/checks", headers=proctor_h,
                                json={"identity_verified": True})
            result["bob"]["decided"] = {"status": r.status_code, **r.json()}
        result["bob"]["attempt_after"] = attempt_of(world, "bob")
        await asyncio.sleep(1.0)
    finally:
        for c in clients:
            await c.drop()
        await server.stop()
        (out_dir / "result.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    enter_loopback_netns()
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])))
