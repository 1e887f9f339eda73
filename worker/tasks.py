"""Thin Celery tasks: load by id, call a plain service function, map outcomes to retries.

``labrun.predict`` never raises: a final failure becomes a prediction row with an error_type, so
the run's chord always completes.
"""

from __future__ import annotations

import logging
import random
import socket
from typing import Any

import botocore.exceptions
import redis.exceptions
import sqlalchemy.exc
from celery import Task
from kombu.exceptions import BatchPublishError, OperationalError

from labrun.shared.runs import lifecycle
from labrun.shared.storage.broker import TASK_DISPATCH, TASK_FINALIZE, TASK_PREDICT, TASK_RETRY
from labrun.worker import context
from labrun.worker.app import app
from labrun.worker.dispatch import datapoint_ids, dispatch_run, send_chord
from labrun.worker.finalize import finalize_run
from labrun.worker.jobs import TaskState, record_internal_error
from labrun.worker.predict import predict_datapoint
from labrun.worker.rerun import rerun

log = logging.getLogger(__name__)
INFRA_RETRY_S = 5.0
INFRA_MAX_RETRIES = 30
# Failures of labrun's own infrastructure, retried with the task (not provider errors: those are
# classified and retried in worker/predict.py).
TRANSIENT: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.ReadTimeoutError,
    ConnectionError,
)

DISPATCH_TRANSIENT: tuple[type[Exception], ...] = (*TRANSIENT, OperationalError, BatchPublishError)


def _infra_countdown() -> float:
    return INFRA_RETRY_S * (1 + random.random())


@app.task(name=TASK_DISPATCH, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def dispatch(self: Task, run_id: str) -> int:
    try:
        return dispatch_run(context.current(), app, run_id, self.request.hostname)
    except DISPATCH_TRANSIENT as exc:  # re-sending is safe: see chords.py
        if self.request.retries >= INFRA_MAX_RETRIES:
            try:
                lifecycle.fail(run_id, f"could not enqueue the run: {type(exc).__name__}: {exc}")
            except Exception:
                log.exception("labrun.dispatch %s: could not mark the run failed", run_id)
            raise
        log.warning("labrun.dispatch %s: %s; retrying", run_id, exc)
        raise self.retry(countdown=_infra_countdown()) from None


@app.task(name=TASK_PREDICT, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def predict(
    self: Task, run_id: str, datapoint_id: int, state: dict[str, Any] | None = None, recover: bool = False
) -> None:
    st = TaskState.from_dict(state)
    hostname = self.request.hostname or socket.gethostname()
    ctx = context.current()
    # a message restored after its worker died, or re-sent on purpose, may have been answered already
    recover = recover or bool((self.request.delivery_info or {}).get("redelivered"))
    try:
        outcome = predict_datapoint(ctx, run_id, datapoint_id, st, hostname, recover)
    except TRANSIENT as exc:  # Postgres, Redis or S3 unreachable or saturated: try again later
        if self.request.retries < INFRA_MAX_RETRIES:
            log.warning("labrun.predict %s/%s: %s; retrying", run_id, datapoint_id, exc)
            # the answer may have been stored before the failure: look for it before calling again
            kwargs = {"state": st.to_dict(), "recover": True}
            raise self.retry(countdown=_infra_countdown(), kwargs=kwargs) from None
        _record_internal(ctx, run_id, datapoint_id, st, hostname, exc)
        return None
    except Exception as exc:  # a bug: never fail the chord
        log.exception("labrun.predict %s/%s failed internally", run_id, datapoint_id)
        _record_internal(ctx, run_id, datapoint_id, st, hostname, exc)
        return None
    if not outcome.done:
        raise self.retry(countdown=outcome.delay_s, kwargs={"state": st.to_dict()})
    return None


def _record_internal(
    ctx: context.WorkerContext,
    run_id: str,
    datapoint_id: int,
    st: TaskState,
    hostname: str,
    exc: BaseException,
) -> None:
    try:
        record_internal_error(ctx, run_id, datapoint_id, st, hostname, exc)
    except Exception:
        log.exception("no row for %s/%s; finalize will re-dispatch it", run_id, datapoint_id)


@app.task(name=TASK_FINALIZE, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def finalize(self: Task, run_id: str) -> str | None:
    ctx = context.current()

    def redispatch(rid: str) -> None:
        send_chord(app, rid, datapoint_ids(ctx, rid, only_missing=True), recover=True)

    try:
        result = finalize_run(ctx, run_id, redispatch)
    except TRANSIENT as exc:  # Postgres or Redis unreachable: the run must still be settled
        if self.request.retries >= INFRA_MAX_RETRIES:
            raise  # the sweeper sends finalize again once the run is seen stalled
        log.warning("labrun.finalize %s: %s; retrying", run_id, exc)
        raise self.retry(countdown=_infra_countdown()) from None
    if result.wait_s:
        raise self.retry(countdown=result.wait_s)
    return result.status


@app.task(name=TASK_RETRY, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def retry(self: Task, run_id: str, all_failed: bool = False) -> int:
    """``labrun retry``: run a finished run's failed datapoints again (re-sending is safe: predict
    skips what has succeeded meanwhile)."""
    try:
        return rerun(context.current(), app, run_id, all_failed=all_failed)
    except DISPATCH_TRANSIENT as exc:
        if self.request.retries >= INFRA_MAX_RETRIES:
            raise
        log.warning("labrun.retry %s: %s; retrying", run_id, exc)
        raise self.retry(countdown=_infra_countdown()) from None
