"""Close a run: wait for stragglers, re-dispatch lost datapoints, compute metrics by SQL, settle.

The chord body can fire with rows still missing: a task re-delivered after a worker crash is
counted twice by the chord counter, and a task may have given up without a row. Finalize waits
while predictions are still arriving, re-dispatches what is missing (a bounded number of rounds),
and only then settles the run, counting any loss in the status and the error text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.runs import lifecycle
from labrun.shared.runs.metrics import compute_metrics
from labrun.shared.storage.db.models import Prediction, Run
from labrun.shared.usecases import registry
from labrun.worker import telemetry
from labrun.worker.context import WorkerContext

MAX_REDISPATCH_ROUNDS = 2
POLL_S = 5.0
Redispatch = Callable[[str], None]  # re-sends the run's missing datapoints as a new chord


@dataclass(frozen=True)
class FinalizeResult:
    status: str | None
    wait_s: float = 0.0


def _progress(ctx: WorkerContext, run_id: str) -> tuple[Run, int, int, datetime | None]:
    with ctx.db.session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise LookupError(f"run {run_id} not found")
        n, n_ok, last = s.execute(
            select(
                func.count(),
                func.count().filter(Prediction.status == PredictionStatus.SUCCEEDED),
                func.max(Prediction.finished_at),
            ).where(Prediction.run_id == run_id)
        ).one()
        return run, n, n_ok, last


def finalize_run(ctx: WorkerContext, run_id: str, redispatch: Redispatch) -> FinalizeResult:
    run, n, n_ok, last = _progress(ctx, run_id)
    missing = run.n_total - n
    if missing > 0 and not lifecycle.is_cancelled(run.status):
        idle = (datetime.now(UTC) - (last or run.started_at or run.created_at)).total_seconds()
        if idle < ctx.settings.finalize_grace_s:
            return FinalizeResult(None, wait_s=POLL_S)
        rounds = ctx.redis.incr(f"labrun:redispatch:{run_id}")
        if int(rounds) <= MAX_REDISPATCH_ROUNDS:  # type: ignore[arg-type]
            redispatch(run_id)
            return FinalizeResult("redispatched")
    with ctx.db.session() as s:
        compute_metrics(s, run_id, registry.get(run.use_case))
        locked = s.get(Run, run_id, with_for_update=True)
        assert locked is not None
        cost = s.scalar(
            select(func.coalesce(func.sum(Prediction.cost_usd), 0)).where(Prediction.run_id == run_id)
        )
        locked.n_succeeded, locked.n_failed = n_ok, n - n_ok
        locked.cost_usd = Decimal(cost or 0)
        lost = f"{missing} datapoints have no prediction row after {MAX_REDISPATCH_ROUNDS} re-dispatches"
        status = lifecycle.settle(locked, n_ok, lost if missing > 0 else None)
        if locked.started_at and locked.finished_at:
            span = (locked.finished_at - locked.started_at).total_seconds()
            telemetry.RUN_DURATION.labels(locked.use_case).observe(span)
        return FinalizeResult(status.value)
