"""A paired comparison of two runs over the datapoints both have (``labrun compare``, ``GET /compare``).

Four queries whatever the runs' size (SQL in :mod:`compare_sql`): the runs, each run's own
figures, the overlap of their datapoints, and the paired 2x2 table by segment; the statistics
(:mod:`stats`) run on those counts. See docs/decisions.md D24.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labrun.shared.analysis import compare_sql as q
from labrun.shared.analysis.schemas import (
    Comparison,
    Deltas,
    Direction,
    Flip,
    FlipPage,
    IntervalOut,
    Overlap,
    PairedOut,
    RunSide,
    SegmentOut,
)
from labrun.shared.analysis.stats import PairedTable, mcnemar_exact, paired_difference, wilson
from labrun.shared.core.errors import InputError, NotFound
from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.runs.lifecycle import RunStatus
from labrun.shared.storage.db.models import Run
from labrun.shared.usecases import registry

OK = PredictionStatus.SUCCEEDED.value


def compare(session: Session, a: str, b: str) -> Comparison:
    """Run ``b`` against run ``a``; ``NotFound`` names the unknown run ids."""
    run_a, run_b = _runs(session, a, b)
    segment_sql = _segment_sql(run_a.use_case)
    params = {"a": a, "b": b, "ok": OK}
    stats = {r.run_id: r._mapping for r in session.execute(q.RUN_STATS, params)}
    side_a, side_b = _side(run_a, stats.get(a)), _side(run_b, stats.get(b))
    o = session.execute(q.overlap_sql(segment_sql), params).one()._mapping
    overlap = Overlap(
        same_datapoints=o["n_only_a"] == 0 and o["n_only_b"] == 0,
        n_excluded=o["n_shared"] - o["n_paired"],
        **o,
    )
    cells = [tuple(r) for r in session.execute(q.cells_sql(segment_sql), params)]
    total = [sum(c[i] for c in cells) for i in range(1, 5)]
    segments = tuple(SegmentOut(segment=c[0], **_paired(*c[1:])) for c in cells) if segment_sql else ()
    return Comparison(
        a=side_a,
        b=side_b,
        overlap=overlap,
        paired=PairedOut(**_paired(*total)),
        segments=segments,
        deltas=Deltas(
            cost_usd=side_b.cost_usd - side_a.cost_usd,
            cost_per_row_usd=_minus(side_b.cost_per_row_usd, side_a.cost_per_row_usd),
            latency_p50_ms=_minus(side_b.latency_p50_ms, side_a.latency_p50_ms),
            latency_p95_ms=_minus(side_b.latency_p95_ms, side_a.latency_p95_ms),
        ),
        notes=_notes(run_a, run_b, overlap),
    )


def flips(
    session: Session, a: str, b: str, direction: Direction = "a_only", limit: int = 50, offset: int = 0
) -> FlipPage:
    """Paired datapoints right in one run only (``a_only``: A right, B wrong), in A's dataset order."""
    _runs(session, a, b)
    params = {"a": a, "b": b, "ok": OK, "a_right": direction == "a_only"}
    total = session.scalar(q.FLIPS_COUNT, params) or 0
    rows = session.execute(q.FLIPS_PAGE, {**params, "limit": limit, "offset": offset})
    items = tuple(Flip(**r._mapping) for r in rows)
    return FlipPage(a=a, b=b, direction=direction, total=total, offset=offset, limit=limit, items=items)


def _runs(session: Session, a: str, b: str) -> tuple[Run, Run]:
    found = {r.id: r for r in session.scalars(select(Run).where(Run.id.in_({a, b})))}
    missing = [i for i in dict.fromkeys((a, b)) if i not in found]
    if missing:
        raise NotFound(", ".join(missing))
    return found[a], found[b]


def _segment_sql(use_case: str) -> str | None:
    try:
        return registry.get(use_case).segment_sql
    except InputError:  # a use case this process does not know: no segments
        return None


def _side(run: Run, s: Any) -> RunSide:
    n, answered, judged, correct = (s["n"], s["n_answered"], s["n_judged"], s["n_correct"]) if s else (0,) * 4
    ci = wilson(correct, judged)
    cost = float(s["cost_usd"]) if s else 0.0
    return RunSide(
        id=run.id,
        model_alias=run.model_alias,
        use_case=run.use_case,
        status=run.status,
        n=n,
        n_answered=answered,
        coverage=answered / n if n else None,
        n_judged=judged,
        n_correct=correct,
        accuracy=correct / judged if judged else None,
        accuracy_ci=IntervalOut(low=ci.low, high=ci.high) if ci else None,
        cost_usd=cost,
        cost_per_row_usd=cost / n if n else None,
        latency_p50_ms=s["latency_p50_ms"] if s else None,
        latency_p95_ms=s["latency_p95_ms"] if s else None,
    )


def _paired(both: int, a_only: int, b_only: int, both_wrong: int) -> dict[str, Any]:
    """The 2x2 table's figures; the difference is B - A, so B is Newcombe's first proportion."""
    n = both + a_only + b_only + both_wrong
    diff = paired_difference(PairedTable(both, only_first=b_only, only_second=a_only, neither=both_wrong))
    return {
        "n": n,
        "both_right": both,
        "a_only": a_only,
        "b_only": b_only,
        "both_wrong": both_wrong,
        "accuracy_a": (both + a_only) / n if n else None,
        "accuracy_b": (both + b_only) / n if n else None,
        "delta": diff.estimate if diff else None,
        "delta_ci": IntervalOut(low=diff.ci.low, high=diff.ci.high) if diff else None,
        "mcnemar_p": mcnemar_exact(a_only, b_only),
    }


def _minus(x: float | None, y: float | None) -> float | None:
    return None if x is None or y is None else x - y


def _notes(run_a: Run, run_b: Run, o: Overlap) -> tuple[str, ...]:
    notes = []
    if not o.same_datapoints:
        notes.append(
            f"the runs' datapoints differ: {o.n_shared} shared, {o.n_only_a} only in A, {o.n_only_b} only"
            " in B; the paired figures use the shared ones, the per-run figures (accuracy, cost,"
            " latency) each run's own rows"
        )
    if o.n_excluded:
        notes.append(
            f"{o.n_excluded} shared datapoints are left out of the pairing: failed in A {o.n_failed_a},"
            f" failed in B {o.n_failed_b}, no verdict {o.n_unjudged}"
        )
    if o.n_paired == 0:
        notes.append("no datapoint was judged in both runs: there is no paired difference")
    if run_a.use_case != run_b.use_case:
        notes.append(f"the runs are of different use cases ({run_a.use_case}, {run_b.use_case})")
    notes += [f"run {r.id} is still {r.status}" for r in (run_a, run_b) if not RunStatus(r.status).final]
    return tuple(dict.fromkeys(notes))
