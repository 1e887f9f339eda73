"""Start a run: one ``labrun.predict`` task per datapoint, closed by a chord whose body is
``labrun.finalize``. Results are not passed through the chord; finalize reads Postgres."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from celery import Celery, chord
from sqlalchemy import select, update

from shared.db.models import Datapoint, Prediction, Run
from shared.db.session import session_scope
from shared.queue import TASK_FINALIZE, TASK_PREDICT


def datapoint_ids(run_id: str, *, only_missing: bool = False) -> list[int]:
    with session_scope() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise LookupError(f"run {run_id} not found")
        q = (
            select(Datapoint.id)
            .where(Datapoint.dataset_id == run.dataset_id)
            .order_by(Datapoint.position)
            .limit(run.n_total)
        )
        ids = list(s.scalars(q))
        if only_missing:
            done = set(s.scalars(select(Prediction.datapoint_id).where(Prediction.run_id == run_id)))
            ids = [i for i in ids if i not in done]
        return ids


def mark_running(run_id: str) -> bool:
    """queued -> running; False if the run was already dispatched or is final (e.g. cancelled)."""
    with session_scope() as s:
        res = s.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == "queued")
            .values(status="running", started_at=datetime.now(UTC))
        )
        return bool(res.rowcount)


def send_chord(app: Celery, run_id: str, ids: Sequence[int]) -> str:
    header = [app.signature(TASK_PREDICT, args=(run_id, dp_id)) for dp_id in ids]
    body = app.signature(TASK_FINALIZE, args=(run_id,), immutable=True)
    if not header:
        return str(body.apply_async().id)
    return str(chord(header)(body).id)


def dispatch_run(app: Celery, run_id: str) -> int:
    """Enqueue the run's tasks once; returns how many were sent."""
    if not mark_running(run_id):
        return 0
    ids = datapoint_ids(run_id)
    send_chord(app, run_id, ids)
    return len(ids)
