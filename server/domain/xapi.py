"""The digital footprint as xAPI 1.0.3 statements (the JSON shape of the spec, ready for an LRS).

Every activity-log row becomes one statement: the actor is an Agent identified by an account on this
server's home page, the verb and activity type come from the ADL / Activity Streams vocabularies, the course
is the parent context activity, and "from where" (the IP address) goes in a context extension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from server.domain.enums import Verb

XAPI_VERSION = "1.0.3"

VERBS: dict[Verb, tuple[str, str]] = {
    Verb.signed_in: ("https://w3id.org/xapi/adl/verbs/logged-in", "logged in"),
    Verb.signed_out: ("https://w3id.org/xapi/adl/verbs/logged-out", "logged out"),
    Verb.joined_class: ("http://activitystrea.ms/schema/1.0/join", "joined"),
    Verb.left_class: ("http://activitystrea.ms/schema/1.0/leave", "left"),
    Verb.opened_material: ("http://adlnet.gov/expapi/verbs/experienced", "experienced"),
    Verb.submitted_task: ("http://activitystrea.ms/schema/1.0/submit", "submitted"),
    Verb.graded: ("http://adlnet.gov/expapi/verbs/scored", "scored"),
    Verb.attempt_started: ("http://adlnet.gov/expapi/verbs/attempted", "attempted"),
    Verb.attempt_submitted: ("http://adlnet.gov/expapi/verbs/completed", "completed"),
    Verb.answered_survey: ("http://adlnet.gov/expapi/verbs/responded", "responded"),
}

ACTIVITY_TYPES: dict[str, str] = {
    "lms": "http://id.tincanapi.com/activitytype/lms",
    "class": "http://adlnet.gov/expapi/activities/meeting",
    "material": "http://adlnet.gov/expapi/activities/media",
    "task": "http://id.tincanapi.com/activitytype/school-assignment",
    "exam": "http://adlnet.gov/expapi/activities/assessment",
    "attempt": "http://adlnet.gov/expapi/activities/assessment",
    "survey": "http://id.tincanapi.com/activitytype/survey",
    "course": "http://adlnet.gov/expapi/activities/course",
}

LANG = "en-US"


@dataclass(frozen=True)
class ActivityFacts:
    statement_id: str
    actor_account: str  # the learner's id on this server
    actor_name: str
    verb: Verb
    object_type: str
    object_id: str
    object_name: str | None
    at: datetime
    result: dict[str, Any] | None = None
    course_id: int | None = None
    course_name: str | None = None
    ip: str | None = None


def iso_duration(seconds: float) -> str:
    """ISO 8601 duration, e.g. ``PT1H2M3.5S`` (xAPI keeps 0.01 s precision)."""
    seconds = max(0.0, round(seconds, 2))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    out = "PT"
    if h:
        out += f"{int(h)}H"
    if m:
        out += f"{int(m)}M"
    if s or out == "PT":
        out += f"{s:g}S"
    return out


def timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _result(raw: dict[str, Any] | None, base: str) -> dict[str, Any] | None:
    if not raw:
        return None
    out: dict[str, Any] = {}
    ext: dict[str, Any] = {}
    score, max_score = raw.get("score"), raw.get("max_score")
    if isinstance(score, (int, float)) and not isinstance(score, bool) and math.isfinite(score):
        sc: dict[str, Any] = {"raw": score}
        if isinstance(max_score, (int, float)) and max_score and max_score > 0 and 0 <= score <= max_score:
            sc.update({"min": 0, "max": max_score, "scaled": round(score / max_score, 4)})
        out["score"] = sc
    if isinstance(raw.get("success"), bool):
        out["success"] = raw["success"]
    if isinstance(raw.get("completion"), bool):
        out["completion"] = raw["completion"]
    if isinstance(raw.get("duration_s"), (int, float)):
        out["duration"] = iso_duration(float(raw["duration_s"]))
    if isinstance(raw.get("response"), str):
        out["response"] = raw["response"]
    for key, value in raw.items():
        if key in ("score", "max_score", "success", "completion", "duration_s", "response") or value is None:
            continue
        ext[f"{base}/xapi/extensions/{key.replace('_', '-')}"] = value
    if ext:
        out["extensions"] = ext
    return out or None


def statement(f: ActivityFacts, base_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/")
    verb_id, verb_word = VERBS[Verb(f.verb)]
    obj: dict[str, Any] = {
        "objectType": "Activity",
        "id": f"{base}/xapi/activities/{f.object_type}/{f.object_id}",
        "definition": {"type": ACTIVITY_TYPES.get(f.object_type, "http://adlnet.gov/expapi/activities/media")},
    }
    if f.object_name:
        obj["definition"]["name"] = {LANG: f.object_name}
    stmt: dict[str, Any] = {
        "id": f.statement_id,
        "actor": {"objectType": "Agent", "name": f.actor_name, "account": {"homePage": base, "name": f.actor_account}},
        "verb": {"id": verb_id, "display": {LANG: verb_word}},
        "object": obj,
        "timestamp": timestamp(f.at),
        "version": XAPI_VERSION,
    }
    result = _result(f.result, base)
    if result:
        stmt["result"] = result
    context: dict[str, Any] = {"platform": "proctor", "language": LANG}
    if f.course_id is not None:
        parent: dict[str, Any] = {"objectType": "Activity", "id": f"{base}/xapi/activities/course/{f.course_id}",
                                  "definition": {"type": ACTIVITY_TYPES["course"]}}
        if f.course_name:
            parent["definition"]["name"] = {LANG: f.course_name}
        context["contextActivities"] = {"parent": [parent]}
    if f.ip:
        context["extensions"] = {f"{base}/xapi/extensions/ip-address": f.ip}
    stmt["context"] = context
    return stmt
