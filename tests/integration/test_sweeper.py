"""The sweeper in-process against real Postgres and Redis: which runs it takes for stalled, what
it sends, what it records on the run, and that a run with a message in the broker is left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from celery import Celery
from sqlalchemy import insert, select, update

from labrun.shared.core.config import get_settings
from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs import lifecycle
from labrun.shared.runs.create import create_run
from labrun.shared.storage.artifacts import LocalStore
from labrun.shared.storage.broker import QUEUE_PREDICT, TASK_PREDICT
from labrun.shared.storage.db.models import Datapoint, Prediction, Run
from labrun.shared.storage.db.session import Database, session_scope
from labrun.worker import sweeper
from labrun.worker.broker_scan import runs_with_messages
from labrun.worker.context import WorkerContext
from labrun.worker.ratelimit import Limiter
from labrun.worker.retry import RetryPolicy
from tests.helpers import catalog_rows
from tests.services import PrivateRedis, redis_client

pytestmark = pytest.mark.integration
LONG_AGO = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def broker(tmp_path):
    """A private Redis: the sweeper reads the whole broker, so no other test's messages."""
    r = PrivateRedis(tmp_path)
    r.start()
    yield r
    r.stop()


@pytest.fixture
def ctx(settings_env, broker, tmp_path, monkeypatch):
    monkeypatch.setenv("LABRUN_SWEEP_STALL_S", "60")
    get_settings.cache_clear()
    db = Database.from_settings(get_settings())
    client = redis_client(broker.url)
    yield WorkerContext(
        get_settings(), db, client, LocalStore(tmp_path), Limiter(client, prefix="t"), RetryPolicy()
    )
    db.dispose()


def run_with_rows(n: int, done: int, *, offset: int = 0) -> str:
    with session_scope() as s:
        run = create_run(s, RunCreate(model="fake", rows=catalog_rows(n=n + offset)[offset:]))
        lifecycle.start(s, run.id)
        ids = list(s.scalars(select(Datapoint.id).where(Datapoint.dataset_id == run.dataset_id)))
        run_id = run.id
    with session_scope() as s:
        s.execute(update(Run).where(Run.id == run_id).values(started_at=LONG_AGO, created_at=LONG_AGO))
        if done:
            rows = [{"run_id": run_id, "datapoint_id": i, "status": "succeeded", "attempts": 1,
                     "started_at": LONG_AGO, "finished_at": LONG_AGO} for i in ids[:done]]  # fmt: skip
            s.execute(insert(Prediction), rows)
    return run_id


def recorder() -> tuple[sweeper.Senders, list[tuple[str, str]]]:
    sent: list[tuple[str, str]] = []
    return sweeper.Senders(
        dispatch=lambda r: sent.append(("dispatch", r)),
        finalize=lambda r: sent.append(("finalize", r)),
        missing=lambda r: sent.append(("missing", r)) or 7,
    ), sent


def events_of(run_id: str) -> list[dict]:
    with session_scope() as s:
        return s.get(Run, run_id).events


def test_stalled_runs_are_completed_and_the_action_recorded(ctx):
    missing, complete = run_with_rows(5, 2), run_with_rows(3, 3, offset=5)
    send, sent = recorder()
    sweeper.sweep(ctx, send)  # (other tests' old runs in this database may be swept too)
    mine = sorted(x for x in sent if x[1] in (missing, complete))
    assert mine == sorted([("missing", missing), ("finalize", complete)])
    (event,) = events_of(missing)
    assert (event["actor"], event["action"], event["datapoints"]) == ("sweeper", "re-enqueued", 7)
    assert events_of(complete)[0]["action"] == "sent finalize"
    assert sweeper.sweep(ctx, send) == []  # one sweeper per interval: the lock is held


def test_a_run_with_a_message_in_the_broker_is_waiting_not_stalled(ctx, broker):
    run_id = run_with_rows(4, 1, offset=8)
    app = Celery("probe", broker=broker.url)
    app.send_task(TASK_PREDICT, args=[run_id, 1], queue=QUEUE_PREDICT)
    app.close()
    assert runs_with_messages(ctx.redis, {run_id, "other"}) == {run_id}
    send, sent = recorder()
    sweeper.sweep(ctx, send)
    assert all(r != run_id for _, r in sent) and events_of(run_id) == []


def test_recent_progress_is_not_a_stall(ctx):
    run_id = run_with_rows(4, 0, offset=12)
    with session_scope() as s:
        s.execute(update(Run).where(Run.id == run_id).values(started_at=datetime.now(UTC)))
    send, sent = recorder()
    sweeper.sweep(ctx, send)
    assert all(r != run_id for _, r in sent)
