"""Redis crashes and comes back. With an append-only file nothing is lost and the workers carry on.
Without persistence every queued message, the chord's counter and the workers' unacked messages
are gone: the sweeper notices the run no longer progresses while nothing of it is in the broker,
re-enqueues exactly the missing datapoints, and the run finishes."""

from __future__ import annotations

import time

import pytest

from tests.e2e.crash_support import forget_clients, one_row_each, point_at, submit_rows, wait_rows
from tests.e2e.http_support import configure, stats
from tests.helpers import wait_run
from tests.services import PrivateRedis
from tests.workers import worker_process

pytestmark = pytest.mark.e2e


@pytest.fixture(params=[False, True], ids=["without-persistence", "with-appendonly"])
def private_broker(request, http_env, tmp_path, monkeypatch):
    broker = PrivateRedis(tmp_path, persistent=request.param)
    broker.start()
    env = {
        **http_env,
        "LABRUN_REDIS_URL": broker.url,
        "LABRUN_SWEEP_STALL_S": "5",
        "LABRUN_SWEEP_INTERVAL_S": "2",
    }
    point_at(env, monkeypatch)
    yield broker, env
    broker.stop()
    forget_clients()


def test_a_redis_crash_and_restart_loses_nothing(private_broker, server, tmp_path):
    broker, env = private_broker
    configure(server, latency_s=0.3)
    n = 500
    with worker_process(env, concurrency=20, name="w", log=tmp_path / "w.log"):
        run_id = submit_rows(n, "redis")
        wait_rows(run_id, 80)
        broker.stop()  # without persistence: queued and unacked messages and the chord counter are gone
        broker.start()
        restarted_at = time.time()
        run = wait_run(run_id, timeout=120, settled=True)
    one_row_each(run_id, n)
    assert run.status == "succeeded"
    actions = [e["action"] for e in run.events]
    assert ("re-enqueued" in actions) != broker.persistent, run.events  # the sweeper only when lost
    extra = stats(server)["ok"] - n
    kind = "appendonly" if broker.persistent else "no persistence"
    after = run.finished_at.timestamp() - restarted_at
    print(f"\nRedis restart ({kind}): run finished {after:.1f}s after it; "
          f"{extra} calls paid twice; events: {actions}")  # fmt: skip
    assert extra <= 20
