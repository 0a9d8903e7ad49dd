"""Auto-grading, grade publication only after verification (withheld with the reason when rejected), and the
review rules: decisions are final unless a second reviewer overrides them, every decision in the audit log."""

from __future__ import annotations

import pytest

from server.domain import grading
from server.domain.enums import QuestionKind

from .conftest import error_code

Q = grading.QuestionSpec
SINGLE = Q(1, QuestionKind.single_choice, ["a", "b", "c"], [1], 1.0)
MULTI = Q(2, QuestionKind.multiple_choice, ["a", "b", "c", "d"], [0, 2], 2.0)
TEXT = Q(3, QuestionKind.short_text, None, ["def", "def keyword"], 1.0)
ESSAY = Q(4, QuestionKind.short_text, None, [], 3.0)


def test_auto_grading_rules() -> None:
    assert grading.auto_points(SINGLE, 1) == 1.0 and grading.auto_points(SINGLE, 0) == 0.0
    assert grading.auto_points(MULTI, [2, 0]) == 2.0
    assert grading.auto_points(MULTI, [0]) == 0.0 and grading.auto_points(MULTI, [0, 1, 2]) == 0.0
    assert grading.auto_points(TEXT, "  DEF ") == 1.0 and grading.auto_points(TEXT, "def   Keyword") == 1.0
    assert grading.auto_points(TEXT, "lambda") == 0.0
    assert grading.auto_points(ESSAY, "anything") is None
    r = grading.grade([SINGLE, MULTI, TEXT, ESSAY], {1: 1, 2: [0, 2], 3: "nope"})
    assert (r.score, r.max_score, r.needs_manual) == (3.0, 7.0, False)  # the unanswered essay earns 0
    r = grading.grade([SINGLE, ESSAY], {1: 1, 4: "text"})
    assert r.needs_manual and r.points == {1: 1.0, 4: None}
    assert grading.grade([SINGLE, ESSAY], {1: 1, 4: "text"}, {4: 2.5}).score == 3.5


@pytest.mark.parametrize("q,response,message", [
    (SINGLE, "1", "one option index"), (SINGLE, 3, "out of range"), (SINGLE, True, "one option index"),
    (MULTI, 1, "list of option indices"), (MULTI, [0, 0], "must not repeat"), (MULTI, [4], "range"),
    (TEXT, 5, "a string"), (TEXT, "x" * 5000, "at most"),
])
def test_bad_responses_are_refused(q, response, message) -> None:
    with pytest.raises(grading.BadResponse, match=message):
        grading.validate_response(q, response)


@pytest.mark.parametrize("kind,options,correct", [
    ("single_choice", ["a"], [0]), ("single_choice", ["a", "b"], [0, 1]), ("multiple_choice", ["a", "b"], [2]),
    ("multiple_choice", ["a", "b"], None), ("short_text", ["a", "b"], ["a"]), ("short_text", None, [""]),
])
def test_bad_questions_are_refused(kind, options, correct) -> None:
    with pytest.raises(grading.BadQuestion):
        grading.validate_question(kind, options, correct, 1)


@pytest.mark.parametrize("state,status", [
    ("created", "pending"), ("ready_to_start", "pending"), ("started", "pending"), ("submitted", "pending"),
    ("timed_out", "pending"), ("second_review_required", "pending"), ("rejected", "withheld"), ("error", "withheld"),
    ("verified", "published"),
])
def test_a_grade_is_published_only_when_verified(state: str, status: str) -> None:
    view = grading.grade_view(state, 6.0, 8.0, decision_reason="a second person was seen", pass_mark=50)
    assert view.status == status
    if status == "published":
        assert (view.score, view.max_score, view.percent, view.passed) == (6.0, 8.0, 75.0, True)
    else:
        assert view.score is None and view.percent is None and view.passed is None
    if state == "rejected":
        assert view.reason == "a second person was seen"
    assert grading.grade_view("verified", 6.0, 8.0, needs_manual=True).status == "pending"


# --- through the API ---------------------------------------------------------------------------------------
def submitted_attempt(client, world, who: str = "alice", answers=(1, [1, 2], "def")) -> int:
    H = world.h(who)
    aid = client.post(f"/api/student/exams/{world.exam_id}/attempts", headers=H).json()["id"]
    client.post(f"/api/proctor/attempts/{aid}/checks", headers=world.h("proctor"),
                json={"identity_verified": True, "room_scanned": True})
    assert client.post(f"/api/student/attempts/{aid}/start", headers=H).status_code == 200
    qs = client.get(f"/api/student/attempts/{aid}/questions", headers=H).json()["questions"]
    assert all("correct" not in q for q in qs)  # no answers for the student
    for q, resp in zip(qs, answers):
        r = client.put(f"/api/student/attempts/{aid}/answers/{q['id']}", headers=H, json={"response": resp})
        assert r.status_code == 200, r.text
    assert client.post(f"/api/student/attempts/{aid}/submit", headers=H).json()["state"] == "submitted"
    return aid


def _grade(client, world, aid: int, who: str = "alice") -> dict:
    return client.get(f"/api/student/attempts/{aid}", headers=world.h(who)).json()["grade"]


