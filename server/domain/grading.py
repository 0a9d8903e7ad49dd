"""Validation and auto-grading of answers, and the rule for publishing a grade.

* single choice: the response is one option index; full points when it is the correct one.
* multiple choice: the response is a set of option indices; full points only for exactly the correct set.
* short text: full points when the response equals an accepted answer after trimming, collapsing spaces and
  ignoring case; a question without accepted answers is graded by hand.

A grade is published only when the attempt is ``verified`` (and every hand-graded answer has points); a
rejected attempt's grade is withheld with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from server.domain.enums import AttemptState, QuestionKind

MAX_TEXT = 4000


class BadResponse(ValueError):
    pass


class BadQuestion(ValueError):
    pass


@dataclass(frozen=True)
class QuestionSpec:
    id: int
    kind: QuestionKind
    options: list[str] | None
    correct: list[Any] | None
    points: float


def validate_question(kind: QuestionKind | str, options: list[str] | None, correct: list[Any] | None,
                      points: float) -> None:
    kind = QuestionKind(kind)
    if points < 0:
        raise BadQuestion("points cannot be negative")
    if kind in (QuestionKind.single_choice, QuestionKind.multiple_choice):
        if not options or len(options) < 2:
            raise BadQuestion(f"a {kind} question needs at least two options")
        if not correct or not all(isinstance(i, int) and not isinstance(i, bool) for i in correct):
            raise BadQuestion(f"a {kind} question needs the correct option indices")
        if any(i < 0 or i >= len(options) for i in correct) or len(set(correct)) != len(correct):
            raise BadQuestion("correct option indices must be distinct and within the options")
        if kind is QuestionKind.single_choice and len(correct) != 1:
            raise BadQuestion("a single choice question has exactly one correct option")
    else:
        if options:
            raise BadQuestion("a short text question has no options")
        if correct is not None and not all(isinstance(a, str) and a.strip() for a in correct):
            raise BadQuestion("accepted answers of a short text question are non-empty strings")


def normalise_text(text: str) -> str:
    return " ".join(text.split()).casefold()


def validate_response(q: QuestionSpec, response: Any) -> Any:
    """The response in its stored form, or :class:`BadResponse` saying what is wrong."""
    n = len(q.options or [])
    if q.kind is QuestionKind.single_choice:
        if not isinstance(response, int) or isinstance(response, bool):
            raise BadResponse("a single choice answer is one option index (an integer)")
        if not 0 <= response < n:
            raise BadResponse(f"option index {response} is out of range 0..{n - 1}")
        return response
    if q.kind is QuestionKind.multiple_choice:
        if not isinstance(response, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in response):
            raise BadResponse("a multiple choice answer is a list of option indices")
        if any(not 0 <= i < n for i in response):
            raise BadResponse(f"option indices must be in range 0..{n - 1}")
        if len(set(response)) != len(response):
            raise BadResponse("option indices must not repeat")
        return sorted(response)
    if not isinstance(response, str):
        raise BadResponse("a short text answer is a string")
    if len(response) > MAX_TEXT:
        raise BadResponse(f"a short text answer is at most {MAX_TEXT} characters")
    return response


def auto_points(q: QuestionSpec, response: Any) -> float | None:
    """Points earned, or None when the answer must be graded by hand."""
    if response is None:
        return 0.0
    if q.kind is QuestionKind.single_choice:
        return q.points if [response] == list(q.correct or []) else 0.0
    if q.kind is QuestionKind.multiple_choice:
        return q.points if sorted(response) == sorted(q.correct or []) else 0.0
    accepted = [normalise_text(a) for a in (q.correct or [])]
    if not accepted:
        return None
    return q.points if normalise_text(response) in accepted else 0.0


@dataclass(frozen=True)
class GradeResult:
    score: float  # points of graded answers
    max_score: float
    needs_manual: bool
    points: dict[int, float | None] = field(default_factory=dict)  # question id -> points (None: by hand)


def grade(questions: Iterable[QuestionSpec], responses: dict[int, Any],
          manual: dict[int, float | None] | None = None) -> GradeResult:
    """Grade every question; unanswered questions earn 0; hand-given points override auto points."""
    manual = manual or {}
    score, max_score, needs_manual, points = 0.0, 0.0, False, {}
    for q in questions:
        max_score += q.points
        p = manual.get(q.id)
        if p is None:
            p = auto_points(q, responses.get(q.id))
        if p is None:
            needs_manual = True
        else:
            score += p
        points[q.id] = p
    return GradeResult(round(score, 4), round(max_score, 4), needs_manual, points)


@dataclass(frozen=True)
class GradeView:
    status: str  # "published", "withheld" or "pending"
    score: float | None
    max_score: float | None
    percent: float | None
    passed: bool | None
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "score": self.score, "max_score": self.max_score, "percent": self.percent,
                "passed": self.passed, "reason": self.reason}


def grade_view(state: AttemptState | str, score: float | None, max_score: float | None, *,
               needs_manual: bool = False, decision_reason: str | None = None,
               pass_mark: float | None = None) -> GradeView:
    """What may be shown of the grade: the score only when the attempt is verified and fully graded."""
    state = AttemptState(state)
    if state is AttemptState.verified:
        if needs_manual or score is None:
            return GradeView("pending", None, None, None, None, "awaiting grading of hand-marked answers")
        percent = round(100.0 * score / max_score, 2) if max_score else 0.0
        passed = None if pass_mark is None else percent >= pass_mark
        return GradeView("published", score, max_score, percent, passed, None)
    if state is AttemptState.rejected:
        return GradeView("withheld", None, None, None, None, decision_reason or "the attempt was rejected")
    if state is AttemptState.error:
        return GradeView("withheld", None, None, None, None, "the attempt ended with a technical error")
    if state is AttemptState.second_review_required:
        return GradeView("pending", None, None, None, None, "awaiting a second review")
    if state in (AttemptState.submitted, AttemptState.timed_out):
        return GradeView("pending", None, None, None, None, "awaiting verification")
    return GradeView("pending", None, None, None, None, "the attempt is not finished")
