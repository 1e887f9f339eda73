"""One worker process keeps at least 100 provider calls in flight (threads pool)."""

from __future__ import annotations

import pytest

from tests.e2e.http_support import configure, run_rows, stats
from tests.workers import purge_queues, worker_process

pytestmark = pytest.mark.e2e


def test_one_worker_process_keeps_100_calls_in_flight(labrun, http_env, server, tmp_path):
    purge_queues(http_env["LABRUN_REDIS_URL"])
    # calls long enough that the releaser's top-up (its first window may be the minimum, 64, before
    # the worker's liveness is known) lands while the first calls are still in flight
    configure(server, latency_s=3.0)
    with worker_process(http_env, concurrency=100, name="solo", log=tmp_path / "w.log"):
        run, preds = run_rows("open", 200)
    st = stats(server)
    assert run.status == "succeeded" and st["ok"] == 200
    assert len({p.worker_hostname for p in preds}) == 1
    assert st["peak_in_flight"] >= 95, st  # 100 threads; a few may be between calls
