"""Windowed release: a run's tasks enter the queue a window at a time, in fair shares.

Dispatch sets the run's chord up (its size and frozen body, worker/chords.py) and registers the
run here; it publishes at most a first window. A releaser (one worker at a time, a Redis lock,
every :data:`TICK_S`) keeps the predict queue at most ``target`` messages deep (twice the
concurrency of the live workers) and splits the free places equally between the active runs,
publishing the next datapoints of each that have no row yet (those answered from the response
cache at dispatch have one), in dataset order, as header tasks of that run's chord:

- a run submitted during a big one is in the queue within a tick and advances at its share, and
  so do the cells of a sweep;
- Redis holds at most ``target`` queued predict messages, however big the runs;
- cancelling a run stops its release: what is already queued (at most a window) is skipped.

A run whose datapoints are all released leaves the active set, and its chord's body (finalize)
closes it as before (its chord cut down to what was released, should rows have appeared for
datapoints it counted). A cancelled run leaves at once, its chord cut down to what was released.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable
from typing import Any

import redis
from celery import Celery
from sqlalchemy import exists, select

from labrun.shared.runs.lifecycle import RunStatus
from labrun.shared.storage.broker import QUEUE_PREDICT, TASK_FINALIZE, TASK_PREDICT
from labrun.shared.storage.db.models import Datapoint, Prediction, Run
from labrun.worker.chords import cut_chord, publish_header
from labrun.worker.context import WorkerContext
from labrun.worker.liveness import live_concurrency

ACTIVE = "labrun:active"  # zset: run id -> registration time (the oldest first)
LOCK = "labrun:releaser"
TICK_S = 0.2
MIN_TARGET = 64


def state_key(run_id: str) -> str:
    return f"labrun:release:{run_id}"


def register(client: redis.Redis, run_id: str, group_id: str, body: dict[str, Any], total: int) -> None:
    pipe = client.pipeline()
    pipe.hset(
        state_key(run_id),
        mapping={"group": group_id, "body": json.dumps(body), "cursor": -1, "total": total, "released": 0},
    )
    pipe.zadd(ACTIVE, {run_id: time.time()}, nx=True)
    pipe.execute()


def is_active(client: redis.Redis, run_id: str) -> bool:
    return bool(client.exists(state_key(run_id)))


def shares(free: int, runs: list[str]) -> dict[str, int]:
    """``free`` places split equally; the oldest runs get the remainder."""
    base, extra = divmod(free, len(runs))
    return {run: base + (1 if i < extra else 0) for i, run in enumerate(runs)}


def _drop(client: redis.Redis, run_id: str) -> None:
    pipe = client.pipeline()
    pipe.zrem(ACTIVE, run_id)
    pipe.delete(state_key(run_id))
    pipe.execute()


def _next_ids(ctx: WorkerContext, run: Any, cursor: int, n: int) -> list[tuple[int, int]]:
    q = (
        select(Datapoint.position, Datapoint.id)
        .where(
            Datapoint.dataset_id == run.dataset_id,
            Datapoint.position > cursor,
            Datapoint.position < run.n_total,
            # an anti-join probing the primary key; NOT IN hashed every row of the run each tick
            ~exists().where(Prediction.run_id == run.id, Prediction.datapoint_id == Datapoint.id),
        )
        .order_by(Datapoint.position)
        .limit(n)
    )
    with ctx.db.autocommit.connect() as conn:
        return [(int(p), int(i)) for p, i in conn.execute(q)]


def release(ctx: WorkerContext, app: Celery, run: Any, n: int) -> int:
    """Publish the next ``n`` datapoints of ``run`` (``id``, ``dataset_id``, ``n_total``); drops it
    from the active set when done."""
    state = {k.decode(): v.decode() for k, v in ctx.redis.hgetall(state_key(run.id)).items()}  # type: ignore[union-attr]
    if not state:
        return 0
    batch = _next_ids(ctx, run, int(state["cursor"]), n)
    body = app.signature(json.loads(state["body"]))
    if batch:
        header: Iterable[Any] = (
            (pos, app.signature(TASK_PREDICT, args=(run.id, dp_id), ignore_result=True))
            for pos, dp_id in batch
        )
        publish_header(app, header, state["group"], body)
        pipe = ctx.redis.pipeline()
        pipe.hset(state_key(run.id), "cursor", batch[-1][0])
        pipe.hincrby(state_key(run.id), "released", len(batch))
        pipe.execute()
    if len(batch) < n or (batch and batch[-1][0] >= run.n_total - 1):
        released = released_count(state) + len(batch)
        if released < int(state["total"]) and not cut_chord(app, ctx.redis, state["group"], released):
            body.apply_async()  # rows appeared for datapoints counted in the chord: nothing closes it
        _drop(ctx.redis, run.id)
    return len(batch)


def released_count(state: dict[str, str]) -> int:
    """Header tasks published so far (states from before the count: the cursor's)."""
    return int(state["released"]) if "released" in state else int(state.get("cursor", -1)) + 1


def target_depth(client: redis.Redis) -> int:
    return max(MIN_TARGET, 2 * live_concurrency(client))


def tick(ctx: WorkerContext, app: Celery) -> dict[str, int]:
    """One release round (under the releaser lock); returns ``{run: tasks published}``."""
    token = secrets.token_hex(8)
    if not ctx.redis.set(LOCK, token, nx=True, px=5000):
        return {}
    try:
        active = [r.decode() for r in ctx.redis.zrange(ACTIVE, 0, -1)]  # type: ignore[union-attr]
        if not active:
            return {}
        cols = select(Run.id, Run.status, Run.dataset_id, Run.n_total).where(Run.id.in_(active))
        with ctx.db.autocommit.connect() as conn:  # a few columns, not the config snapshot, 5 times a second
            runs = {r.id: r for r in conn.execute(cols)}
        live = []
        for run_id in active:
            run = runs.get(run_id)
            if run is None or run.status != RunStatus.RUNNING:
                if run is not None and run.status == RunStatus.CANCELLED:
                    state = {k.decode(): v.decode() for k, v in ctx.redis.hgetall(state_key(run_id)).items()}  # type: ignore[union-attr]
                    if not cut_chord(app, ctx.redis, state.get("group"), released_count(state)):
                        app.send_task(TASK_FINALIZE, args=[run_id])  # nothing left to close the chord
                _drop(ctx.redis, run_id)
                continue
            live.append(run)
        free = target_depth(ctx.redis) - int(ctx.redis.llen(QUEUE_PREDICT))  # type: ignore[arg-type]
        if free <= 0 or not live:
            return {}
        split = shares(free, [r.id for r in live])
        return {r.id: release(ctx, app, r, split[r.id]) for r in live if split[r.id] > 0}
    finally:
        if ctx.redis.get(LOCK) == token.encode():
            ctx.redis.delete(LOCK)
