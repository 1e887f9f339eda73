"""A 30 s Postgres outage in the middle of a run: tasks that meet it re-schedule themselves (the
answers they already stored are recorded without calling again), finalize retries, and the run
finishes with one row per datapoint."""

from __future__ import annotations

import time

import pytest

from tests.e2e.crash_support import forget_clients, one_row_each, point_at, submit_rows, wait_rows
from tests.e2e.http_support import configure, stats
from tests.helpers import wait_run
from tests.services import PrivatePostgres
from tests.workers import purge_queues, worker_process

pytestmark = pytest.mark.e2e
OUTAGE_S = 30


@pytest.fixture
def private_db(http_env, tmp_path, monkeypatch):
    pg = PrivatePostgres(tmp_path)
    pg.start()
    pg.migrate()
    env = {**http_env, "LABRUN_DATABASE_URL": pg.url}
    point_at(env, monkeypatch)
    yield pg, env
    pg.stop()
    forget_clients()


def test_a_30_s_postgres_outage_delays_the_run_and_loses_nothing(private_db, server, tmp_path):
    pg, env = private_db
    purge_queues(env["LABRUN_REDIS_URL"])
    configure(server, latency_s=0.3)
    n = 400
    with worker_process(env, concurrency=20, name="w", log=tmp_path / "w.log"):
        run_id = submit_rows(n, "pg")
        wait_rows(run_id, 60)
        pg.stop()
        time.sleep(OUTAGE_S)
        pg.start()
        back_at = time.time()
        run = wait_run(run_id, timeout=180, settled=True)
    one_row_each(run_id, n)
    assert run.status == "succeeded"  # nothing became an error row: the outage was retried
    extra = stats(server)["ok"] - n
    print(f"\nPostgres outage {OUTAGE_S}s: run finished {run.finished_at.timestamp() - back_at:.1f}s after it "
          f"came back; {extra} calls paid twice")  # fmt: skip
    assert extra <= 20
