"""A learner's footprint over time: the summary's own figures (attendance, on-time hand-ins, progress) as they
stood at the end of each day or week, for the teacher's plot. Pure: rows in, points out; the percentages come
from :func:`server.domain.footprint.summarise`, so the plot and the summary cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from server.domain.enums import Verb
from server.domain.footprint import LearnerFacts, summarise

MAX_POINTS = 26


@dataclass(frozen=True)
class Row:
    """One dated fact: a class start, a task's due date, a hand-in, an activity of the learner."""

    at: datetime
    kind: str  # "class" | "task_due" | "submission" | an activity verb
    object_id: int
    on_time: bool = False


def bucket_ends(first: datetime, now: datetime) -> tuple[str, list[datetime]]:
    """Ends of the days (a span of up to two weeks) or weeks (longer; at most MAX_POINTS, the latest ones) from
    ``first`` up to ``now`` (the last end is ``now`` itself)."""
    span = now - first
    step = timedelta(days=1) if span <= timedelta(days=14) else timedelta(weeks=1)
    n = min(MAX_POINTS, max(1, int(span / step) + 1))
    return ("day" if step == timedelta(days=1) else "week"), [now - step * k for k in range(n - 1, -1, -1)]


def timeline(rows: Iterable[Row], materials: set[int], tasks: set[int], ends: list[datetime]) -> list[dict[str, Any]]:
    """The summary at each end: what had happened by then (classes held, tasks due, hand-ins, classes joined,
    materials opened). Materials carry no date: progress counts against the course's materials as they are now."""
    rows = sorted(rows, key=lambda r: r.at)
    out = []
    for end in ends:
        f = LearnerFacts(materials=set(materials), tasks=set(tasks))
        for r in rows:
            if r.at > end:
                break
            if r.kind == "class":
                f.classes_held.add(r.object_id)
            elif r.kind == "task_due":
                f.tasks_due.add(r.object_id)
            elif r.kind == "submission":
                f.submissions[r.object_id] = r.on_time
            elif r.kind == Verb.joined_class.value:
                f.classes_attended.add(r.object_id)
            elif r.kind == Verb.opened_material.value:
                f.materials_opened.add(r.object_id)
        s = summarise(f)
        out.append({"at": end.isoformat()} | {k: s[k] for k in (
            "attendance_pct", "classes_held", "classes_attended", "on_time_pct", "tasks_considered", "tasks_on_time",
            "progress_pct", "materials_opened", "materials")})
    return out
