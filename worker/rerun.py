"""The worker's half of ``labrun retry``: keep the raw responses being replaced, then send the
datapoints to run again as a new chord closed by finalize (which recomputes the metrics)."""

from __future__ import annotations

from celery import Celery
from sqlalchemy import select

from labrun.shared.runs import progress
from labrun.shared.storage.artifacts import raw_key, raw_prefix
from labrun.shared.storage.db.models import Run
from labrun.shared.storage.db.queries import retry_datapoints
from labrun.worker.context import WorkerContext
from labrun.worker.dispatch import send_chord


def kept_key(run_id: str, round_: int, external_id: str) -> str:
    """Where a replaced raw response is kept: ``runs/<run>/raw-retry-<round>/<id>.json``."""
    return raw_key(run_id, external_id).replace(raw_prefix(run_id), f"runs/{run_id}/raw-retry-{round_}/", 1)


def rerun(ctx: WorkerContext, app: Celery, run_id: str, *, all_failed: bool = False) -> int:
    """Returns how many datapoints were sent again (0: finalize is sent at once)."""
    with ctx.db.session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise LookupError(f"run {run_id} not found")
        round_ = int((run.config or {}).get("retries", 1))
        rows = list(s.execute(select(retry_datapoints(run, all_failed=all_failed).subquery())))
    for _, external_id in rows:  # raw responses are analysis material: the replaced ones are kept
        found = ctx.store.find(raw_key(run_id, external_id))
        if found is not None:
            ctx.store.put(kept_key(run_id, round_, external_id), found[1])
    ctx.redis.delete(f"labrun:redispatch:{run_id}")  # finalize's own re-dispatch rounds start again
    with ctx.db.session() as s:  # live counters from the rows the retry starts from
        progress.seed(ctx.redis, run_id, progress.from_rows(s, run_id))
    send_chord(app, run_id, [dp_id for dp_id, _ in rows])
    return len(rows)
