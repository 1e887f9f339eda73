"""Submit and cancel runs: what the API, the CLI and the Python client call."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from shared.db.models import FINAL_RUN_STATUSES, Run
from shared.db.session import session_scope
from shared.errors import NotFound
from shared.queue import TASK_DISPATCH, client_app
from shared.runs.create import create_run
from shared.schemas import RunCreate, RunCreated


def enqueue(run_id: str) -> None:
    """Hand the run to the workers by task name (the API never imports worker code)."""
    client_app().send_task(TASK_DISPATCH, args=[run_id])


def submit(req: RunCreate, *, source: str | None = None) -> RunCreated:
    """Create the run in one transaction, then enqueue it. Raises InputError on bad input."""
    with session_scope() as s:
        run = create_run(s, req, source=source)
        created = RunCreated(run_id=run.id, status=run.status, n_total=run.n_total)
    try:
        enqueue(created.run_id)
    except Exception as exc:  # broker down: say so on the run instead of leaving it queued forever
        mark_enqueue_failed(created.run_id, f"could not enqueue the run: {exc}")
        raise
    return created


def mark_enqueue_failed(run_id: str, reason: str) -> bool:
    """The run could not be enqueued (by the API, or by the worker's dispatch): it ends ``failed``
    with the reason instead of staying queued or running forever. Only a run that is still queued
    or running changes; returns whether it did."""
    stmt = (
        update(Run)
        .where(Run.id == run_id, Run.status.in_(("queued", "running")))
        .values(status="failed", error=reason[:2000], finished_at=datetime.now(UTC))
        .returning(Run.id)
    )
    with session_scope() as s:
        return s.execute(stmt).first() is not None


def cancel(run_id: str) -> str:
    """Stop a run: workers skip its remaining datapoints; finalize keeps the status ``cancelled``."""
    with session_scope() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise NotFound(run_id)
        if run.status in FINAL_RUN_STATUSES:
            return run.status
        # finished_at is set by finalize, once the in-flight datapoints have settled
        s.execute(update(Run).where(Run.id == run_id).values(status="cancelled"))
    return "cancelled"
