"""The response cache and the hard budget with real worker processes against the fake LLM server
(OpenAI wire format, through the SDK): a run made again from the first run's snapshot sends no
request and reproduces its predictions and metrics; a run whose budget covers about 50 of its 300
calls stops calling there, skips the rest without a request and ends ``budget_exceeded``."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.e2e.http_support import configure, stats
from tests.helpers import catalog_rows, wait_run
from tests.workers import purge_queues, worker_process

pytestmark = pytest.mark.e2e

OPTIONS = {"max_candidates": 20}
SAME_ROW = ("status", "parsed", "correct", "raw_output", "details", "finish_reason", "error_type", "prompt_tokens",
            "completion_tokens", "latency_ms", "response_model", "system_fingerprint", "input_chars",
            "prompt_hash")  # fmt: skip
# what may differ between two metrics rows of the same answers: what this run paid, its own calls,
# its timing, and the cache's own counts
NOT_COMPARED = {"run_id", "cost_usd", "attempts_total", "throughput_per_s", "computed_at", "n_cache_hits",
                "cached_cost_usd"}  # fmt: skip


def _rows_and_metrics(run_id: str):
    from labrun.shared.storage.db.models import Datapoint, Metric, Prediction
    from labrun.shared.storage.db.session import session_scope

    with session_scope() as s:
        rows = {
            ext: p
            for p, ext in s.execute(
                select(Prediction, Datapoint.external_id).join(Datapoint, Datapoint.id == Prediction.datapoint_id)
                .where(Prediction.run_id == run_id)
            )
        }  # fmt: skip
        metrics = {m.segment: m for m in s.scalars(select(Metric).where(Metric.run_id == run_id))}
        s.expunge_all()
    return rows, metrics


def _from_snapshot(run_id: str):
    """The run again, from nothing but what the first one recorded: its config and its datapoints."""
    from labrun.shared.core.schemas import RunCreate
    from labrun.shared.storage.db.models import Datapoint, Run
    from labrun.shared.storage.db.session import session_scope

    with session_scope() as s:
        run = s.get(Run, run_id)
        cfg = run.config
        dps = s.scalars(
            select(Datapoint).where(Datapoint.dataset_id == run.dataset_id).order_by(Datapoint.position)
        )
        rows = [{"id": d.external_id, **d.inputs, "category": d.expected} for d in dps]
        tax = cfg["taxonomy"]
        return RunCreate(
            use_case=cfg["use_case"],
            model=run.model_alias,
            rows=rows,
            options={"taxonomy": {"source": "paths", "paths": tax["paths"], "name": tax["source"]},
                     "max_candidates": cfg["prompt"]["max_candidates"]},
            prompt={"system": cfg["prompt"]["system"], "user": cfg["prompt"]["user"]},
            max_tokens=cfg["max_tokens"], temperature=cfg["temperature"], seed=cfg["seed"], cache=cfg["cache"],
        )  # fmt: skip


def test_a_run_made_again_from_its_snapshot_sends_no_request_and_reproduces_it(
    labrun, http_env, server, tmp_path
):
    from labrun.shared.core.schemas import RunCreate
    from labrun.shared.runs.service import submit

    purge_queues(http_env["LABRUN_REDIS_URL"])
    configure(server, latency_s=0.05)
    rows = catalog_rows("amazon-toys-200.csv", n=100)  # distinct products: one request each
    with worker_process(http_env, concurrency=20, name="cache", log=tmp_path / "w.log"):
        first = wait_run(submit(RunCreate(model="open", rows=rows, options=OPTIONS)).run_id,
                         timeout=120, settled=True)  # fmt: skip
        first_requests = stats(server)["requests"]
        configure(server, latency_s=0.05)  # counts from zero
        second = wait_run(submit(_from_snapshot(first.id)).run_id, timeout=120, settled=True)
        second_requests = stats(server)["requests"]
    assert first.config["cache"] == "read-write"  # the default at temperature 0
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert first_requests == 100 and second_requests == 0
    a, ma = _rows_and_metrics(first.id)
    b, mb = _rows_and_metrics(second.id)
    assert set(a) == set(b) and len(a) == 100
    for ext, pa in a.items():
        pb = b[ext]
        assert [getattr(pb, c) for c in SAME_ROW] == [getattr(pa, c) for c in SAME_ROW], ext
        assert not pa.cache_hit and pb.cache_hit and pb.attempts == 0
        assert pa.cost_usd > 0 and pb.cost_usd == 0 and pb.cached_cost_usd == pa.cost_usd
        assert pa.system_fingerprint == "fp_fake"
    assert set(ma) == set(mb) and "all" in ma
    columns = [c.key for c in type(ma["all"]).__table__.columns if c.key not in NOT_COMPARED]
    for segment, m in ma.items():
        assert [getattr(mb[segment], c) for c in columns] == [getattr(m, c) for c in columns], segment
    assert mb["all"].cost_usd == 0 and mb["all"].cached_cost_usd == ma["all"].cost_usd > 0
    assert (ma["all"].n_cache_hits, mb["all"].n_cache_hits) == (0, 100)
    print(f"\ncache: first run {first_requests} requests, the same run again {second_requests}; "
          f"accuracy {ma['all'].accuracy:.3f} both, cost ${float(ma['all'].cost_usd):.6f} then $0")  # fmt: skip


def test_a_budget_stops_the_calls_across_workers_and_skips_the_rest(labrun, http_env, server, tmp_path):
    from labrun.shared.core.schemas import RunCreate
    from labrun.shared.runs.budget import budget_state
    from labrun.shared.runs.service import submit
    from tests.services import redis_client

    purge_queues(http_env["LABRUN_REDIS_URL"])
    configure(server, latency_s=0.3)
    base = catalog_rows("amazon-toys-200.csv")
    rows = [{**base[i % len(base)], "id": f"budget-{i}"} for i in range(300)]
    in_flight = 20  # two workers of 10
    with (
        worker_process(http_env, concurrency=10, name="ba", log=tmp_path / "a.log"),
        worker_process(http_env, concurrency=10, name="bb", log=tmp_path / "b.log"),
    ):
        # what a call costs here: the run's first 10 rows (limit: same taxonomy, same prompts), no cache
        probe = submit(RunCreate(model="open", rows=rows, limit=10, options=OPTIONS, cache="off"))
        probe = wait_run(probe.run_id, timeout=60, settled=True)
        probe_rows, _ = _rows_and_metrics(probe.id)
        per_call = sum(p.cost_usd for p in probe_rows.values()) / len(probe_rows)
        max_call = max(p.cost_usd for p in probe_rows.values())
        cap = float(per_call * 50)
        configure(server, latency_s=0.3)
        started = time.time()
        created = submit(RunCreate(model="open", rows=rows, options=OPTIONS, cache="off", max_cost_usd=cap))
        run = wait_run(created.run_id, timeout=120, settled=True)
        elapsed = time.time() - started
        st = stats(server)
    preds, metrics = _rows_and_metrics(run.id)
    called = [p for p in preds.values() if p.status != "skipped_budget"]
    skipped = [p for p in preds.values() if p.status == "skipped_budget"]
    spend = sum((p.cost_usd or Decimal(0)) for p in preds.values())
    assert run.status == "budget_exceeded" and len(preds) == 300
    assert spend <= Decimal(cap) + in_flight * max_call, (spend, cap)  # the stated bound
    assert spend > Decimal(cap) - 2 * max_call  # and the budget was used, not given up early
    assert 40 <= len(called) <= 60 and len(skipped) == 300 - len(called)
    assert all(p.attempts == 0 and p.cost_usd is None and p.raw_uri is None for p in skipped)
    assert st["requests"] == sum(p.attempts for p in called) == len(called)  # none for a skipped row
    m = metrics["all"]
    assert (m.n, m.n_skipped, m.errors_by_type) == (len(called), len(skipped), {})
    budget = budget_state(redis_client(http_env["LABRUN_REDIS_URL"]), run.id)
    assert budget.spent_usd == pytest.approx(float(spend), abs=1e-8) and budget.reserved_usd == 0
    used = f"spent ${float(spend):.6f} ({float(spend) / cap:.1%})"
    print(f"\nbudget: cap ${cap:.6f} (~50 calls), {used} on {len(called)} calls, {len(skipped)} skipped, "
          f"{st['requests']} requests; settled in {elapsed:.1f}s")  # fmt: skip
