"""Start a run: one ``labrun.predict`` task per datapoint, closed by a chord whose body is
``labrun.finalize``. Results are not passed through the chord; finalize reads Postgres."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from celery import Celery
from redis import Redis
from sqlalchemy import select

from shared.db.models import Datapoint, Prediction, Run
from shared.db.session import session_scope
from shared.queue import TASK_FINALIZE, TASK_PREDICT
from worker.chords import publish_chord


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


def mark_running(run_id: str) -> str | None:
    """queued -> running. Returns the status the run had, or None if it does not exist."""
    with session_scope() as s:
        run = s.get(Run, run_id, with_for_update=True)
        if run is None:
            return None
        before = run.status
        if before == "queued":
            run.status, run.started_at = "running", datetime.now(UTC)
        return before


def send_chord(app: Celery, run_id: str, ids: Iterable[int]) -> str:
    """One ``labrun.predict`` per datapoint, closed by ``labrun.finalize``.

    The header's results are not stored (``ignore_result``): predict returns nothing and rows live
    in Postgres. The Redis backend still counts each header task towards the chord."""
    header = [app.signature(TASK_PREDICT, args=(run_id, dp_id), ignore_result=True) for dp_id in ids]
    body = app.signature(TASK_FINALIZE, args=(run_id,), immutable=True)
    return publish_chord(app, header, body)


def dispatched_key(run_id: str) -> str:
    return f"labrun:dispatched:{run_id}"


def dispatch_run(app: Celery, run_id: str, redis_client: Redis) -> int:
    """Enqueue the run's tasks once; returns how many were sent.

    A re-delivered dispatch (the worker died while sending) finds the run ``running`` without the
    "dispatched" mark and sends the chord again: datapoints already done are skipped by predict.
    """
    before = mark_running(run_id)
    if before not in ("queued", "running", "cancelled") or redis_client.exists(dispatched_key(run_id)):
        return 0
    ids = [] if before == "cancelled" else datapoint_ids(run_id)  # cancelled early: just finalize
    send_chord(app, run_id, ids)
    redis_client.set(dispatched_key(run_id), 1, ex=30 * 24 * 3600)
    return len(ids)
