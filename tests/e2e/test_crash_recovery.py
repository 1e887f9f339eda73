"""Workers die: a SIGKILLed worker's datapoints run again within seconds (not at the broker's
one-hour visibility timeout), a graceful SIGTERM hands prefetched tasks back at once, and a run
whose only worker died finishes when the next worker starts. Each checks exactly one row per
datapoint, the run finished, and calls paid at most once more than rows (a call in flight at the
kill may be answered to a dead worker)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.e2e.crash_support import one_row_each, submit_rows, wait_rows
from tests.e2e.http_support import configure, stats
from tests.helpers import prediction_count, wait_run
from tests.workers import purge_queues, stop, worker_process

pytestmark = pytest.mark.e2e
CONCURRENCY = 20


def test_a_sigkilled_worker_s_datapoints_run_again_within_60_s(labrun, http_env, server, tmp_path):
    purge_queues(http_env["LABRUN_REDIS_URL"])
    configure(server, latency_s=0.4)
    n = 800
    with (
        worker_process(http_env, concurrency=CONCURRENCY, name="doomed", log=tmp_path / "a.log") as doomed,
        worker_process(http_env, concurrency=CONCURRENCY, name="survivor", log=tmp_path / "b.log"),
    ):
        run_id = submit_rows(n, "kill1")
        wait_rows(run_id, 150)
        stop(doomed, kill=True)
        killed_at = time.time()
        run = wait_run(run_id, timeout=90, settled=True)
        recovery_s = run.finished_at.timestamp() - killed_at
    one_row_each(run_id, n)
    assert run.status == "succeeded" and recovery_s <= 60, recovery_s
    extra_calls = stats(server)["ok"] - n
    assert 0 <= extra_calls <= CONCURRENCY, extra_calls  # only calls in flight at the kill
    print(f"\nSIGKILL: run finished {recovery_s:.1f}s after the kill; {extra_calls} calls paid twice")


def test_a_run_whose_only_worker_died_finishes_when_the_next_one_starts(labrun, http_env, server, tmp_path):
    purge_queues(http_env["LABRUN_REDIS_URL"])
    configure(server, latency_s=0.4)
    n = 300
    with worker_process(http_env, concurrency=CONCURRENCY, name="only", log=tmp_path / "a.log") as only:
        run_id = submit_rows(n, "kill2")
        wait_rows(run_id, 60)
        stop(only, kill=True)
    done_before = prediction_count(run_id)
    assert done_before < n
    started = time.time()
    with worker_process(http_env, concurrency=CONCURRENCY, name="next", log=tmp_path / "b.log"):
        run = wait_run(run_id, timeout=90, settled=True)
    one_row_each(run_id, n)
    assert run.status == "succeeded"
    print(
        f"\nall killed: finished {run.finished_at.timestamp() - started:.1f}s after the next worker started"
    )


def test_sigterm_finishes_in_flight_calls_and_hands_back_the_rest(labrun, http_env, server, tmp_path):
    purge_queues(http_env["LABRUN_REDIS_URL"])
    configure(server, latency_s=0.4)
    n = 600
    with (
        worker_process(http_env, concurrency=CONCURRENCY, name="leaving", log=tmp_path / "a.log") as leaving,
        worker_process(http_env, concurrency=CONCURRENCY, name="staying", log=tmp_path / "b.log"),
    ):
        run_id = submit_rows(n, "term")
        wait_rows(run_id, 100)
        os.killpg(leaving.pid, signal.SIGTERM)
        termed_at = time.time()
        leaving.wait(30)  # warm shutdown: in-flight calls finish first
        run = wait_run(run_id, timeout=90, settled=True)
    one_row_each(run_id, n)
    assert run.status == "succeeded"
    assert stats(server)["ok"] == n  # nothing paid twice
    print(f"\nSIGTERM: run finished {run.finished_at.timestamp() - termed_at:.1f}s after the signal")
