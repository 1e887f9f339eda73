"""Windowed release in-process against real Postgres and a private Redis broker: the queue stays at
most ``target`` deep, free places are split equally between runs, header messages belong to the
run's chord, a finished or cancelled run leaves (a cancelled one gets its finalize); a warm run is
answered from the response cache at dispatch and only the rest is queued."""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from labrun.shared.core.config import get_settings
from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs import lifecycle
from labrun.shared.runs.create import create_run
from labrun.shared.storage.artifacts import LocalStore
from labrun.shared.storage.broker import QUEUE_CONTROL, QUEUE_PREDICT, make_celery
from labrun.shared.storage.db.models import Prediction, Run
from labrun.shared.storage.db.session import Database, session_scope
from labrun.shared.storage.raw_batches import read_raw
from labrun.worker import cache_helper, cache_prefill, cache_share, liveness, release
from labrun.worker.broker_scan import run_of
from labrun.worker.context import WorkerContext
from labrun.worker.dispatch import datapoint_ids, dispatch_run
from labrun.worker.jobs import TaskState
from labrun.worker.predict import predict_datapoint
from labrun.worker.ratelimit import Limiter
from labrun.worker.retry import RetryPolicy
from tests.helpers import catalog_rows
from tests.services import PrivateRedis, redis_client

pytestmark = pytest.mark.integration


@pytest.fixture
def world(settings_env, tmp_path, monkeypatch):
    broker = PrivateRedis(tmp_path)
    broker.start()
    monkeypatch.setenv("LABRUN_REDIS_URL", broker.url)
    get_settings.cache_clear()
    db = Database.from_settings(get_settings())
    client = redis_client(broker.url)
    app = make_celery("test-release")
    ctx = WorkerContext(
        get_settings(), db, client, LocalStore(tmp_path), Limiter(client, prefix="t"), RetryPolicy()
    )
    liveness.beat(client, "worker-1", 10)  # one live worker of concurrency 10: target = max(64, 20)
    yield ctx, app
    app.close()
    db.dispose()
    broker.stop()


def new_run(n: int, offset: int) -> str:
    with session_scope() as s:
        return create_run(s, RunCreate(model="fake", rows=catalog_rows(n=n + offset)[offset:])).id


def queued(client, queue: str = QUEUE_PREDICT) -> Counter[str]:
    return Counter(run_of(m) for m in client.lrange(queue, 0, -1))


def consume(client, n: int) -> None:
    for _ in range(n):
        client.rpop(QUEUE_PREDICT)


def test_fair_shares_bounded_queue_and_the_chord(world):
    ctx, app = world
    big, small = new_run(200, 0), new_run(10, 200)
    assert dispatch_run(ctx, app, big) == 200
    assert queued(ctx.redis) == {big: release.MIN_TARGET}  # one window, not the whole run
    assert dispatch_run(ctx, app, small) == 10
    assert queued(ctx.redis)[small] == 0  # the queue is full: the small run waits for free places
    consume(ctx.redis, 40)
    assert release.tick(ctx, app) == {big: 20, small: 10}  # 40 free places, split equally
    assert not release.is_active(ctx.redis, small)  # all of it released
    messages = [json.loads(m) for m in ctx.redis.lrange(QUEUE_PREDICT, 0, -1)]
    groups = {run_of(json.dumps(m)): m["headers"]["group"] for m in messages}
    embeds = [json.loads(base64.b64decode(m["body"]))[2] for m in messages]
    assert {e["chord"]["args"][0] for e in embeds} == {big, small} and len(set(groups.values())) == 2
    positions = sorted(m["headers"]["group_index"] for m in messages if run_of(json.dumps(m)) == big)
    assert positions == list(range(40, 84))  # dataset order, nothing twice (0..39 consumed)


