"""Retry into the same run: the datapoints that ended in a provider or infrastructure failure (or
every failure), were skipped by the budget, or never ran (a cancelled run) run again; the rest of
the run is kept. The run goes back to ``running`` (the one transition that moves a run back, and
only from a final status), records what was re-run in ``runs.events``, and its finalize recomputes
the metrics. A higher ``max_cost_usd`` continues a run that hit its budget."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from labrun.shared.core.errors import InputError, NotFound
from labrun.shared.runs import budget, events
from labrun.shared.runs.lifecycle import RunStatus
from labrun.shared.storage.broker import TASK_RETRY, client_app
from labrun.shared.storage.db.models import Run
from labrun.shared.storage.db.queries import retry_datapoints
from labrun.shared.storage.db.session import Database, default_database


@dataclass(frozen=True)
class RetryResult:
    run_id: str
    datapoints: int
    status: str


def retry(
    run_id: str, *, all_failed: bool = False, max_cost_usd: float | None = None, db: Database | None = None
) -> RetryResult:
    """Reopen a finished run for its failed datapoints and enqueue them (by task name)."""
    db = db or default_database()
    with db.session() as s:
        run = s.get(Run, run_id, with_for_update=True)
        if run is None:
            raise NotFound(run_id)
        if not RunStatus(run.status).final:
            raise InputError(("RUN",), f"run {run_id} is still {run.status}: wait for it or cancel it first")
        n = s.scalar(
            select(func.count()).select_from(retry_datapoints(run, all_failed=all_failed).subquery())
        )
        if not n:
            return RetryResult(run_id, 0, run.status)
        config = dict(run.config)
        if max_cost_usd is not None:
            config["max_cost_usd"] = max_cost_usd
        config["retries"] = int(config.get("retries", 0)) + 1
        run.config, run.status, run.finished_at, run.error = config, RunStatus.RUNNING, None, None
    if max_cost_usd is not None:  # the config is committed: now the workers' copy of the cap
        budget.set_cap(client_app().backend.client, run_id, max_cost_usd)  # the result backend's Redis
    events.record(db, run_id, "user", "retry", datapoints=n, all_failed=all_failed, max_cost_usd=max_cost_usd)
    client_app().send_task(TASK_RETRY, args=[run_id], kwargs={"all_failed": all_failed})
    return RetryResult(run_id, int(n), RunStatus.RUNNING)
