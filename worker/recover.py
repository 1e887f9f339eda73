"""A call answered but not recorded is not paid twice.

The raw record of a datapoint is stored (keyed by run and datapoint) before its prediction row is
written. A task that may be a second delivery (redelivered after a worker died, re-dispatched by
finalize or the sweeper) first looks for that record: if the provider's final answer or final
error is there, the row is written from it and the provider is not called again. An answer that
came from the response cache is recorded as such again (no cost for this run).
"""

from __future__ import annotations

import json
from typing import Any

from labrun.shared.core.failures import ProviderError
from labrun.shared.storage.artifacts import raw_key
from labrun.worker.cache import CacheHit
from labrun.worker.context import WorkerContext
from labrun.worker.jobs import Job
from labrun.worker.outcomes import finish
from labrun.worker.raw_record import body_bytes, response_from


def _error(rec: dict[str, Any]) -> ProviderError | None:
    e = rec.get("error")
    if not e:
        return None
    return ProviderError(
        e["error_type"],
        e.get("message") or e["error_type"],
        status_code=e.get("status_code"),
        retry_after=e.get("retry_after"),
        headers=dict(e.get("headers") or {}),
        body=body_bytes(e),
        request_id=e.get("request_id"),
    )


def record_stored_outcome(ctx: WorkerContext, job: Job) -> bool:
    """Write the row from a stored raw record of this run and datapoint; False when there is none
    (or it cannot be used), and the provider must be called."""
    found = ctx.store.find(raw_key(job.plan.run_id, job.datapoint.external_id))
    if found is None:
        return False
    uri, data = found
    return record_outcome(ctx, job, json.loads(data), uri)


def record_outcome(ctx: WorkerContext, job: Job, rec: dict[str, Any], uri: str | None = None) -> bool:
    """Write the row from raw record ``rec`` (stored at ``uri``; with no ``uri``, store it first,
    as for an answer carried over a store outage). False when it holds no final outcome."""
    response, err = response_from(rec.get("response")), _error(rec)
    if response is None and err is None:
        return False
    job.state.attempts = int(rec.get("attempts") or job.state.attempts)
    job.state.history = list(rec.get("history") or [])
    cached = CacheHit.from_record(rec.get("cache"), response) if response is not None else None
    finish(ctx, job, response, None if response is not None else err, raw_uri=uri, cached=cached)
    job.state.unsaved = None
    return True
