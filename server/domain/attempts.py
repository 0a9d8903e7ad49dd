"""The attempt state machine.

::

    created -> ready_to_start   (identity verified and room scanned; automatic for unproctored exams)
    ready_to_start -> started -> submitted -> verified | rejected | second_review_required
    second_review_required -> verified | rejected
    timed_out -> verified | rejected | second_review_required   (answers saved before the deadline count)
    verified <-> rejected       (only as a second reviewer's override, see domain.reviews)
    created | ready_to_start | started -> timed_out             (deadline or exam window passed)
    created | ready_to_start | started | submitted -> error     (a technical failure; terminal)

Anything else is refused with :class:`IllegalTransition`.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.enums import AttemptState as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.created: frozenset({S.ready_to_start, S.timed_out, S.error}),
    S.ready_to_start: frozenset({S.started, S.timed_out, S.error}),
    S.started: frozenset({S.submitted, S.timed_out, S.error}),
    S.submitted: frozenset({S.verified, S.rejected, S.second_review_required, S.error}),
    S.timed_out: frozenset({S.verified, S.rejected, S.second_review_required}),
    S.second_review_required: frozenset({S.verified, S.rejected}),
    S.verified: frozenset({S.rejected}),
    S.rejected: frozenset({S.verified}),
    S.error: frozenset(),
}
OVERRIDES = frozenset({(S.verified, S.rejected), (S.rejected, S.verified)})
FINAL = frozenset({S.verified, S.rejected, S.error})
REVIEWABLE = frozenset({S.submitted, S.timed_out, S.second_review_required})
# states in which the student is still taking (or about to take) the exam
OPEN = frozenset({S.created, S.ready_to_start, S.started})


class IllegalTransition(ValueError):
    def __init__(self, current: S | str, target: S | str, reason: str):
        self.current, self.target, self.reason = str(current), str(target), reason
        super().__init__(f"cannot move an attempt from {current} to {target}: {reason}")


@dataclass(frozen=True)
class Guards:
    """Facts about the attempt that some transitions need."""

    proctored: bool = True
    identity_verified: bool = False
    room_scanned: bool = False
    override: bool = False  # the move is a second reviewer overriding a final decision


def check_transition(current: S | str, target: S | str, guards: Guards = Guards()) -> S:
    """Return the target state if the move is legal, else raise :class:`IllegalTransition`."""
    try:
        cur, tgt = S(current), S(target)
    except ValueError as exc:
        raise IllegalTransition(current, target, "unknown state") from exc
    if tgt not in TRANSITIONS[cur]:
        allowed = ", ".join(sorted(TRANSITIONS[cur])) or "none (final state)"
        raise IllegalTransition(cur, tgt, f"allowed from {cur}: {allowed}")
    if (cur, tgt) in OVERRIDES and not guards.override:
        raise IllegalTransition(cur, tgt, "a final decision changes only by a second reviewer's override")
    if cur is S.created and tgt is S.ready_to_start and guards.proctored:
        missing = [name for name, done in (("identity verification", guards.identity_verified),
                                           ("room scan", guards.room_scanned)) if not done]
        if missing:
            raise IllegalTransition(cur, tgt, " and ".join(missing) + " not done yet")
    return tgt


def is_legal(current: S | str, target: S | str, guards: Guards = Guards()) -> bool:
    try:
        check_transition(current, target, guards)
        return True
    except IllegalTransition:
        return False
