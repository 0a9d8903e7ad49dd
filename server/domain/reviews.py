"""Review decisions: which decision moves an attempt where, and who may make it.

* On a ``submitted`` or ``timed_out`` attempt a proctor verifies, rejects, or asks for a second review.
* On ``second_review_required`` a *different* proctor (one who has not decided on it) verifies or rejects.
* A ``verified`` or ``rejected`` attempt is final, unless a second reviewer (one who has not decided on it)
  overrides it, once. After an override the decision is final.

Reject and second review need a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from server.domain.attempts import IllegalTransition
from server.domain.enums import AttemptState as S
from server.domain.enums import ReviewDecision as D

TARGET = {D.verify: S.verified, D.reject: S.rejected, D.second_review: S.second_review_required}


@dataclass(frozen=True)
class PastReview:
    id: int
    reviewer_id: int
    decision: D
    is_override: bool = False


@dataclass(frozen=True)
class DecisionPlan:
    target: S
    is_override: bool
    override_of: int | None  # the review this decision overrides (None when the decision was automatic)


class DecisionRefused(IllegalTransition):
    pass


class MissingReason(ValueError):
    pass


def plan_decision(state: S | str, decision: D | str, reviewer_id: int, history: Iterable[PastReview],
                  reason: str | None) -> DecisionPlan:
    state, decision = S(state), D(decision)
    history = list(history)
    target = TARGET[decision]
    if decision in (D.reject, D.second_review) and not (reason and reason.strip()):
        raise MissingReason(f"a {decision.value} decision needs a reason")
    deciders = {r.reviewer_id for r in history}
    if state in (S.submitted, S.timed_out):
        return DecisionPlan(target, False, None)
    if state is S.second_review_required:
        if decision is D.second_review:
            raise DecisionRefused(state, target, "the attempt is already waiting for a second review")
        if reviewer_id in deciders:
            raise DecisionRefused(state, target, "the second review must be made by another reviewer")
        return DecisionPlan(target, False, None)
    if state in (S.verified, S.rejected):
        if any(r.is_override for r in history):
            raise DecisionRefused(state, target, "the decision was already overridden by a second reviewer: it is final")
        if decision is D.second_review:
            raise DecisionRefused(state, target, "a final decision can only be overridden, not sent to review")
        if target is state:
            raise DecisionRefused(state, target, f"the attempt is already {state.value}")
        if reviewer_id in deciders:
            raise DecisionRefused(state, target, "the decision is final; only a second reviewer can override it")
        last = history[-1].id if history else None
        return DecisionPlan(target, True, last)
    raise DecisionRefused(state, target, f"an attempt that is {state.value} cannot be reviewed")
