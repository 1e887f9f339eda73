"""Start a run: one ``labrun.predict`` task per datapoint, closed by a chord whose body is
``labrun.finalize``. Results are not passed through the chord; finalize reads Postgres."""

from __future__ import annotations

import socket
from collections.abc import Iterable

from celery import Celery

from labrun.shared.core.errors import InputError
from labrun.shared.runs import deferred, events, lifecycle, progress
from labrun.shared.runs.lifecycle import RunStatus
from labrun.shared.storage.broker import TASK_FINALIZE, TASK_PREDICT
from labrun.shared.storage.db.models import Datapoint, Run
from labrun.shared.storage.db.queries import missing_datapoints, run_datapoints
from labrun.worker import release
from labrun.worker.cache_share import answer_from_cache
from labrun.worker.chords import publish_chord, setup_chord
from labrun.worker.context import WorkerContext


def datapoint_ids(ctx: WorkerContext, run_id: str, *, only_missing: bool = False) -> list[int]:
    with ctx.db.session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise LookupError(f"run {run_id} not found")
        q = missing_datapoints(run) if only_missing else run_datapoints(run, Datapoint.id)
        return list(s.scalars(q))


def send_chord(app: Celery, run_id: str, ids: Iterable[int], *, recover: bool = False) -> str:
    """One ``labrun.predict`` per datapoint, closed by ``labrun.finalize``. ``recover``: the
    datapoints may have been answered already (a re-dispatch): predict looks for stored answers.

    The header's results are not stored (``ignore_result``): predict returns nothing and rows live
    in Postgres. The Redis backend still counts each header task towards the chord."""
    kwargs = {"recover": True} if recover else {}
    header = [
        app.signature(TASK_PREDICT, args=(run_id, dp_id), kwargs=kwargs, ignore_result=True) for dp_id in ids
    ]
    body = app.signature(TASK_FINALIZE, args=(run_id,), immutable=True)
    return publish_chord(app, header, body)


def dispatched_key(run_id: str) -> str:
    return f"labrun:dispatched:{run_id}"


def _prepared(ctx: WorkerContext, run_id: str) -> bool:
    """Read a large upload's rows first (D34); False when they are bad (the run has failed)."""
    try:
        with ctx.db.session() as s:
            if not deferred.prepare_deferred(s, ctx.store, run_id):
                return True
    except InputError as exc:
        if not lifecycle.fail(run_id, exc.message, ctx.db):
            return True  # cancelled meanwhile: dispatch finalizes it like any cancelled run
        events.record(ctx.db, run_id, "dispatch", "rejected the upload", reason=exc.message[:500])
        return False
    events.record(ctx.db, run_id, "dispatch", "read the upload's rows")
    return True


def dispatch_run(ctx: WorkerContext, app: Celery, run_id: str, hostname: str | None = None) -> int:
    """Start the run: answer what the response cache holds in bulk, with the other live workers
    (worker/cache_share.py), set the chord up for the rest and hand it to the releaser
    (worker/release.py), which publishes its tasks window by window in fair shares with the other
    runs; publishes the first window now.
    Returns the run's size.

    A re-delivered dispatch (the worker died while setting up) finds the run ``running`` without
    the "dispatched" mark and sets a new chord up for the datapoints that still lack a row.
    """
    if not _prepared(ctx, run_id):
        return 0
    with ctx.db.session() as s:
        before = lifecycle.start(s, run_id)
        run = s.get(Run, run_id)
        n_total = run.n_total if run is not None else 0
    if before not in (*lifecycle.ACTIVE, RunStatus.CANCELLED) or ctx.redis.exists(dispatched_key(run_id)):
        return 0
    body = app.signature(TASK_FINALIZE, args=(run_id,), immutable=True)
    remaining = 0
    if before is not RunStatus.CANCELLED and n_total > 0:
        cached, helped = answer_from_cache(ctx, run_id, hostname or socket.gethostname())
        if cached:
            what = "answered from the response cache"
            events.record(ctx.db, run_id, "dispatch", what, datapoints=cached, by_helpers=helped)
        with ctx.db.session() as s:  # the run's live counters start from its rows
            done = progress.from_rows(s, run_id)
        progress.seed(ctx.redis, run_id, done)
        remaining = n_total - done.done
    if remaining <= 0:  # cancelled before it started, empty, or all answered: just finalize
        body.apply_async()
    else:
        group_id = setup_chord(app, remaining, body)
        release.register(ctx.redis, run_id, group_id, dict(body), remaining)
        release.tick(ctx, app)
    ctx.redis.set(dispatched_key(run_id), 1, ex=30 * 24 * 3600)
    return n_total
