"""Every legal and every illegal attempt transition, in the rules and through the API."""

from __future__ import annotations

import itertools

import pytest

from server.domain.attempts import Guards, IllegalTransition, check_transition, is_legal
from server.domain.enums import AttemptState as S

from .conftest import error_code

# The machine, written out independently of the implementation's table.
LEGAL = {
    ("created", "ready_to_start"), ("ready_to_start", "started"), ("started", "submitted"),
    ("submitted", "verified"), ("submitted", "rejected"), ("submitted", "second_review_required"),
    ("second_review_required", "verified"), ("second_review_required", "rejected"),
    # error and timed_out
    ("created", "error"), ("ready_to_start", "error"), ("started", "error"), ("submitted", "error"),
    ("created", "timed_out"), ("ready_to_start", "timed_out"), ("started", "timed_out"),
    ("timed_out", "verified"), ("timed_out", "rejected"), ("timed_out", "second_review_required"),
}
OVERRIDES = {("verified", "rejected"), ("rejected", "verified")}
ALL = [s.value for s in S]
READY = Guards(proctored=True, identity_verified=True, room_scanned=True)


@pytest.mark.parametrize("current,target", list(itertools.product(ALL, ALL)))
def test_every_pair_of_states(current: str, target: str) -> None:
    if (current, target) in LEGAL:
        assert check_transition(current, target, READY) == S(target)
    elif (current, target) in OVERRIDES:
        with pytest.raises(IllegalTransition, match="override"):
            check_transition(current, target, READY)
        assert check_transition(current, target, Guards(override=True)) == S(target)
    else:
        with pytest.raises(IllegalTransition) as err:
            check_transition(current, target, Guards(proctored=True, identity_verified=True, room_scanned=True,
                                                     override=True))
        assert err.value.current == current and err.value.target == target


def test_error_is_final_and_unknown_states_are_refused() -> None:
    assert not any(is_legal("error", t, Guards(override=True)) for t in ALL)
    with pytest.raises(IllegalTransition, match="unknown state"):
        check_transition("created", "finished")


@pytest.mark.parametrize("identity,room,missing", [(False, False, "identity verification and room scan"),
                                                   (True, False, "room scan"), (False, True, "identity verification")])
def test_ready_to_start_needs_identity_and_room_scan(identity: bool, room: bool, missing: str) -> None:
    with pytest.raises(IllegalTransition, match=missing):
        check_transition("created", "ready_to_start", Guards(True, identity, room))
    assert is_legal("created", "ready_to_start", Guards(proctored=False))


# --- through the API ---------------------------------------------------------------------------------------
def _start(client, world, who: str = "alice", exam: str = "exam_id") -> dict:
    r = client.post(f"/api/student/exams/{getattr(world, exam)}/attempts", headers=world.h(who))
    assert r.status_code in (200, 201), r.text
    return r.json()


def _state(client, world, attempt_id: int) -> str:
    return client.get(f"/api/v1/attempts/{attempt_id}", headers=world.h("api")).json()["state"]


def test_full_proctored_path_and_refusals_on_the_way(client, world) -> None:
    a = _start(client, world)
    aid = a["id"]
    assert a["state"] == "created" and a["proctoring_session_id"]
    H = world.h("alice")
    # cannot start before the checks, cannot submit or be reviewed before starting
    for method, path in [("post", f"/api/student/attempts/{aid}/start"), ("post", f"/api/student/attempts/{aid}/submit"),
                         ("get", f"/api/student/attempts/{aid}/questions")]:
        r = getattr(client, method)(path, headers=H)
        assert r.status_code == 409 and error_code(r) == "illegal_transition", (path, r.text)
    r = client.post(f"/api/proctor/attempts/{aid}/review", headers=world.h("proctor"), json={"decision": "verify"})
    assert r.status_code == 409 and error_code(r) == "illegal_transition"
    assert r.json()["error"]["details"] == {"from": "created", "to": "verified",
                                            "reason": "an attempt that is created cannot be reviewed"}
    assert _state(client, world, aid) == "created"

    r = client.post(f"/api/proctor/attempts/{aid}/checks", headers=world.h("proctor"), json={"identity_verified": True})
    assert r.json()["state"] == "created" and r.json()["identity_verified"]
    r = client.post(f"/api/proctor/attempts/{aid}/checks", headers=world.h("proctor"), json={"room_scanned": True})
    assert r.json()["state"] == "ready_to_start"
    # the checks happen before the exam only
    r = client.post(f"/api/proctor/attempts/{aid}/checks", headers=world.h("proctor"), json={"room_scanned": True})
    assert r.status_code == 409

    r = client.post(f"/api/student/attempts/{aid}/start", headers=H)
    assert r.status_code == 200 and r.json()["state"] == "started" and r.json()["deadline_at"]
    r = client.post(f"/api/student/attempts/{aid}/start", headers=H)
    assert r.status_code == 409 and r.json()["error"]["details"]["from"] == "started"
    r = client.post(f"/api/student/attempts/{aid}/submit", headers=H)
    assert r.status_code == 200 and r.json()["state"] == "submitted"
    r = client.put(f"/api/student/attempts/{aid}/answers/{world.question_ids[0]}", headers=H, json={"response": 1})
    assert r.status_code == 409 and error_code(r) == "illegal_transition"
    r = client.post(f"/api/student/attempts/{aid}/submit", headers=H)
    assert r.status_code == 409

    r = client.post(f"/api/proctor/attempts/{aid}/review", headers=world.h("proctor"), json={"decision": "verify"})
    assert r.status_code == 201 and r.json()["attempt"]["state"] == "verified"
    with world.factory() as db:
        from server.db.models import AttemptTransition

        log = [(t.from_state, t.to_state) for t in db.query(AttemptTransition).filter_by(attempt_id=aid)
               .order_by(AttemptTransition.id)]
    assert log == [("", "created"), ("created", "ready_to_start"), ("ready_to_start", "started"),
                   ("started", "submitted"), ("submitted", "verified")]


