"""A run's hard budget, in-process against real Redis and Postgres: the reserve / correct protocol,
the spend's bound under concurrent callers, seeding from the rows, a raised cap, and the predict
loop's skipped rows (no call, no limiter grant) settling the run ``budget_exceeded``."""

from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy import insert, select

from labrun.shared.core.config import get_settings
from labrun.shared.core.failures import ProviderError
from labrun.shared.runs.budget import budget_state, forget, set_cap
from labrun.shared.storage.artifacts import LocalStore
from labrun.shared.storage.db.models import Metric, Prediction, Run
from labrun.shared.storage.db.session import Database, session_scope
from labrun.shared.usecases.base import DatapointIn
from labrun.worker.budget import EXHAUSTED, GRANTED, WAIT, Budget
from labrun.worker.finalize import finalize_run
from labrun.worker.jobs import TaskState
from labrun.worker.predict import predict_datapoint
from labrun.worker.ratelimit import scope_key
from tests.integration.predict_world import World, rows_of

pytestmark = pytest.mark.integration
ACTUAL = (100 * 0.15 + 5 * 0.60) / 1e6  # what one scripted call costs at the fake alias's prices


@pytest.fixture
def world(settings_env, redis_conn, tmp_path):
    db = Database.from_settings(get_settings())
    yield World(db, redis_conn, LocalStore(tmp_path / "store"))
    db.dispose()


def test_reserve_grants_then_waits_for_calls_in_flight_then_is_exhausted(world):
    run_id, _ = world.run(max_cost_usd=1.0, cache="off")
    b = Budget(world.redis, world.db)
    r1, r2, r3 = (b.reserve(run_id, 0.3, lease_s=60) for _ in range(3))
    assert [r.outcome for r in (r1, r2, r3)] == [GRANTED] * 3 and r3.reserved_usd == pytest.approx(0.9)
    r4 = b.reserve(run_id, 0.3, lease_s=60)
    assert r4.outcome == WAIT  # 0.9 in flight: whether 0.3 more fits depends on what they cost
    b.settle(run_id, r1, 0.1)  # estimates are upper bounds: the call cost less
    r4 = b.reserve(run_id, 0.3, lease_s=60)
    assert r4.outcome == GRANTED and r4.spent_usd == pytest.approx(0.1)
    for r in (r2, r3, r4):
        b.settle(run_id, r, 0.3)
    state = budget_state(world.redis, run_id)
    assert (state.cap_usd, state.spent_usd, state.reserved_usd) == pytest.approx((1.0, 1.0, 0.0))
    r5 = b.reserve(run_id, 1e-6, lease_s=60)
    assert r5.outcome == EXHAUSTED and "cap" in r5.explain()


def test_a_raised_cap_is_seen_at_the_next_call(world):
    run_id, _ = world.run(max_cost_usd=0.5, cache="off")
    b = Budget(world.redis, world.db)
    b.settle(run_id, b.reserve(run_id, 0.5, lease_s=60), 0.5)
    assert b.reserve(run_id, 0.1, lease_s=60).outcome == EXHAUSTED
    assert set_cap(world.redis, run_id, 2.0)
    assert b.reserve(run_id, 0.1, lease_s=60).outcome == GRANTED
    assert not set_cap(world.redis, "no-such-run", 1.0)  # nothing in Redis: seeded from the config later


def test_a_cap_raised_only_in_the_config_is_read_before_a_datapoint_is_skipped(world):
    run_id, _ = world.run(max_cost_usd=0.5, cache="off")
    b = Budget(world.redis, world.db)
    b.settle(run_id, b.reserve(run_id, 0.5, lease_s=60), 0.5)
    with session_scope() as s:  # what labrun retry --max-cost-usd writes
        run = s.get(Run, run_id)
        run.config = {**run.config, "max_cost_usd": 0.75}
    r = b.reserve(run_id, 0.1, lease_s=60)
    assert r.outcome == GRANTED and r.cap_usd == pytest.approx(0.75)


def test_a_missing_budget_is_seeded_from_the_config_and_the_rows(world):
    run_id, ids = world.run(max_cost_usd=1.0, cache="off")
    with session_scope() as s:
        s.execute(insert(Prediction), [{"run_id": run_id, "datapoint_id": i, "status": "succeeded", "attempts": 1,
                                        "cost_usd": 0.25} for i in ids[:2]])  # fmt: skip
    b = Budget(world.redis, world.db)
    r = b.reserve(run_id, 0.4, lease_s=60)
    assert r.outcome == GRANTED and r.spent_usd == pytest.approx(0.5)
    forget(world.redis, run_id)  # e.g. Redis restarted without persistence
    b.settle(run_id, r, 0.4)  # its hash is gone: not recreated with only this call in it
    assert budget_state(world.redis, run_id) is None
    assert b.reserve(run_id, 0.6, lease_s=60).outcome == EXHAUSTED  # reseeded: 0.5 spent by the rows


def test_a_dead_worker_s_reservation_expires(world):
    run_id, _ = world.run(max_cost_usd=1.0, cache="off")
    b = Budget(world.redis, world.db)
    assert b.reserve(run_id, 0.9, lease_s=0.2).outcome == GRANTED  # never settled: its worker died
    assert b.reserve(run_id, 0.5, lease_s=60).outcome == WAIT
    time.sleep(0.3)
    assert b.reserve(run_id, 0.5, lease_s=60).outcome == GRANTED
    assert budget_state(world.redis, run_id).reserved_usd == pytest.approx(0.5)


