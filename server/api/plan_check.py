"""The 30 % rule checked on a plan that is not saved yet: the programme editor asks it on every change, so the
methodist sees what counts, what is excluded and why the plan cannot be approved before saving anything. The
figures come from the same :func:`server.services.programmes.check_items` that checks a saved plan."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from server.api.college_programmes import PlanIn
from server.api.deps import CollegeActor
from server.services import programmes

router = APIRouter(prefix="/api/v1", tags=["college: programmes and courses"])


class FiguresOut(BaseModel):
    total: float
    excluded: float
    counted: float
    synchronous: float
    asynchronous: float
    share: float | None
    shortfall: float


class PlanCheckOut(BaseModel):
    ok: bool
    basis: str
    required_share: float
    items: int
    excluded_items: int
    hours: FiguresOut
    credits: FiguresOut
    message: str


@router.post("/plan-check", response_model=PlanCheckOut,
             summary="Check a plan against the 30% rule without saving it (what counts, what is excluded, why)")
def plan_check(body: PlanIn, caller: CollegeActor) -> PlanCheckOut:
    return PlanCheckOut(**programmes.check_items(body.items))