def test_unproctored_practice_skips_checks_and_is_verified_on_submission(client, world) -> None:
    a = _start(client, world, exam="practice_id")
    assert a["state"] == "ready_to_start" and a["proctoring_session_id"] is None
    client.post(f"/api/student/attempts/{a['id']}/start", headers=world.h("alice"))
    r = client.post(f"/api/student/attempts/{a['id']}/submit", headers=world.h("alice"))
    assert r.json()["state"] == "verified"


def test_attempts_allowed_and_open_attempt_reuse(client, world) -> None:
    first = _start(client, world)
    again = client.post(f"/api/student/exams/{world.exam_id}/attempts", headers=world.h("alice"))
    assert again.status_code == 200 and again.json()["id"] == first["id"]  # the open attempt, not a new one
    with world.factory() as db, db.begin():
        from server.db.models import Attempt

        for a in db.query(Attempt).all():
            a.state = "rejected"
    second = _start(client, world)
    assert second["number"] == 2
    with world.factory() as db, db.begin():
        db.get(Attempt, second["id"]).state = "verified"
    r = client.post(f"/api/student/exams/{world.exam_id}/attempts", headers=world.h("alice"))
    assert r.status_code == 409 and error_code(r) == "conflict" and "no attempts left" in r.json()["error"]["message"]


def test_time_running_out_moves_the_attempt_to_timed_out(client, world) -> None:
    from datetime import timedelta

    from server.db.models import Attempt

    a = _start(client, world, exam="practice_id")
    H = world.h("alice")
    client.post(f"/api/student/attempts/{a['id']}/start", headers=H)
    qid = client.get(f"/api/student/attempts/{a['id']}/questions", headers=H).json()["questions"][0]["id"]
    assert client.put(f"/api/student/attempts/{a['id']}/answers/{qid}", headers=H, json={"response": 1}).status_code == 200
    with world.factory() as db, db.begin():  # the deadline passed long ago
        att = db.get(Attempt, a["id"])
        att.deadline_at = att.deadline_at - timedelta(hours=2)
    r = client.put(f"/api/student/attempts/{a['id']}/answers/{qid}", headers=H, json={"response": 0})
    assert r.status_code == 409 and error_code(r) == "illegal_transition"
    assert r.json()["error"]["details"]["to"] == "timed_out"
    # the move was kept, the late answer was not
    assert _state(client, world, a["id"]) == "timed_out"
    with world.factory() as db:
        att = db.get(Attempt, a["id"])
        assert [x.response for x in att.answers] == [1] and att.score == 1.0


def test_concurrent_students_answering_at_once(app, client, world) -> None:
    """Many students saving answers at the same moment: every answer kept, no lock errors (SQLite too)."""
    import threading

    from fastapi.testclient import TestClient

    from server.db.engine import transaction
    from server.db.models import Answer, Enrolment

    names = [f"s{i}" for i in range(6)]
    with transaction(world.factory) as db:
        for n in names:
            uid = world.add_user(db, n, "student")
            db.add(Enrolment(course_id=world.course_id, student_id=uid))
    attempts = {}
    for n in names:
        aid = client.post(f"/api/student/exams/{world.practice_id}/attempts", headers=world.h(n)).json()["id"]
        client.post(f"/api/student/attempts/{aid}/start", headers=world.h(n))
        attempts[n] = aid
    qid = client.get(f"/api/student/attempts/{attempts['s0']}/questions", headers=world.h("s0")).json()["questions"][0]["id"]
    failures: list[str] = []

    def student(n: str) -> None:
        c = TestClient(app, raise_server_exceptions=False)
        for i in range(8):
            r = c.put(f"/api/student/attempts/{attempts[n]}/answers/{qid}", headers=world.h(n), json={"response": i % 2})
            if r.status_code != 200:
                failures.append(f"{n}: {r.status_code} {r.text}")
        r = c.post(f"/api/student/attempts/{attempts[n]}/submit", headers=world.h(n))
        if r.status_code != 200:
            failures.append(f"{n} submit: {r.status_code} {r.text}")

    threads = [threading.Thread(target=student, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with world.factory() as db:
        answers = db.query(Answer).filter(Answer.attempt_id.in_(attempts.values())).all()
        assert len(answers) == 6 and {a.response for a in answers} == {1}


def test_a_technical_error_ends_the_attempt_without_using_it_up(client, world) -> None:
    first = _start(client, world)
    r = client.post(f"/api/proctor/attempts/{first['id']}/error", headers=world.h("proctor"),
                    json={"reason": "camera driver crashed"})
    assert r.status_code == 200 and r.json()["state"] == "error"
    assert r.json()["grade"]["status"] == "withheld"
    r = client.post(f"/api/proctor/attempts/{first['id']}/error", headers=world.h("proctor"), json={"reason": "again"})
    assert r.status_code == 409 and r.json()["error"]["details"]["from"] == "error"
    exams = {e["id"]: e for e in client.get("/api/student/exams", headers=world.h("alice")).json()}
    assert exams[world.exam_id]["attempts_used"] == 0
    second = _start(client, world)
    assert second["id"] != first["id"] and second["number"] == 2
