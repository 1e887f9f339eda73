"""Runs share the workers: a small run submitted during a big one advances at its share instead of
waiting behind it, and cancelling the big run stops its calls at once, leaving no backlog."""

from __future__ import annotations

import time

import pytest

from tests.e2e.crash_support import one_row_each, submit_rows, wait_rows
from tests.e2e.http_support import configure, stats
from tests.helpers import prediction_count, wait_run
from tests.workers import purge_queues, worker_process

pytestmark = pytest.mark.e2e


def test_a_small_run_is_not_stuck_behind_a_big_one_and_cancel_leaves_no_backlog(
    labrun, http_env, server, tmp_path
):
    from labrun.shared.runs.service import cancel

    purge_queues(http_env["LABRUN_REDIS_URL"])
    configure(server, latency_s=0.2)
    with worker_process(http_env, concurrency=20, name="fair", log=tmp_path / "w.log"):
        big = submit_rows(3000, "big")  # about 100 rows/s here: half a minute alone
        wait_rows(big, 100)
        submitted = time.time()
        small = submit_rows(30, "small")
        done = wait_run(small, timeout=60, settled=True)
        small_s = done.finished_at.timestamp() - submitted
        big_rows_then = prediction_count(big)
        assert big_rows_then < 3000, "the big run finished first: nothing was shared"
        cancel(big)
        cancelled_at = time.time()
        deadline = cancelled_at + 5
        while stats(server)["in_flight"] and time.time() < deadline:
            time.sleep(0.05)
        calls_stopped_s = time.time() - cancelled_at
        after_cancel = submit_rows(30, "after")
        submitted2 = time.time()
        done2 = wait_run(after_cancel, timeout=60, settled=True)
        after_s = done2.finished_at.timestamp() - submitted2
        big_run = wait_run(big, timeout=30, settled=True)
    one_row_each(small, 30)
    one_row_each(after_cancel, 30)
    assert big_run.status == "cancelled" and big_run.finished_at is not None
    assert small_s < 15 and after_s < 10 and calls_stopped_s < 5, (small_s, after_s, calls_stopped_s)
    print(f"\nsmall run during a big one: {small_s:.1f}s; big run's calls stopped {calls_stopped_s:.1f}s "
          f"after cancel; a run after the cancel: {after_s:.1f}s; big run rows: {prediction_count(big)}")  # fmt: skip
