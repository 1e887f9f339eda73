"""A warm run is answered from the response cache by every live worker, a slice at a time (D37).

Answering at dispatch (cache_prefill.py) is CPU work: building each request and judging each
answer is Python, one core per process. On the 2-core bench one worker answered a warm
10,000-row run in about 8 s while the other sat idle. So dispatch answers the first
:data:`~labrun.worker.cache_prefill.FIRST_BATCH` positions itself (the probe: a cold run stops
there), cuts the rest into slices of :data:`SLICE` positions, and calls every live worker to
take slices with it (the run id pushed on each one's own list; worker/cache_helper.py). Slices are
claimed atomically (:data:`CLAIM_LUA`), so each is answered once; nobody claims more once a slice
mostly missed (the cache is cold past there) or the run was cancelled. Dispatch then waits until
every claimed slice is done, or until nothing has moved for :data:`STALL_S` (a helper died).

Neither the wait nor the helpers are needed for correctness: the chord is set up for the
datapoints without a row, the releaser cuts it down when rows appear for datapoints it counted,
and a datapoint answered twice is upserted once (its first row stays).
"""

from __future__ import annotations

import threading
import time
from contextlib import nullcontext

import redis

from labrun.worker.cache_prefill import FIRST_BATCH, Answerer
from labrun.worker.context import WorkerContext
from labrun.worker.liveness import live_instances

SLICE = 1000
STALL_S = 10.0
TTL_S = 3600

CLAIM_LUA = """
local h = KEYS[1]
if redis.call('HEXISTS', h, 'stop') == 1 then return 0 end
local s = redis.call('HINCRBY', h, 'claimed', 1)
if s > tonumber(redis.call('HGET', h, 'slices') or '0') then return 0 end
redis.call('HINCRBY', h, 'taken', 1)
return s
"""

_lock = threading.Lock()  # over ctx.answering: the runs this process is answering


def share_key(run_id: str) -> str:
    return f"labrun:prefill:{run_id}"


def call_key(instance: str) -> str:
    """A worker's own list of runs it is called to help answer."""
    return f"labrun:prefill-call:{instance}"


def answer_from_cache(ctx: WorkerContext, run_id: str, hostname: str) -> tuple[int, int]:
    """Answer what the cache holds of ``run_id`` (dispatch), with the live workers' help; returns
    how many datapoints were answered, and how many of them by the other workers."""
    with _lock:
        ctx.answering.add(run_id)
    try:
        with Answerer.open(ctx, run_id, hostname) or nullcontext() as answerer:
            if answerer is None:
                return 0, 0
            probed, warm = answerer.answer(0, FIRST_BATCH, first=FIRST_BATCH)
            n_slices = -(-(answerer.run.n_total - FIRST_BATCH) // SLICE)
            if not warm or n_slices <= 0:
                return probed, 0
            key = share_key(run_id)
            pipe = ctx.redis.pipeline()
            pipe.delete(key)
            pipe.hset(key, mapping={"slices": n_slices, "claimed": 0, "taken": 0, "done": 0})
            pipe.expire(key, TTL_S)
            for instance in live_instances(ctx.redis) if n_slices > 1 else []:
                pipe.rpush(call_key(instance), run_id)
                pipe.expire(call_key(instance), 60)
            pipe.execute()
            own = _take_slices(ctx.redis, answerer)
            _wait_for_helpers(ctx.redis, key)
            in_slices = int(ctx.redis.hget(key, "answered") or 0)  # type: ignore[arg-type]
            return probed + in_slices, in_slices - own
    finally:
        with _lock:
            ctx.answering.discard(run_id)


def help_answer(ctx: WorkerContext, run_id: str, hostname: str) -> int:
    """Take slices of a run another worker is answering; 0 when there is none left (or this
    process is the one answering it)."""
    with _lock:
        if run_id in ctx.answering or not ctx.redis.exists(share_key(run_id)):
            return 0
        ctx.answering.add(run_id)
    try:
        with Answerer.open(ctx, run_id, hostname) or nullcontext() as answerer:
            return _take_slices(ctx.redis, answerer) if answerer is not None else 0
    finally:
        with _lock:
            ctx.answering.discard(run_id)


def _take_slices(client: redis.Redis, answerer: Answerer) -> int:
    key, claim, answered = share_key(answerer.run.id), client.register_script(CLAIM_LUA), 0
    while s := int(claim(keys=[key])):  # type: ignore[arg-type]
        lo = FIRST_BATCH + (s - 1) * SLICE
        try:
            n, warm = answerer.answer(lo, lo + SLICE)
            answered += n
            client.hincrby(key, "answered", n)
            if not warm:
                client.hset(key, "stop", 1)
        finally:
            client.hincrby(key, "done", 1)
    return answered


def _wait_for_helpers(client: redis.Redis, key: str) -> None:
    last, moved = None, time.monotonic()
    while True:
        taken, done = (int(v or 0) for v in client.hmget(key, "taken", "done"))  # type: ignore[union-attr]
        if done >= taken or time.monotonic() - moved > STALL_S:
            return
        if done != last:
            last, moved = done, time.monotonic()
        time.sleep(0.02)
