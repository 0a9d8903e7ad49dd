"""A checker for the xAPI 1.0.3 statement format (the rules of the spec's "Statement" section that a
statement producer controls), used to validate the footprint export. Returns a list of problems."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

STATEMENT_KEYS = {"id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority",
                  "version", "attachments"}
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
CONTEXT_ACTIVITY_KEYS = {"parent", "grouping", "category", "other"}
LANG_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
DURATION = re.compile(r"^P(?!$)(\d+(?:\.\d+)?Y)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?W)?(\d+(?:\.\d+)?D)?"
                      r"(T(?=\d)(\d+(?:\.\d+)?H)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?S)?)?$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _nulls(value: Any, path: str, out: list[str]) -> None:
    if value is None:
        out.append(f"{path}: null values are not allowed")
    elif isinstance(value, dict):
        for k, v in value.items():
            _nulls(v, f"{path}.{k}", out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _nulls(v, f"{path}[{i}]", out)


def _lang_map(value: Any, path: str, out: list[str]) -> None:
    if not isinstance(value, dict) or not value:
        out.append(f"{path}: must be a non-empty language map")
        return
    for k, v in value.items():
        if not LANG_TAG.match(k):
            out.append(f"{path}: {k!r} is not an RFC 5646 language tag")
        if not isinstance(v, str):
            out.append(f"{path}.{k}: must be a string")


def _iri(value: Any, path: str, out: list[str]) -> None:
    if not isinstance(value, str) or not IRI.match(value):
        out.append(f"{path}: {value!r} is not an IRI")


def _extensions(value: Any, path: str, out: list[str]) -> None:
    if not isinstance(value, dict):
        out.append(f"{path}: must be an object")
        return
    for k in value:
        _iri(k, f"{path} key", out)


def _agent(value: Any, path: str, out: list[str]) -> None:
    if not isinstance(value, dict):
        out.append(f"{path}: must be an object")
        return
    if value.get("objectType", "Agent") != "Agent":
        out.append(f"{path}.objectType: must be Agent for a learner")
    ifis = [k for k in IFIS if k in value]
    if len(ifis) != 1:
        out.append(f"{path}: an Agent has exactly one inverse functional identifier, found {ifis}")
    if "account" in value:
        acc = value["account"]
        if set(acc) != {"homePage", "name"}:
            out.append(f"{path}.account: needs exactly homePage and name")
        _iri(acc.get("homePage"), f"{path}.account.homePage", out)
        if not isinstance(acc.get("name"), str) or not acc.get("name"):
            out.append(f"{path}.account.name: must be a non-empty string")
    if "mbox" in value and not str(value["mbox"]).startswith("mailto:"):
        out.append(f"{path}.mbox: must be a mailto IRI")
    if "name" in value and not isinstance(value["name"], str):
        out.append(f"{path}.name: must be a string")


def _activity(value: Any, path: str, out: list[str]) -> None:
    if not isinstance(value, dict):
        out.append(f"{path}: must be an object")
        return
    if value.get("objectType", "Activity") != "Activity":
        out.append(f"{path}.objectType: must be Activity")
    _iri(value.get("id"), f"{path}.id", out)
    d = value.get("definition")
    if d is not None:
        for k in d:
            if k not in {"name", "description", "type", "moreInfo", "extensions", "interactionType",
                         "correctResponsesPattern", "choices", "scale", "source", "target", "steps"}:
                out.append(f"{path}.definition: unknown property {k!r}")
        for k in ("name", "description"):
            if k in d:
                _lang_map(d[k], f"{path}.definition.{k}", out)
        if "type" in d:
            _iri(d["type"], f"{path}.definition.type", out)
        if "extensions" in d:
            _extensions(d["extensions"], f"{path}.definition.extensions", out)


def _result(value: Any, out: list[str]) -> None:
    allowed = {"score", "success", "completion", "response", "duration", "extensions"}
    for k in value:
        if k not in allowed:
            out.append(f"result: unknown property {k!r}")
    sc = value.get("score")
    if sc is not None:
        for k, v in sc.items():
            if k not in {"scaled", "raw", "min", "max"}:
                out.append(f"result.score: unknown property {k!r}")
            elif not isinstance(v, (int, float)) or isinstance(v, bool):
                out.append(f"result.score.{k}: must be a number")
        if "scaled" in sc and not -1 <= sc["scaled"] <= 1:
            out.append("result.score.scaled: must be in -1..1")
        if "min" in sc and "max" in sc and not sc["min"] < sc["max"]:
            out.append("result.score: min must be below max")
        if "raw" in sc:
            if "min" in sc and sc["raw"] < sc["min"] or "max" in sc and sc["raw"] > sc["max"]:
                out.append("result.score.raw: must be within min..max")
    for k in ("success", "completion"):
        if k in value and not isinstance(value[k], bool):
            out.append(f"result.{k}: must be a boolean")
    if "response" in value and not isinstance(value["response"], str):
        out.append("result.response: must be a string")
    if "duration" in value and not DURATION.match(str(value["duration"])):
        out.append(f"result.duration: {value['duration']!r} is not an ISO 8601 duration")
    if "extensions" in value:
        _extensions(value["extensions"], "result.extensions", out)


def _context(value: Any, object_is_activity: bool, out: list[str]) -> None:
    allowed = {"registration", "instructor", "team", "contextActivities", "revision", "platform", "language",
               "statement", "extensions"}
    for k in value:
        if k not in allowed:
            out.append(f"context: unknown property {k!r}")
    if "registration" in value:
        try:
            uuid.UUID(value["registration"])
        except (ValueError, TypeError):
            out.append("context.registration: must be a UUID")
    if ("revision" in value or "platform" in value) and not object_is_activity:
        out.append("context: revision and platform are only for Activity objects")
    if "language" in value and not LANG_TAG.match(str(value["language"])):
        out.append("context.language: must be an RFC 5646 tag")
    ca = value.get("contextActivities")
    if ca is not None:
        for k, v in ca.items():
            if k not in CONTEXT_ACTIVITY_KEYS:
                out.append(f"context.contextActivities: unknown key {k!r}")
            for i, act in enumerate(v if isinstance(v, list) else [v]):
                _activity(act, f"context.contextActivities.{k}[{i}]", out)
    if "extensions" in value:
        _extensions(value["extensions"], "context.extensions", out)


def validate_statement(stmt: Any) -> list[str]:
    out: list[str] = []
    if not isinstance(stmt, dict):
        return ["a statement is a JSON object"]
    _nulls(stmt, "statement", out)
    for k in stmt:
        if k not in STATEMENT_KEYS:
            out.append(f"unknown property {k!r}")
    for k in ("actor", "verb", "object"):
        if k not in stmt:
            out.append(f"{k} is required")
    if "id" in stmt:
        try:
            u = uuid.UUID(stmt["id"])
            if str(u) != stmt["id"].lower() or u.variant != uuid.RFC_4122:
                out.append("id: must be an RFC 4122 UUID in canonical form")
        except (ValueError, AttributeError, TypeError):
            out.append("id: must be a UUID")
    if "actor" in stmt:
        _agent(stmt["actor"], "actor", out)
    verb = stmt.get("verb")
    if isinstance(verb, dict):
        _iri(verb.get("id"), "verb.id", out)
        if "display" in verb:
            _lang_map(verb["display"], "verb.display", out)
    elif verb is not None:
        out.append("verb: must be an object")
    obj = stmt.get("object")
    if obj is not None:
        _activity(obj, "object", out)
    if "result" in stmt:
        _result(stmt["result"], out)
    if "context" in stmt:
        _context(stmt["context"], isinstance(obj, dict) and obj.get("objectType", "Activity") == "Activity", out)
    if "timestamp" in stmt:
        ts = str(stmt["timestamp"])
        if not TIMESTAMP.match(ts):
            out.append(f"timestamp: {ts!r} is not an ISO 8601 date-time with a time zone")
        else:
            datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if "version" in stmt and not re.match(r"^1\.0(\.\d+)?$", str(stmt["version"])):
        out.append("version: must be 1.0.x")
    return out