@pytest.mark.parametrize("worst", [1.0, 1.5])
def test_concurrent_spend_overshoots_only_by_what_calls_in_flight_cost_beyond_their_estimate(world, worst):
    """20 callers; each call costs up to ``worst`` x its estimate (> 1: the input estimate was low)."""
    cap, est, threads = 0.05, 0.001, 20
    run_id, _ = world.run(max_cost_usd=cap, cache="off")
    paid: list[float] = []
    lock = threading.Lock()

    def caller() -> None:
        b = Budget(world.redis, world.db)
        rng = random.Random(threading.get_ident())
        while True:
            r = b.reserve_within(run_id, est, lease_s=60, max_wait_s=10, sleep=time.sleep)
            if r.outcome != GRANTED:
                assert r.outcome == EXHAUSTED
                return
            time.sleep(rng.uniform(0.001, 0.01))  # the call
            cost = est * rng.uniform(0.2, worst)
            b.settle(run_id, r, cost)
            with lock:
                paid.append(cost)

    workers = [threading.Thread(target=caller) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(60)
    spent = budget_state(world.redis, run_id).spent_usd
    assert spent == pytest.approx(sum(paid), abs=1e-8)
    in_flight_excess = threads * est * (worst - 1)  # the bound: what in-flight calls cost beyond estimates
    assert cap - est < spent <= cap + in_flight_excess + 1e-9, (spent, len(paid))
    print(
        f"\nworst {worst}: {len(paid)} calls, spent {spent:.6f} of cap {cap} (bound {cap + in_flight_excess:.4f})"
    )


def _estimates(world: World, run_id: str, ids: list[int]) -> list[float]:
    """Each datapoint's reservation, computed as the predict loop does."""
    ctx = world.ctx()
    plan = ctx.plan(run_id)
    provider = ctx.provider(plan.spec)
    out = []
    with session_scope() as s:
        from labrun.shared.storage.db.models import Datapoint

        for dp in s.scalars(select(Datapoint).where(Datapoint.id.in_(ids)).order_by(Datapoint.position)):
            request = plan.prepared.request(
                DatapointIn(dp.external_id, dp.inputs, dp.expected), plan.params
            ).request
            out.append(plan.spec.cost_usd(provider.estimate_tokens(request.text()), request.max_tokens))
    return out


def test_what_the_budget_cannot_cover_is_skipped_without_a_call_and_the_run_ends_budget_exceeded(world):
    probe, ids = world.run(cache="off", start=False)
    e1, e2, e3 = _estimates(world, probe, ids)
    cap = max(e1, ACTUAL + e2)  # room for two calls; the third would pass it
    assert 2 * ACTUAL + e3 > cap
    run_id, _ = world.run(cache="off", max_cost_usd=cap)
    ctx = world.ctx()
    for dp in ids:
        assert predict_datapoint(ctx, run_id, dp, TaskState(), "h").done
    assert len(world.calls) == 2 and ctx.limiter.grants == 2  # the skipped one took no grant
    rows = rows_of(run_id)
    skipped = rows[ids[2]]
    assert [rows[i].status for i in ids] == ["succeeded", "succeeded", "skipped_budget"]
    assert (skipped.attempts, skipped.error_type, skipped.raw_uri, skipped.cost_usd) == (0, None, None, None)
    assert "budget" in skipped.error_message and skipped.input_chars > 0 and skipped.prompt_hash
    assert finalize_run(ctx, run_id, redispatch=pytest.fail).status == "budget_exceeded"
    with session_scope() as s:
        run = s.get(Run, run_id)
        m = s.scalars(select(Metric).where(Metric.run_id == run_id, Metric.segment == "all")).one()
        assert run.status == "budget_exceeded" and "1 datapoints skipped" in run.error
        assert (m.n, m.n_valid, m.n_skipped, m.coverage, m.errors_by_type) == (2, 2, 1, 1.0, {})
        assert float(m.cost_usd) == pytest.approx(2 * ACTUAL)
    assert budget_state(world.redis, run_id).spent_usd == pytest.approx(2 * ACTUAL)


def test_a_call_whose_share_depends_on_calls_in_flight_is_rescheduled_not_skipped(world):
    run_id, ids = world.run(cache="off", max_cost_usd=1e-3)
    b = Budget(world.redis, world.db)
    foreign = b.reserve(run_id, 9.9e-4, lease_s=60)  # another worker's call in flight
    ctx = world.ctx()
    state = TaskState()
    out = predict_datapoint(ctx, run_id, ids[0], state, "h")
    assert not out.done and out.delay_s > 0 and world.calls == [] and rows_of(run_id) == {}
    assert sum(world.sleeps) >= get_settings().inline_wait_max_s  # polled inline first
    b.settle(run_id, foreign, 1e-5)  # it cost little
    assert predict_datapoint(ctx, run_id, ids[0], state, "h").done
    assert rows_of(run_id)[ids[0]].status == "succeeded"


def test_failed_attempts_and_refused_grants_give_their_reservation_back(world):
    run_id, ids = world.run(cache="off", max_cost_usd=1.0)
    ctx = world.ctx([ProviderError("server_error", "boom", status_code=500)])
    assert predict_datapoint(ctx, run_id, ids[0], TaskState(), "h").done
    state = budget_state(world.redis, run_id)
    assert (state.spent_usd, state.reserved_usd) == pytest.approx((ACTUAL, 0.0))  # the answer only
    spec = ctx.plan(run_id).spec
    ctx.limiter.cooldown(scope_key(spec, ctx.provider(spec).key_fingerprint()), 60)  # a long 429 cool-down
    assert not predict_datapoint(ctx, run_id, ids[1], TaskState(), "h").done
    assert budget_state(world.redis, run_id).reserved_usd == 0
