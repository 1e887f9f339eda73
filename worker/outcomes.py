"""Record a datapoint's outcome: the raw record first (the answer, a final error, or an answer
from the response cache), then the prediction row; or a row skipped for the run's budget."""

from __future__ import annotations

from typing import Any

from labrun.shared.core.calls import ChatResponse
from labrun.shared.core.failures import FINISH_REASON_ERRORS, ProviderError
from labrun.shared.core.verdict import PredictionStatus, Verdict
from labrun.worker import telemetry
from labrun.worker.cache import CacheHit
from labrun.worker.context import WorkerContext
from labrun.worker.jobs import Job
from labrun.worker.raw_record import response_field, system_fingerprint
from labrun.worker.results import attempt_summary, save_raw, upsert_prediction


def judge(job: Job, r: ChatResponse) -> Verdict:
    """The use case's verdict; a cut or filtered answer is a failure whatever it parses to."""
    verdict = job.plan.prepared.judge(job.datapoint, job.call, r)
    error_type = FINISH_REASON_ERRORS.get(r.finish_reason or "")
    if error_type is None:
        return verdict
    return Verdict(PredictionStatus.FAILED, verdict.parsed, None, error_type, None, verdict.details)


def answer_records(
    job: Job, response: ChatResponse | None, cached: CacheHit | None = None, err: ProviderError | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The prediction row (without ``raw_uri``) and the raw record of an answer or a final error.
    ``cached``: the answer came from the response cache (the raw record says so, and from which
    entry)."""
    spec, run_id = job.plan.spec, job.plan.run_id
    row = job.base_row()
    raw: dict[str, Any] = {
        "run_id": run_id,
        "datapoint_id": job.datapoint.external_id,
        "provider": spec.provider,
        "model": spec.model,
        "request": row["request"],
        "attempts": job.state.attempts,
        "history": job.state.history,
    }
    if response is not None:
        raw["response"] = response_field(response)
        row.update(_success_fields(job, response, cached))
        if cached is not None:
            raw["cache"] = cached.record()
    else:
        assert err is not None
        raw["error"] = attempt_summary(job.state.attempts, err)
        row.update(
            status=PredictionStatus.FAILED,
            error_type=err.error_type,
            error_message=err.message[:2000],
            provider_request_id=err.request_id,
        )
    return row, raw


def finish(
    ctx: WorkerContext,
    job: Job,
    response: ChatResponse | None,
    err: ProviderError | None,
    raw_uri: str | None = None,
    cached: CacheHit | None = None,
) -> None:
    """Store the raw response (success or final error), then upsert the row. With ``raw_uri`` the
    raw record is already stored (a recovered answer): only the row is written."""
    row, raw = answer_records(job, response, cached, err)
    if raw_uri is None:
        try:
            raw_uri = save_raw(ctx.store, job.plan.run_id, job.datapoint.external_id, raw)
        except Exception:
            job.state.unsaved = raw  # the answer is kept for the retry, not paid again
            raise
    row["raw_uri"] = raw_uri
    upsert_prediction(ctx.db, row, ctx.redis)
    telemetry.row_written(job.plan.spec.alias, row)


def _success_fields(job: Job, r: ChatResponse, cached: CacheHit | None) -> dict[str, Any]:
    v = judge(job, r)
    cost = job.plan.spec.cost_usd(r.prompt_tokens, r.completion_tokens)
    return {
        "status": v.status,
        "error_type": v.error_type,
        "error_message": v.error_message,
        "raw_output": r.text,
        "parsed": v.parsed,
        "correct": v.correct,
        "details": v.details,
        "finish_reason": r.finish_reason,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "cost_usd": 0.0 if cached is not None else cost,
        "cache_hit": cached is not None,
        "cached_cost_usd": cached.cost_usd if cached is not None else None,
        "latency_ms": r.latency_ms,  # from the cache: the latency of the call that paid for it
        "response_model": r.model,
        "provider_request_id": r.request_id,
        "system_fingerprint": system_fingerprint(r.body),
    }


def skip_for_budget(ctx: WorkerContext, job: Job, reason: str) -> None:
    """The run's budget cannot cover this datapoint's call: a ``skipped_budget`` row, no call,
    no raw record. Neither a failure nor an answer; ``labrun retry`` with a higher cap redoes it."""
    row = job.base_row()
    row.update(status=PredictionStatus.SKIPPED_BUDGET, error_type=None, error_message=reason[:2000])
    upsert_prediction(ctx.db, row, ctx.redis)
    telemetry.row_written(job.plan.spec.alias, row)
