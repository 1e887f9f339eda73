"""Answer a run's datapoints from the response cache in bulk, before any of its tasks is queued.

A warm re-run would otherwise send one Celery task per datapoint only for it to read one cache
entry and write one row: about 1.4 ms of worker CPU plus Celery's own per-message cost each, so a
warm run was only 2.9x faster than a cold one (docs/benchmarks.md). Dispatch answers from the
cache first, with the other live workers (cache_share.py), each process with an
:class:`Answerer`: it builds each datapoint's request as predict would, looks the entries up a
batch at a time (store reads in threads), and writes the batch's raw records as one object (each
says which entry it came from; shared/storage/raw_batches.py) and its rows in one statement.
Only the rest is released as tasks.

A range stops at the first batch where fewer than :data:`MIN_HIT_RATE` of the lookups hit: a
cold run pays one small batch of lookups at dispatch (the tasks look again; a miss is cheap),
never a pass over 100,000 entries that are not there. Rows are the same as predict's for a hit
(outcomes.py), upserted the same way, so a re-delivered dispatch, or a task that races it, is
harmless.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import exists, select

from labrun.shared.runs.lifecycle import is_cancelled
from labrun.shared.storage.db.models import Datapoint, Prediction, Run
from labrun.shared.storage.raw_batches import batch_key, put_batch
from labrun.shared.storage.response_cache import reads
from labrun.worker import telemetry
from labrun.worker.cache import CacheHit, ResponseCache
from labrun.worker.context import WorkerContext
from labrun.worker.jobs import Job, TaskState, build_job
from labrun.worker.outcomes import answer_records
from labrun.worker.results import Loaded, insert_predictions
from labrun.worker.run_policy import RunPolicy, run_policy

FIRST_BATCH = 64  # what a cold run pays at dispatch
BATCH = 500
MIN_HIT_RATE = 0.5
THREADS = 16


class Answerer:
    """Answers ranges of one run's positions from the cache: a lookup pool and one writer thread
    (a batch is written while the next one is looked up; Postgres works on the other core). One
    per process taking part (cache_share.py); ``None`` from :meth:`open` when the run's cache mode
    does not read or the run is gone."""

    def __init__(self, ctx: WorkerContext, run: Run, policy: RunPolicy, hostname: str) -> None:
        self.ctx, self.run, self.policy, self.hostname = ctx, run, policy, hostname
        self.plan = ctx.plan(run.id)
        # one client for the cache keys' endpoint: ctx.provider is per thread, and each of the
        # pool's threads building its own SDK client (an SSL context each) was 13% of a warm run
        self.provider = ctx.provider(self.plan.spec)
        self.token = secrets.token_hex(4)  # in this answerer's raw batch keys: never overwritten
        self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="cache-prefill")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="cache-prefill-write")
        self._writing: Future[int] | None = None

    @classmethod
    def open(cls, ctx: WorkerContext, run_id: str, hostname: str) -> Answerer | None:
        policy = run_policy(ctx.db, run_id)
        if not reads(policy.cache):
            return None
        with ctx.db.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                return None
            s.expunge(run)
        return cls(ctx, run, policy, hostname)

    def __enter__(self) -> Answerer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown()
        self._writer.shutdown()

    def answer(self, lo: int, hi: int, first: int = BATCH) -> tuple[int, bool]:
        """Answer the datapoints at positions ``lo <= p < hi`` that have no row and hit, batch by
        batch (the first of ``first`` rows). Returns how many were answered (written), and False
        when it stopped early: a batch mostly missed, or the run was cancelled."""
        answered, warm = 0, True
        for batch in _batches(self.ctx, self.run, lo, hi, first):
            jobs = [
                build_job(self.plan, i, dp, TaskState(), self.hostname, self.policy) for _, i, dp in batch
            ]
            hits = list(self._pool.map(self._lookup, jobs))
            found = [(job, hit) for job, hit in zip(jobs, hits, strict=True) if hit is not None]
            if found:
                records = [answer_records(job, hit.response, hit) for job, hit in found]
                answered += self._written()
                self._writing = self._writer.submit(self._write, records)
            if len(found) < MIN_HIT_RATE * len(batch) or _cancelled(self.ctx, self.run.id):
                warm = False
                break
        return answered + self._written(), warm

    def _written(self) -> int:
        writing, self._writing = self._writing, None
        return writing.result() if writing is not None else 0

    def _lookup(self, job: Job) -> CacheHit | None:
        cache = ResponseCache.for_call(
            self.ctx.store, job.policy.cache, job.plan.spec, self.provider, job.call.request
        )
        return cache.lookup() if cache is not None else None

    def _write(self, records: list[tuple[dict[str, Any], dict[str, Any]]]) -> int:
        """The batch's raw records (one object), then its rows (one statement)."""
        rows = [row for row, _ in records]
        key = batch_key(self.run.id, rows[0]["datapoint_id"], rows[-1]["datapoint_id"], self.token)
        for row, uri in zip(rows, put_batch(self.ctx.store, key, [raw for _, raw in records]), strict=True):
            row["raw_uri"] = uri
        insert_predictions(self.ctx.db, rows)
        for row in rows:
            telemetry.row_written(self.plan.spec.alias, row)
        return len(rows)


def _batches(
    ctx: WorkerContext, run: Run, lo: int, hi: int, first: int
) -> Iterator[list[tuple[int, int, Loaded]]]:
    """``(position, id, datapoint)`` of the run's datapoints at ``lo <= position < hi`` without a
    row, in dataset order."""
    cursor, size = lo - 1, first
    answered = exists().where(Prediction.run_id == run.id, Prediction.datapoint_id == Datapoint.id)
    while True:
        q = (
            select(
                Datapoint.position, Datapoint.id, Datapoint.external_id, Datapoint.inputs, Datapoint.expected
            )
            .where(
                Datapoint.dataset_id == run.dataset_id,
                Datapoint.position > cursor,
                Datapoint.position < min(hi, run.n_total),
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


def _cancelled(ctx: WorkerContext, run_id: str) -> bool:
    with ctx.db.session() as s:
        run = s.get(Run, run_id)
        return run is None or is_cancelled(run.status)
