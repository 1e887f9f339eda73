"""Close a run: wait for stragglers, re-dispatch lost datapoints, compute metrics by SQL, set status.

The chord body can fire with rows still missing: a task re-delivered after a worker crash is
counted twice by the chord counter, and a task may have given up without a row. Finalize waits
while predictions are still arriving, re-dispatches what is missing (a bounded number of rounds),
and only then settles the run, counting any loss in the status and the error text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from celery import Celery
from sqlalchemy import func, select

from shared.config import get_settings
from shared.db.models import Prediction, Run
from shared.db.session import session_scope
from shared.runs.metrics import compute_metrics
from worker import clients
from worker.dispatch import datapoint_ids, send_chord

MAX_REDISPATCH_ROUNDS = 2
POLL_S = 5.0


@dataclass(frozen=True)
class FinalizeResult:
    status: str | None
    wait_s: float = 0.0


def _progress(run_id: str) -> tuple[Run, int, int, datetime | None]:
    with session_scope() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise LookupError(f"run {run_id} not found")
        n, n_ok, last = s.execute(
            select(
                func.count(),
                func.count().filter(Prediction.status == "succeeded"),
                func.max(Prediction.finished_at),
            ).where(Prediction.run_id == run_id)
        ).one()
        return run, n, n_ok, last


def finalize_run(app: Celery, run_id: str) -> FinalizeResult:
    run, n, n_ok, last = _progress(run_id)
    missing = run.n_total - n
    if missing > 0 and run.status != "cancelled":
        idle = (datetime.now(UTC) - (last or run.started_at or run.created_at)).total_seconds()
        if idle < get_settings().finalize_grace_s:
            return FinalizeResult(None, wait_s=POLL_S)
        rounds = clients.redis_client().incr(f"labrun:redispatch:{run_id}")
        if rounds <= MAX_REDISPATCH_ROUNDS:
            send_chord(app, run_id, datapoint_ids(run_id, only_missing=True))
            return FinalizeResult("redispatched")
    with session_scope() as s:
        compute_metrics(s, run_id)
        run = s.get(Run, run_id, with_for_update=True)
        assert run is not None
        cost = s.scalar(
            select(func.coalesce(func.sum(Prediction.cost_usd), 0)).where(Prediction.run_id == run_id)
        )
        run.n_succeeded, run.n_failed, run.cost_usd = n_ok, n - n_ok, cost
        if run.status != "cancelled":
            run.status = "succeeded" if n_ok == run.n_total else "partial"
            if missing > 0:
                run.error = (
                    f"{missing} datapoints have no prediction row after {MAX_REDISPATCH_ROUNDS} re-dispatches"
                )
        run.finished_at = datetime.now(UTC)
        return FinalizeResult(run.status)
