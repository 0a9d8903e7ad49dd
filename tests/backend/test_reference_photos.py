"""The college registers a student's reference photo(s) (college API): enrolled by the engine, stored as evidence
with their sha256, with a 422 naming the photo and the reason for each photo the engine cannot use; replaced and
deleted references are kept (retired, with who did it); locked while the student sits an exam. SQLite and
PostgreSQL (the ``client`` fixture runs on both)."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np

from server.db.engine import transaction
from server.db.models import Attempt

from .conftest import error_code


def _jpeg(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


def _post(client, world, student: int, *photos: bytes, who: str = "api"):
    files = [("photos", (f"p{i}.jpg", p, "image/jpeg")) for i, p in enumerate(photos)]
    return client.post(f"/api/v1/students/{student}/reference-photos", headers=world.h(who), files=files)


def test_register_list_replace_delete(client, world, data_dir, app) -> None:
    alice = world.users["alice"]
    photo = (data_dir / "faces/barack_obama/01.jpg").read_bytes()
    r = _post(client, world, alice, photo)
    assert r.status_code == 201, r.text
    first = r.json()
    digest = hashlib.sha256(photo).hexdigest()
    assert first["source"] == "college" and first["active"] and first["photos"] == [{"sha256": digest}]
    assert first["created_by"].startswith("api_key:")
    # stored as evidence under its sha256, served back to the college
    blobs = app.state.stores.recordings.blobs
    assert blobs.get(f"references/{alice}/{digest}.jpg") == photo
    got = client.get(f"/api/v1/students/{alice}/reference-photos/photo/{digest}.jpg", headers=world.h("api"))
    assert got.status_code == 200 and got.content == photo
    # replaced: the old one is retired (kept, with who retired it)
    second = _post(client, world, alice, (data_dir / "faces/barack_obama/02.jpg").read_bytes(),
                   who="admin").json()
    listed = client.get(f"/api/v1/students/{alice}/reference-photos", headers=world.h("api")).json()
    assert [x["id"] for x in listed] == [second["id"], first["id"]]
    assert listed[0]["active"] and not listed[1]["active"] and listed[1]["retired_by"] == second["created_by"]
    # deleted: retired, still listed
    r = client.delete(f"/api/v1/students/{alice}/reference-photos/{second['id']}", headers=world.h("api"))
    assert r.status_code == 200 and not r.json()["active"] and r.json()["retired_at"]
    assert not any(x["active"] for x in client.get(f"/api/v1/students/{alice}/reference-photos",
                                                   headers=world.h("api")).json())
    # another college, a student of it, or a student themselves cannot
    assert _post(client, world, alice, photo, who="other_api").status_code == 404
    assert _post(client, world, alice, photo, who="alice").status_code == 403
    assert _post(client, world, world.users["teacher"], photo).status_code == 404


def test_unusable_photos_are_named(client, world, data_dir) -> None:
    alice = world.users["alice"]
    good = (data_dir / "faces/barack_obama/01.jpg").read_bytes()
    rgb = cv2.cvtColor(cv2.imread(str(data_dir / "faces/barack_obama/01.jpg")), cv2.COLOR_BGR2RGB)
    cases = {
        "no_face": (data_dir / "special/no_human_face_dogs.jpg").read_bytes(),
        "multiple_faces": (data_dir / "groups/obama_biden_side_by_side.jpg").read_bytes(),
        "face_too_small": _jpeg(cv2.resize(rgb, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)),
        "too_dark": _jpeg((rgb * 0.02).astype(np.uint8)),
        "unreadable": b"this is not an image",
        "too_many_pixels": _jpeg(np.full((7000, 6000, 3), 128, np.uint8)),
    }
    for reason, bad in cases.items():
        r = _post(client, world, alice, good, bad)
        assert r.status_code == 422, (reason, r.text)
        body = r.json()["error"]
        assert body["code"] == "enrolment_failed" and body["details"] == {"photo_index": 1, "reason": reason}, body
        assert "photo 2 of 2" in body["message"]
    assert _post(client, world, alice, good, good, good, good).status_code == 422
    # nothing was registered
    assert client.get(f"/api/v1/students/{alice}/reference-photos", headers=world.h("api")).json() == []


def test_reference_locked_while_the_student_sits_an_exam(client, world, factory, data_dir) -> None:
    alice = world.users["alice"]
    photo = (data_dir / "faces/barack_obama/01.jpg").read_bytes()
    ref = _post(client, world, alice, photo).json()
    with transaction(factory) as db:
        db.add(Attempt(exam_id=world.exam_id, student_id=alice, state="started"))
    r = _post(client, world, alice, photo)
    assert r.status_code == 409 and error_code(r) == "reference_locked"
    r = client.delete(f"/api/v1/students/{alice}/reference-photos/{ref['id']}", headers=world.h("api"))
    assert r.status_code == 409 and error_code(r) == "reference_locked"
