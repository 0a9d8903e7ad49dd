"""Summary of a learner's digital footprint from the facts gathered out of the activity log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass
class LearnerFacts:
    classes_held: set[int] = field(default_factory=set)  # synchronous classes of the learner's courses, started
    classes_attended: set[int] = field(default_factory=set)  # those the learner joined
    materials: set[int] = field(default_factory=set)
    materials_opened: set[int] = field(default_factory=set)
    tasks: set[int] = field(default_factory=set)
    tasks_due: set[int] = field(default_factory=set)  # due date passed
    submissions: dict[int, bool] = field(default_factory=dict)  # task id -> on time
    sign_ins: int = 0
    last_activity_at: datetime | None = None
    grades: list[dict[str, Any]] = field(default_factory=list)


def summarise(f: LearnerFacts) -> dict[str, Any]:
    """attendance % = classes joined / classes held; on-time % = tasks handed in on time / tasks due or handed
    in; progress % = (materials opened + tasks handed in) / (materials + tasks)."""
    attended = len(f.classes_attended & f.classes_held)
    considered = f.tasks_due | set(f.submissions)
    on_time = sum(1 for t, ok in f.submissions.items() if ok and t in considered)
    done = len(f.materials_opened & f.materials) + len(set(f.submissions) & f.tasks)
    return {
        "attendance_pct": pct(attended, len(f.classes_held)),
        "classes_held": len(f.classes_held),
        "classes_attended": attended,
        "on_time_pct": pct(on_time, len(considered)),
        "tasks_considered": len(considered),
        "tasks_on_time": on_time,
        "tasks_late": sum(1 for ok in f.submissions.values() if not ok),
        "tasks_missing": len(f.tasks_due - set(f.submissions)),
        "progress_pct": pct(done, len(f.materials) + len(f.tasks)),
        "materials_opened": len(f.materials_opened & f.materials),
        "materials": len(f.materials),
        "sign_ins": f.sign_ins,
        "last_activity_at": f.last_activity_at.isoformat() if f.last_activity_at else None,
        "grades": f.grades,
    }