def test_grade_hidden_until_verified_then_published(client, world) -> None:
    aid = submitted_attempt(client, world)
    g = _grade(client, world, aid)
    assert g["status"] == "pending" and g["score"] is None
    assert client.get(f"/api/v1/attempts/{aid}", headers=world.h("api")).json()["grade"]["score"] is None
    r = client.post(f"/api/proctor/attempts/{aid}/review", headers=world.h("proctor"),
                    json={"decision": "second_review", "reason": "looked away often"})
    assert r.json()["attempt"]["state"] == "second_review_required"
    assert _grade(client, world, aid)["score"] is None
    client.post(f"/api/proctor/attempts/{aid}/review", headers=world.h("proctor2"), json={"decision": "verify"})
    g = _grade(client, world, aid)
    assert g == {"status": "published", "score": 4.0, "max_score": 4.0, "percent": 100.0, "passed": True,
                 "reason": None}
    assert client.get(f"/api/v1/attempts/{aid}", headers=world.h("api")).json()["grade"]["score"] == 4.0


def test_rejected_grade_is_withheld_with_the_reason(client, world) -> None:
    aid = submitted_attempt(client, world)
    r = client.post(f"/api/proctor/attempts/{aid}/review", headers=world.h("proctor"), json={"decision": "reject"})
    assert r.status_code == 422 and error_code(r) == "validation_error"  # a rejection needs a reason
    r = client.post(f"/api/proctor/attempts/{aid}/review", headers=world.h("proctor"),
                    json={"decision": "reject", "reason": "another person answered"})
    assert r.status_code == 201
    assert _grade(client, world, aid) == {"status": "withheld", "score": None, "max_score": None, "percent": None,
                                          "passed": None, "reason": "another person answered"}


def test_decisions_are_final_unless_a_second_reviewer_overrides_once(client, world) -> None:
    aid = submitted_attempt(client, world, answers=(0, [1], "lambda"))
    url = f"/api/proctor/attempts/{aid}/review"
    assert client.post(url, headers=world.h("proctor"), json={"decision": "verify"}).status_code == 201
    # the same reviewer cannot change their mind
    r = client.post(url, headers=world.h("proctor"), json={"decision": "reject", "reason": "changed my mind"})
    assert r.status_code == 409 and error_code(r) == "illegal_transition"
    # deciding the same again is refused, so is a review request on a final decision
    assert client.post(url, headers=world.h("proctor2"), json={"decision": "verify"}).status_code == 409
    assert client.post(url, headers=world.h("proctor2"),
                       json={"decision": "second_review", "reason": "x"}).status_code == 409
    # a second reviewer overrides
    r = client.post(url, headers=world.h("proctor2"), json={"decision": "reject", "reason": "phone visible at 12:30",
                                                            "comments": [{"t": 750.0, "text": "phone on desk"}]})
    assert r.status_code == 201 and r.json()["is_override"] and r.json()["attempt"]["state"] == "rejected"
    # ... once: after that the decision is final for everyone
    r = client.post(url, headers=world.h("proctor3"), json={"decision": "verify"})
    assert r.status_code == 409 and "final" in r.json()["error"]["message"]
    log = client.get(f"/api/proctor/attempts/{aid}/reviews", headers=world.h("proctor")).json()
    assert [(x["reviewer_id"], x["decision"], x["from_state"], x["to_state"], x["is_override"]) for x in log] == [
        (world.users["proctor"], "verify", "submitted", "verified", False),
        (world.users["proctor2"], "reject", "verified", "rejected", True)]
    assert log[1]["overrides_review_id"] == log[0]["id"]
    assert log[1]["comments"][0]["t"] == 750.0


def test_second_review_must_be_someone_else(client, world) -> None:
    aid = submitted_attempt(client, world)
    url = f"/api/proctor/attempts/{aid}/review"
    client.post(url, headers=world.h("proctor"), json={"decision": "second_review", "reason": "unsure"})
    r = client.post(url, headers=world.h("proctor"), json={"decision": "verify"})
    assert r.status_code == 409 and "another reviewer" in r.json()["error"]["message"]
    assert client.post(url, headers=world.h("proctor2"), json={"decision": "verify"}).status_code == 201


def test_hand_marked_answers_publish_when_graded(client, world) -> None:
    from server.db.models import Question

    with world.factory() as db, db.begin():
        db.get(Question, world.question_ids[2]).correct = []  # now marked by hand
    aid = submitted_attempt(client, world)
    client.post(f"/api/proctor/attempts/{aid}/review", headers=world.h("proctor"), json={"decision": "verify"})
    g = _grade(client, world, aid)
    assert g["status"] == "pending" and "hand-marked" in g["reason"]
    url = f"/api/teacher/attempts/{aid}/answers/{world.question_ids[2]}/points"
    assert client.put(url, headers=world.h("teacher"), json={"points": 5}).status_code == 422  # more than the max
    assert client.put(url, headers=world.h("teacher2"), json={"points": 1}).status_code == 404  # not their course
    r = client.put(url, headers=world.h("teacher"), json={"points": 0.5})
    assert r.status_code == 200
    assert _grade(client, world, aid)["score"] == 3.5
