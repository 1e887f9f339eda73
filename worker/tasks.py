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

from shared.queue import TASK_DISPATCH, TASK_FINALIZE, TASK_PREDICT
from shared.runs.service import mark_enqueue_failed
from worker import clients
from worker.app import app
from worker.dispatch import dispatch_run
from worker.finalize import finalize_run
from worker.jobs import TaskState, record_internal_error
from worker.predict import predict_datapoint

log = logging.getLogger(__name__)
INFRA_RETRY_S = 5.0
INFRA_MAX_RETRIES = 30
# Failures of labrun's own infrastructure, retried with the task (not provider errors: those are
# classified and retried in worker/predict.py).
TRANSIENT: tuple[type[BaseException], ...] = (
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


def _infra_countdown() -> float:
    return INFRA_RETRY_S * (1 + random.random())


@app.task(name=TASK_DISPATCH, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def dispatch(self: Task, run_id: str) -> int:
    try:
        return dispatch_run(app, run_id, clients.redis_client())
    except (*TRANSIENT, OperationalError, BatchPublishError) as exc:  # re-sending is safe: see chords.py
        if self.request.retries >= INFRA_MAX_RETRIES:
            try:
                mark_enqueue_failed(run_id, f"could not enqueue the run: {type(exc).__name__}: {exc}")
            except Exception:
                log.exception("labrun.dispatch %s: could not mark the run failed", run_id)
            raise
        log.warning("labrun.dispatch %s: %s; retrying", run_id, exc)
        raise self.retry(countdown=_infra_countdown()) from None


@app.task(name=TASK_PREDICT, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def predict(self: Task, run_id: str, datapoint_id: int, state: dict[str, Any] | None = None) -> None:
    st = TaskState.from_dict(state)
    hostname = self.request.hostname or socket.gethostname()
    try:
        outcome = predict_datapoint(run_id, datapoint_id, st, hostname)
    except TRANSIENT as exc:  # Postgres, Redis or S3 unreachable or saturated: try again later
        if self.request.retries < INFRA_MAX_RETRIES:
            log.warning("labrun.predict %s/%s: %s; retrying", run_id, datapoint_id, exc)
            raise self.retry(countdown=_infra_countdown(), kwargs={"state": st.to_dict()}) from None
        _record_internal(run_id, datapoint_id, st, hostname, exc)
        return None
    except Exception as exc:  # a bug: never fail the chord
        log.exception("labrun.predict %s/%s failed internally", run_id, datapoint_id)
        _record_internal(run_id, datapoint_id, st, hostname, exc)
        return None
    if not outcome.done:
        raise self.retry(countdown=outcome.delay_s, kwargs={"state": st.to_dict()})
    return None


def _record_internal(run_id: str, datapoint_id: int, st: TaskState, hostname: str, exc: Exception) -> None:
    try:
        record_internal_error(run_id, datapoint_id, st, hostname, exc)
    except Exception:
        log.exception("no row for %s/%s; finalize will re-dispatch it", run_id, datapoint_id)


@app.task(name=TASK_FINALIZE, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def finalize(self: Task, run_id: str) -> str | None:
    result = finalize_run(app, run_id)
    if result.wait_s:
        raise self.retry(countdown=result.wait_s)
    return result.status
