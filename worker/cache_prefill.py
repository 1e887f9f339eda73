"""Answer a run's datapoints from the response cache in bulk, before any of its tasks is queued.

A warm re-run would otherwise send one Celery task per datapoint only for it to read one cache
entry and write one row: about 1.4 ms of worker CPU plus Celery's own per-message cost each, so a
warm run was only 2.9x faster than a cold one (docs/benchmarks.md). Dispatch calls
:func:`answer_from_cache` first: it builds each datapoint's request as predict would, looks the
entries up a batch at a time (store reads in threads), writes the raw records (each says which
entry it came from) and the rows in one statement per batch. Only the rest is released as tasks.

It stops at the first batch where fewer than :data:`MIN_HIT_RATE` of the lookups hit: a cold run
pays one small batch of lookups at dispatch (the tasks look again; a miss is cheap), never a pass
over 100,000 entries that are not there. Rows are the same as predict's for a hit (outcomes.py),
upserted the same way, so a re-delivered dispatch, or a task that races it, is harmless.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import exists, select

from labrun.shared.runs.lifecycle import is_cancelled
from labrun.shared.storage.db.models import Datapoint, Prediction, Run
from labrun.shared.storage.response_cache import reads
from labrun.worker import telemetry
from labrun.worker.cache import CacheHit, ResponseCache
from labrun.worker.context import WorkerContext
from labrun.worker.jobs import Job, TaskState, build_job
from labrun.worker.outcomes import answer_records
from labrun.worker.providers import Provider
from labrun.worker.results import Loaded, insert_predictions, save_raw
from labrun.worker.run_policy import run_policy

FIRST_BATCH = 64  # what a cold run pays at dispatch
BATCH = 500
MIN_HIT_RATE = 0.5
THREADS = 16


def _batches(ctx: WorkerContext, run: Run) -> Iterator[list[tuple[int, int, Loaded]]]:
    """``(position, id, datapoint)`` of the run's datapoints without a row, in dataset order."""
    cursor, size = -1, FIRST_BATCH
    answered = exists().where(Prediction.run_id == run.id, Prediction.datapoint_id == Datapoint.id)
    while True:
        q = (
            select(
                Datapoint.position, Datapoint.id, Datapoint.external_id, Datapoint.inputs, Datapoint.expected
            )
            .where(
                Datapoint.dataset_id == run.dataset_id,
                Datapoint.position > cursor,
                Datapoint.position < run.n_total,
                ~answered,
            )
            .order_by(Datapoint.position)
            .limit(size)
        )
        with ctx.db.autocommit.connect() as conn:
            rows = conn.execute(q).all()
        if not rows:
            return
        yield [(p, i, Loaded(e, inputs, exp, None, run.status)) for p, i, e, inputs, exp in rows]
        cursor, size = rows[-1][0], BATCH


def answer_from_cache(ctx: WorkerContext, run_id: str, hostname: str) -> int:
    """Record every datapoint of ``run_id`` whose answer is in the response cache (while most
    lookups hit); returns how many were answered. Nothing when the run's cache mode does not read."""
    policy = run_policy(ctx.db, run_id)
    if not reads(policy.cache):
        return 0
    plan = ctx.plan(run_id)
    # one client for the cache keys' endpoint: ctx.provider is per thread, and each of the pool's
    # threads building its own SDK client (an SSL context each) was 13% of a warm run's samples
    provider = ctx.provider(plan.spec)
    answered, writing = 0, None
    with (
        ThreadPoolExecutor(THREADS, thread_name_prefix="cache-prefill") as pool,
        ThreadPoolExecutor(1, thread_name_prefix="cache-prefill-write") as writer,
    ):
        with ctx.db.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                return 0
            s.expunge(run)
        for batch in _batches(ctx, run):
            jobs = [build_job(plan, i, dp, TaskState(), hostname, policy) for _, i, dp in batch]
            hits = list(pool.map(lambda job: _lookup(ctx, job, provider), jobs))
            found = [(job, hit) for job, hit in zip(jobs, hits, strict=True) if hit is not None]
            if found:
                rows = list(pool.map(lambda jh: _record(ctx, *jh), found))
                # one batch's rows are written while the next one is looked up (Postgres works on
                # the other core); one write at a time, in order
                answered += writing.result() if writing is not None else 0
                writing = writer.submit(_write, ctx, plan.spec.alias, rows)
            if len(found) < MIN_HIT_RATE * len(batch) or _cancelled(ctx, run_id):
                break
        answered += writing.result() if writing is not None else 0
    return answered


def _write(ctx: WorkerContext, alias: str, rows: list[dict[str, Any]]) -> int:
    insert_predictions(ctx.db, rows)
    for row in rows:
        telemetry.row_written(alias, row)
    return len(rows)


def _lookup(ctx: WorkerContext, job: Job, provider: Provider) -> CacheHit | None:
    cache = ResponseCache.for_call(ctx.store, job.policy.cache, job.plan.spec, provider, job.call.request)
    return cache.lookup() if cache is not None else None


def _record(ctx: WorkerContext, job: Job, hit: CacheHit) -> dict[str, Any]:
    row, raw = answer_records(job, hit.response, hit)
    row["raw_uri"] = save_raw(ctx.store, job.plan.run_id, job.datapoint.external_id, raw)
    return row


def _cancelled(ctx: WorkerContext, run_id: str) -> bool:
    with ctx.db.session() as s:
        run = s.get(Run, run_id)
        return run is None or is_cancelled(run.status)