@pytest.mark.parametrize("returned", [0, 64])
def test_a_cancelled_run_stops_being_released_and_its_chord_is_cut_down(world, returned):
    ctx, app = world
    run_id = new_run(100, 10 + returned)
    dispatch_run(ctx, app, run_id)  # 64 released
    group = ctx.redis.hget(release.state_key(run_id), "group").decode()
    lifecycle.cancel(run_id)
    consume(ctx.redis, 64)
    for i in range(returned):  # those 64 tasks ran and reported to the chord
        ctx.redis.setbit(app.backend.get_key_for_group(group, ".d"), i, 1)
    assert release.tick(ctx, app) == {}
    assert not release.is_active(ctx.redis, run_id) and ctx.redis.llen(QUEUE_PREDICT) == 0
    assert int(ctx.redis.get(app.backend.get_key_for_group(group, ".s"))) == 64  # cut to what was released
    # all released parts reported: nothing will fire the body, so the releaser sends finalize itself
    assert queued(ctx.redis, QUEUE_CONTROL)[run_id] == (1 if returned == 64 else 0)
    with session_scope() as s:
        assert s.scalar(select(Run.status).where(Run.id == run_id)) == "cancelled"


def answer_in_process(ctx, run_id: str, n: int | None = None) -> None:
    """Run the first ``n`` datapoints of ``run_id`` through predict here (the fake model): fills
    the cache."""
    for dp in datapoint_ids(ctx, run_id)[:n]:
        assert predict_datapoint(ctx, run_id, dp, TaskState(), "h").done


def rows(run_id: str) -> list[Prediction]:
    with session_scope() as s:
        return list(s.scalars(select(Prediction).where(Prediction.run_id == run_id)))


def test_a_warm_run_is_answered_from_the_cache_at_dispatch_and_only_the_rest_is_queued(world):
    ctx, app = world
    answer_in_process(ctx, new_run(150, 0), 100)  # the first 100 rows' answers are in the cache
    run_id = new_run(150, 0)
    assert dispatch_run(ctx, app, run_id) == 150
    done = rows(run_id)
    assert len(done) == 100 and all(r.cache_hit and r.cost_usd == 0 and r.attempts == 0 for r in done)
    raws = [read_raw(ctx.store, r.raw_uri) for r in done]  # raw records kept, one object per batch
    assert all(x["run_id"] == run_id and x["cache"]["hit"] for x in raws)
    assert [x["response"]["normalized"]["text"] for x in raws] == [r.raw_output for r in done]
    assert len({r.raw_uri.partition("#")[0] for r in done}) == 2  # the first batch of 64, then the rest
    messages = [json.loads(m) for m in ctx.redis.lrange(QUEUE_PREDICT, 0, -1)]
    assert queued(ctx.redis) == {run_id: 50} and not release.is_active(ctx.redis, run_id)
    answered = {r.datapoint_id for r in done}
    queued_ids = {json.loads(base64.b64decode(m["body"]))[0][1] for m in messages}
    assert len(queued_ids) == 50 and not queued_ids & answered  # exactly the rest
    group = messages[0]["headers"]["group"]
    assert int(ctx.redis.get(app.backend.get_key_for_group(group, ".s"))) == 50  # the chord: the rest
    with session_scope() as s:
        events = s.scalar(select(Run.events).where(Run.id == run_id))
    assert events[-1]["action"] == "answered from the response cache" and events[-1]["datapoints"] == 100


def test_a_run_answered_whole_from_the_cache_is_finalized_at_once(world):
    ctx, app = world
    answer_in_process(ctx, new_run(30, 0))
    run_id = new_run(30, 0)
    dispatch_run(ctx, app, run_id)
    assert len(rows(run_id)) == 30 and ctx.redis.llen(QUEUE_PREDICT) == 0
    assert queued(ctx.redis, QUEUE_CONTROL)[run_id] == 1  # its finalize


def test_a_cold_run_pays_one_small_batch_of_lookups_at_dispatch(world, monkeypatch):
    ctx, app = world
    looked = []
    real = ctx.store.find
    monkeypatch.setattr(ctx.store, "find", lambda key: looked.append(key) or real(key))
    run_id = new_run(250, 0)
    dispatch_run(ctx, app, run_id)
    assert len(looked) == cache_prefill.FIRST_BATCH and rows(run_id) == []
    assert queued(ctx.redis) == {run_id: release.MIN_TARGET}


