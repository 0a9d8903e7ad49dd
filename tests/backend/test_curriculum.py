"""The 30% rule on real-looking college plans, and its enforcement on the programme API (a failing plan is
saved as a draft with the figures, but cannot be approved)."""

from __future__ import annotations

import pytest

from server.domain.curriculum import PlanItem, check_plan
from server.domain.enums import ItemFormat

from .conftest import error_code

S, A = ItemFormat.synchronous, ItemFormat.asynchronous

# A two-year "Software engineering" plan of a technical and vocational college (hours, credits).
SOFTWARE_PLAN = [
    PlanItem("General humanitarian subjects", 288, 12, S),
    PlanItem("Basic professional modules: lectures and labs", 300, 12, S),
    PlanItem("Basic professional modules: e-learning", 420, 17, A),
    PlanItem("Professional modules: workshops", 240, 10, S),
    PlanItem("Professional modules: online self-study", 624, 26, A),
    PlanItem("Industrial training", 432, 18, S, industrial_training=True),
    PlanItem("Professional practice", 576, 24, A, professional_practice=True),
]

# Mostly online: 500 synchronous of 1872 counted hours.
ONLINE_HEAVY_PLAN = [
    PlanItem("General subjects (webinars)", 200, 8, S),
    PlanItem("General subjects (LMS)", 400, 16, A),
    PlanItem("Professional modules (live labs)", 300, 12, S),
    PlanItem("Professional modules (LMS)", 972, 40, A),
    PlanItem("Industrial training", 720, 30, S, industrial_training=True),
]

# Passes only if the (synchronous) industrial training is wrongly counted.
PRACTICE_HEAVY_PLAN = [
    PlanItem("Theory (live)", 400, 16, S),
    PlanItem("Theory (LMS)", 1200, 50, A),
    PlanItem("Industrial training at the enterprise", 800, 33, S, industrial_training=True),
    PlanItem("Pre-diploma professional practice", 300, 12, S, professional_practice=True),
]


def test_a_compliant_plan_with_figures() -> None:
    r = check_plan(SOFTWARE_PLAN)
    assert r.ok and r.basis == "hours"
    assert r.hours.total == 2880 and r.hours.excluded == 1008 and r.hours.counted == 1872
    assert r.hours.synchronous == 828 and r.hours.asynchronous == 1044
    assert r.hours.share == pytest.approx(828 / 1872) and r.hours.shortfall == 0
    assert r.excluded_items == 2 and r.items == 7
    assert "44.2%" in r.message


def test_a_plan_below_30_percent_reports_the_shortfall() -> None:
    r = check_plan(ONLINE_HEAVY_PLAN)
    assert not r.ok
    assert r.hours.counted == 1872 and r.hours.synchronous == 500
    assert r.hours.share == pytest.approx(0.2671, abs=1e-4)
    assert r.hours.shortfall == pytest.approx(0.3 * 1872 - 500)  # 61.6 more synchronous hours
    assert "below the required 30%" in r.message and "61.6" in r.message


def test_industrial_training_and_professional_practice_are_not_counted() -> None:
    r = check_plan(PRACTICE_HEAVY_PLAN)
    # counting everything would give (400 + 800 + 300) / 2700 = 55.6% synchronous
    assert r.hours.total == 2700 and r.hours.excluded == 1100
    assert r.hours.counted == 1600 and r.hours.synchronous == 400
    assert r.hours.share == 0.25 and not r.ok
    assert r.hours.shortfall == 80


def test_exactly_30_percent_passes_without_float_rounding() -> None:
    assert check_plan([PlanItem("live", 30, 0, S), PlanItem("lms", 70, 0, A)]).ok
    # 0.3 of 0.1 + 0.2 + ... : decimal hours summed exactly
    items = [PlanItem("live", 0.1, 0, S), PlanItem("live", 0.2, 0, S), PlanItem("lms", 0.7, 0, A)]
    assert check_plan(items).ok
    assert not check_plan([PlanItem("live", 29.99, 0, S), PlanItem("lms", 70.01, 0, A)]).ok


def test_credits_are_the_basis_when_the_plan_has_no_hours() -> None:
    r = check_plan([PlanItem("live", 0, 4, S), PlanItem("lms", 0, 6, A), PlanItem("practice", 0, 20, A, True)])
    assert r.basis == "credits" and r.ok and r.credits.share == 0.4


def test_an_empty_or_practice_only_plan_fails() -> None:
    assert not check_plan([]).ok
    r = check_plan([PlanItem("Industrial training", 500, 20, S, industrial_training=True)])
    assert not r.ok and r.hours.counted == 0 and r.hours.share is None


def _items(plan: list[PlanItem]) -> list[dict]:
    return [{"title": i.title, "hours": i.hours, "credits": i.credits, "format": i.format.value,
             "industrial_training": i.industrial_training, "professional_practice": i.professional_practice}
            for i in plan]


def test_programme_api_checks_every_change_of_the_plan(client, world) -> None:
    h = world.h("api")
    r = client.post("/api/v1/programmes", headers=h,
                    json={"code": "SE", "title": "Software engineering", "items": _items(ONLINE_HEAVY_PLAN)})
    assert r.status_code == 201
    prog = r.json()
    assert prog["status"] == "draft" and prog["plan_check"]["ok"] is False
    assert prog["plan_check"]["hours"]["shortfall"] == pytest.approx(61.6)

    r = client.post(f"/api/v1/programmes/{prog['id']}/approve", headers=h)
    assert r.status_code == 422 and error_code(r) == "rule_violation"
    assert r.json()["error"]["details"]["plan_check"]["hours"]["synchronous"] == 500
    assert client.get(f"/api/v1/programmes/{prog['id']}", headers=h).json()["status"] == "draft"

    r = client.put(f"/api/v1/programmes/{prog['id']}/plan", headers=h, json={"items": _items(SOFTWARE_PLAN)})
    assert r.status_code == 200 and r.json()["plan_check"]["ok"] is True and len(r.json()["items"]) == 7
    r = client.post(f"/api/v1/programmes/{prog['id']}/approve", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "approved"

    # changing an approved plan takes it back to draft, checked again
    r = client.put(f"/api/v1/programmes/{prog['id']}/plan", headers=h, json={"items": _items(PRACTICE_HEAVY_PLAN)})
    assert r.json()["status"] == "draft" and r.json()["plan_check"]["hours"]["share"] == 0.25


def test_plan_items_are_validated(client, world) -> None:
    h = world.h("api")
    bad = {"code": "X", "title": "X", "items": [{"title": "t", "hours": -5, "format": "synchronous"},
                                                {"title": "u", "hours": 5, "format": "hybrid"}]}
    r = client.post("/api/v1/programmes", headers=h, json=bad)
    assert r.status_code == 422 and error_code(r) == "validation_error"
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert fields == {"body.items.0.hours", "body.items.1.format"}
    assert client.get("/api/v1/programmes", headers=h).json() == []
