"""``labrun retry RUN``: a run whose calls all failed with 5xx (every retry spent) is run again into
the same run once the provider is back: only its failed datapoints are called, the replaced raw
responses are kept, the metrics are recomputed and the run records the retry."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.e2e.crash_support import one_row_each, submit_rows
from tests.e2e.http_support import configure, stats
from tests.helpers import wait_run
from tests.workers import purge_queues, worker_process

pytestmark = pytest.mark.e2e


def test_retry_runs_the_failed_datapoints_again_into_the_same_run(labrun, http_env, server, tmp_path):
    from labrun.cli.main import app
    from labrun.shared.storage.artifacts import get_store
    from labrun.shared.storage.db.models import Metric
    from labrun.shared.storage.db.session import session_scope

    purge_queues(http_env["LABRUN_REDIS_URL"])
    n = 40
    with worker_process(http_env, concurrency=20, name="retry", log=tmp_path / "w.log"):
        configure(server, error_rate=1.0)  # every call answers 5xx: each datapoint spends its retries
        run_id = submit_rows(n, "retry")
        run = wait_run(run_id, timeout=120, settled=True)
        assert run.status == "failed" and run.n_failed == n
        failed_calls = stats(server)["requests"]
        why = CliRunner().invoke(app, ["errors", run_id])
        assert why.exit_code == 0 and "e.g. retry-" in why.output, why.output  # 500/503/529, grouped
        counts = [int(line.split()[0]) for line in why.output.splitlines() if line.strip()[:1].isdigit()]
        assert sum(counts) == n, why.output
        configure(server)  # the provider is back
        out = CliRunner().invoke(app, ["retry", run_id])
        assert out.exit_code == 0 and f"{n} datapoints queued again" in out.output, out.output
        run = wait_run(run_id, timeout=120, settled=True)
        assert run.status == "succeeded" and run.n_succeeded == n
        assert stats(server)["ok"] == n  # only the failed datapoints were called, once each
        again = CliRunner().invoke(app, ["retry", run_id])
        assert again.exit_code == 0 and "nothing to retry" in again.output
    one_row_each(run_id, n)
    assert failed_calls >= n * 2  # the first round did retry each call before giving up
    assert [e["action"] for e in run.events if e["actor"] == "user"] == ["retry"]
    assert run.config["retries"] == 1
    kept = list(get_store().keys(f"runs/{run_id}/raw-retry-1/"))
    assert len(kept) == n  # the replaced raw responses (the 5xx records) are kept
    with session_scope() as s:
        m = s.get(Metric, (run_id, "all"))
        assert m is not None and m.n_valid == n and m.errors_by_type == {}


def test_retry_refuses_a_running_run_and_names_an_unknown_one(labrun):
    from labrun.cli.main import app

    out = CliRunner().invoke(app, ["retry", "no-such-run"])
    assert out.exit_code == 2 and "no run 'no-such-run'" in out.output


def test_retry_with_a_higher_budget_continues_a_run_that_hit_its_budget(labrun, http_env, server, tmp_path):
    from labrun.cli.main import app
    from labrun.shared.core.schemas import RunCreate
    from labrun.shared.runs.service import submit
    from tests.helpers import catalog_rows

    purge_queues(http_env["LABRUN_REDIS_URL"])
    configure(server, latency_s=0.05)
    rows = [{**r, "id": f"cap-{i}"} for i, r in enumerate(catalog_rows("amazon-toys-200.csv", n=60))]
    with worker_process(http_env, concurrency=4, name="cap", log=tmp_path / "w.log"):
        probe = wait_run(submit(RunCreate(model="faults", rows=rows[:4], cache="off")).run_id, settled=True)
        per_call = float(probe.cost_usd) / 4
        run = wait_run(
            submit(RunCreate(model="faults", rows=rows, cache="off", max_cost_usd=per_call * 10)).run_id,
            timeout=120,
            settled=True,
        )
        assert run.status == "budget_exceeded" and run.n_succeeded < 60
        configure(server, latency_s=0.05)  # count this round's requests only
        out = CliRunner().invoke(app, ["retry", run.id, "--max-cost-usd", str(per_call * 1000)])
        assert out.exit_code == 0, out.output
        skipped = 60 - run.n_succeeded
        run = wait_run(run.id, timeout=120, settled=True)
        assert run.status == "succeeded" and run.n_succeeded == 60
        assert stats(server)["ok"] == skipped  # only the skipped datapoints were called
    one_row_each(run.id, 60)
    assert run.config["max_cost_usd"] == pytest.approx(per_call * 1000)