def test_rows_that_appear_for_counted_datapoints_cut_the_chord_down(world):
    ctx, app = world
    run_id = new_run(80, 0)
    dispatch_run(ctx, app, run_id)  # a chord of 80; 64 released
    group = ctx.redis.hget(release.state_key(run_id), "group").decode()
    rest = datapoint_ids(ctx, run_id)[64:]
    for dp in rest[:6]:  # answered meanwhile (a task of an earlier dispatch of this run, say)
        assert predict_datapoint(ctx, run_id, dp, TaskState(), "h").done
    consume(ctx.redis, 64)
    assert release.tick(ctx, app) == {run_id: 10}
    assert not release.is_active(ctx.redis, run_id)
    assert int(ctx.redis.get(app.backend.get_key_for_group(group, ".s"))) == 74


def test_a_warm_run_is_answered_by_the_live_workers_a_slice_each_and_each_slice_once(world, monkeypatch):
    ctx, app = world
    monkeypatch.setattr(cache_share, "SLICE", 20)
    answer_in_process(ctx, new_run(164, 0))
    run_id = new_run(164, 0)  # the probe (64), then 5 slices of 20
    liveness.beat(ctx.redis, "worker-2", 10)
    taken: list[tuple[str, int, int]] = []
    real = cache_prefill.Answerer.answer

    def answer(self, lo, hi, first=cache_prefill.BATCH):
        taken.append((threading.current_thread().name, lo, hi))
        time.sleep(0.05)  # long enough for the helper to join
        return real(self, lo, hi, first)

    monkeypatch.setattr(cache_prefill.Answerer, "answer", answer)
    helper = cache_helper.Helper(dataclasses.replace(ctx, answering=set()), "worker-2")  # another process
    serving = threading.Thread(target=helper.serve_one, args=(5,), name="helper")
    serving.start()
    assert dispatch_run(ctx, app, run_id) == 164
    serving.join(10)
    done = rows(run_id)
    assert len(done) == 164 and all(r.cache_hit for r in done) and ctx.redis.llen(QUEUE_PREDICT) == 0
    assert sorted((lo, hi) for _, lo, hi in taken) == [(0, 64)] + [
        (64 + 20 * i, 84 + 20 * i) for i in range(5)
    ]
    assert {name for name, _, _ in taken} == {"MainThread", "helper"}  # both took slices
    with session_scope() as s:
        event = s.scalar(select(Run.events).where(Run.id == run_id))[-1]
    helped = 20 * sum(name == "helper" for name, _, _ in taken)
    assert (event["datapoints"], event["by_helpers"]) == (164, helped)
    # the dispatching worker's own call is left for it to skip; the helper's was taken
    assert ctx.redis.llen(cache_share.call_key("worker-1")) == 1
    assert ctx.redis.llen(cache_share.call_key("worker-2")) == 0
    assert cache_share.help_answer(ctx, run_id, "late") == 0  # a late helper finds nothing to take


def test_a_cold_run_calls_no_helper_and_a_dead_helper_delays_dispatch_at_most_the_stall(world, monkeypatch):
    ctx, app = world
    run_id = new_run(100, 0)
    dispatch_run(ctx, app, run_id)  # the probe missed: nobody is called
    assert not ctx.redis.exists(cache_share.share_key(run_id), cache_share.call_key("worker-1"))
    key = cache_share.share_key("gone")
    ctx.redis.hset(
        key, mapping={"slices": 3, "claimed": 3, "taken": 3, "done": 2}
    )  # one slice taken, never done
    monkeypatch.setattr(cache_share, "STALL_S", 0.3)
    started = time.monotonic()
    cache_share._wait_for_helpers(ctx.redis, key)
    assert 0.3 <= time.monotonic() - started < 2
