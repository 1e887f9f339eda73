"""``/compare``: run B against run A over the datapoints both have, and the datapoints that flipped."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from labrun.api.deps import CurrentProject
from labrun.api.limits import MAX_OFFSET
from labrun.shared.analysis import compare as analysis
from labrun.shared.analysis.schemas import Comparison, Direction, FlipPage
from labrun.shared.runs.access import ensure_visible
from labrun.shared.storage.db.session import session_scope

router = APIRouter(tags=["compare"])

RunA = Annotated[str, Query(description="Run A (the baseline)", max_length=100)]
RunB = Annotated[str, Query(description="Run B (compared with A: differences are B - A)", max_length=100)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Unknown run (the detail names it)"}}


@router.get(
    "/compare", response_model=Comparison, responses=NOT_FOUND, summary="Paired comparison of two runs"
)
def compare(a: RunA, b: RunB, caller: CurrentProject) -> Comparison:
    """Each run's coverage and accuracy (95% Wilson interval); over the datapoints judged in both
    runs (paired by external id), B - A with Newcombe's 95% interval, McNemar's exact p and the
    flip counts, overall and by segment; cost and latency differences."""
    with session_scope() as s:
        ensure_visible(s, caller.project_id, a, b)
        return analysis.compare(s, a, b)


@router.get(
    "/compare/flips", response_model=FlipPage, responses=NOT_FOUND, summary="Datapoints right in one run only"
)
def flips(
    a: RunA,
    b: RunB,
    caller: CurrentProject,
    direction: Annotated[
        Direction, Query(description="a_only: A right, B wrong; b_only: the reverse")
    ] = "a_only",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> FlipPage:
    """One page of flipped datapoints in A's dataset order, with both answers and the expected one."""
    with session_scope() as s:
        ensure_visible(s, caller.project_id, a, b)
        return analysis.flips(s, a, b, direction, limit=limit, offset=offset)
