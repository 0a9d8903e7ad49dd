"""The 30% rule: synchronous classes must be at least 30% of a programme's academic hours (or credits),
not counting industrial training and professional practice.

Figures are computed with exact fractions (no float rounding at the 30% line). The basis is hours when the
plan has counted hours, otherwise credits; both sets of figures are reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable

from server.domain.enums import ItemFormat

REQUIRED_SHARE = Fraction(3, 10)


@dataclass(frozen=True)
class PlanItem:
    title: str
    hours: float
    credits: float
    format: ItemFormat
    industrial_training: bool = False
    professional_practice: bool = False

    @property
    def excluded(self) -> bool:
        return self.industrial_training or self.professional_practice


@dataclass(frozen=True)
class Figures:
    total: float  # every item
    excluded: float  # industrial training and professional practice
    counted: float  # total - excluded
    synchronous: float  # counted synchronous
    asynchronous: float  # counted asynchronous
    share: float | None  # synchronous / counted (None when nothing is counted)
    shortfall: float  # synchronous amount still missing to reach 30%

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in
                ("total", "excluded", "counted", "synchronous", "asynchronous", "share", "shortfall")}


@dataclass(frozen=True)
class PlanCheck:
    ok: bool
    basis: str  # "hours" or "credits"
    required_share: float
    hours: Figures
    credits: Figures
    items: int
    excluded_items: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "basis": self.basis, "required_share": self.required_share, "items": self.items,
            "excluded_items": self.excluded_items, "hours": self.hours.to_dict(),
            "credits": self.credits.to_dict(), "message": self.message,
        }


def _num(value: float) -> Fraction:
    return Fraction(str(value))


def _figures(items: list[PlanItem], attr: str) -> tuple[Figures, Fraction, Fraction]:
    total = sum((_num(getattr(i, attr)) for i in items), Fraction(0))
    excluded = sum((_num(getattr(i, attr)) for i in items if i.excluded), Fraction(0))
    sync = sum((_num(getattr(i, attr)) for i in items
                if not i.excluded and i.format == ItemFormat.synchronous), Fraction(0))
    counted = total - excluded
    shortfall = max(Fraction(0), REQUIRED_SHARE * counted - sync)
    figures = Figures(
        total=float(total), excluded=float(excluded), counted=float(counted), synchronous=float(sync),
        asynchronous=float(counted - sync), share=float(sync / counted) if counted else None,
        shortfall=float(shortfall),
    )
    return figures, sync, counted


def check_plan(items: Iterable[PlanItem]) -> PlanCheck:
    items = list(items)
    for it in items:
        if it.hours < 0 or it.credits < 0:
            raise ValueError(f"item {it.title!r}: hours and credits cannot be negative")
    hours, h_sync, h_counted = _figures(items, "hours")
    credits, c_sync, c_counted = _figures(items, "credits")
    if h_counted > 0:
        basis, sync, counted, fig = "hours", h_sync, h_counted, hours
    else:
        basis, sync, counted, fig = "credits", c_sync, c_counted, credits
    excluded_items = sum(1 for i in items if i.excluded)
    if counted <= 0:
        ok = False
        message = "the plan has no counted hours or credits (industrial training and professional practice " \
                  "do not count)"
    else:
        ok = sync >= REQUIRED_SHARE * counted
        pct = float(sync / counted) * 100
        if ok:
            message = f"synchronous classes are {pct:.1f}% of {fig.counted:g} counted {basis} (at least 30% required)"
        else:
            message = (f"synchronous classes are {pct:.1f}% of {fig.counted:g} counted {basis}: below the required "
                       f"30%; {fig.shortfall:g} more synchronous {basis} are needed")
    return PlanCheck(ok, basis, float(REQUIRED_SHARE), hours, credits, len(items), excluded_items, message)
