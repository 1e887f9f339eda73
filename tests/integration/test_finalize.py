"""Finalize's branches in-process: wait for stragglers, re-dispatch what is missing (bounded),
then settle succeeded / partial / failed (none valid) / cancelled, with metrics by SQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from labrun.shared.core.config import get_settings
from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs import lifecycle
from labrun.shared.runs.create import create_run
from labrun.shared.storage.artifacts import LocalStore
from labrun.shared.storage.db.models import Datapoint, Metric, Prediction, Run
from labrun.shared.storage.db.session import Database, session_scope
from labrun.worker.context import WorkerContext
from labrun.worker.finalize import MAX_REDISPATCH_ROUNDS, POLL_S, finalize_run
from labrun.worker.ratelimit import Limiter
from labrun.worker.retry import RetryPolicy
from tests.helpers import catalog_rows

pytestmark = pytest.mark.integration


@pytest.fixture
def ctx(settings_env, redis_conn, tmp_path):
    db = Database.from_settings(get_settings())
    yield WorkerContext(
        settings=get_settings(),
        db=db,
        redis=redis_conn,
        store=LocalStore(tmp_path),
        limiter=Limiter(redis_conn, prefix=f"test:{uuid.uuid4().hex}"),
        retry=RetryPolicy(),
    )
    db.dispose()


def new_run(n: int = 4, rows_offset: int = 0) -> tuple[str, list[int]]:
    rows = catalog_rows(n=n + rows_offset)[rows_offset:]
    with session_scope() as s:
        run = create_run(s, RunCreate(model="fake", rows=rows, options={"taxonomy": {"source": "labels"}}))
        lifecycle.start(s, run.id)
        ids = list(
            s.scalars(
                select(Datapoint.id)
                .where(Datapoint.dataset_id == run.dataset_id)
                .order_by(Datapoint.position)
            )
        )
        return run.id, ids


def add_rows(run_id: str, ids: list[int], status: str, *, finished_ago_s: float = 3600) -> None:
    at = datetime.now(UTC) - timedelta(seconds=finished_ago_s)
    values = [
        {"run_id": run_id, "datapoint_id": i, "status": status, "attempts": 1, "correct": status == "succeeded",
         "parsed": "x", "expected": "x", "started_at": at, "finished_at": at, "cost_usd": 0.001,
         "error_type": None if status == "succeeded" else "server_error"}
        for i in ids
    ]  # fmt: skip
    with session_scope() as s:
        s.execute(insert(Prediction), values)


def status_of(run_id: str) -> tuple[str, str | None, bool]:
    with session_scope() as s:
        run = s.get(Run, run_id)
        return run.status, run.error, run.finished_at is not None


def test_all_valid_settles_succeeded_with_metrics(ctx):
    run_id, ids = new_run()
    add_rows(run_id, ids, "succeeded")
    assert finalize_run(ctx, run_id, redispatch=pytest.fail).status == "succeeded"
    assert status_of(run_id) == ("succeeded", None, True)
    with session_scope() as s:
        run = s.get(Run, run_id)
        assert (run.n_succeeded, run.n_failed) == (4, 0) and float(run.cost_usd) == pytest.approx(0.004)
        m = s.scalars(select(Metric).where(Metric.run_id == run_id, Metric.segment == "all")).one()
        assert (m.n, m.n_valid, m.coverage) == (4, 4, 1.0)


def test_some_valid_is_partial_and_none_valid_is_failed(ctx):
    partial, ids = new_run()
    add_rows(partial, ids[:1], "succeeded")
    add_rows(partial, ids[1:], "failed")
    assert finalize_run(ctx, partial, redispatch=pytest.fail).status == "partial"
    failed, ids = new_run(rows_offset=10)
    add_rows(failed, ids, "failed")
    assert finalize_run(ctx, failed, redispatch=pytest.fail).status == "failed"
    assert status_of(failed)[0] == "failed"


def test_missing_rows_wait_while_recent_then_redispatch_then_settle_with_the_loss(ctx):
    run_id, ids = new_run()
    add_rows(run_id, ids[:3], "succeeded", finished_ago_s=1)  # one datapoint still in flight
    sent: list[str] = []
    first = finalize_run(ctx, run_id, redispatch=sent.append)
    assert (first.status, first.wait_s, sent) == (None, POLL_S, [])  # within the grace period
    with session_scope() as s:
        s.execute(update(Prediction).where(Prediction.run_id == run_id).values(
            finished_at=datetime.now(UTC) - timedelta(hours=1)))  # fmt: skip
    for _ in range(MAX_REDISPATCH_ROUNDS):
        assert finalize_run(ctx, run_id, redispatch=sent.append).status == "redispatched"
    assert sent == [run_id] * MAX_REDISPATCH_ROUNDS
    assert finalize_run(ctx, run_id, redispatch=sent.append).status == "partial"
    status, error, finished = status_of(run_id)
    assert (
        finished
        and error == f"1 datapoints have no prediction row after {MAX_REDISPATCH_ROUNDS} re-dispatches"
    )


def test_a_cancelled_run_stays_cancelled_and_is_not_redispatched(ctx):
    run_id, ids = new_run()
    add_rows(run_id, ids[:2], "succeeded")
    lifecycle.cancel(run_id)
    assert finalize_run(ctx, run_id, redispatch=pytest.fail).status == "cancelled"
    assert status_of(run_id) == ("cancelled", None, True)
