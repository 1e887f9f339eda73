"""Predict one datapoint: an answer stored already (a second delivery) or in the response cache
costs nothing; else reserve the run's budget, wait for global capacity, call the provider, retry
by error class, then record the outcome. Plain code, no Celery."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from labrun.shared.core.failures import ProviderError
from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.runs.lifecycle import is_cancelled
from labrun.worker import cache_flight, telemetry
from labrun.worker.budget import EXHAUSTED, WAIT, Budget
from labrun.worker.cache import ResponseCache
from labrun.worker.context import WorkerContext
from labrun.worker.jobs import MAX_HISTORY, Job, TaskState, build_job
from labrun.worker.outcomes import finish, skip_for_budget
from labrun.worker.providers import Provider
from labrun.worker.ratelimit import Usage, scope_key
from labrun.worker.recover import record_outcome, record_stored_outcome
from labrun.worker.results import attempt_summary, load_datapoint
from labrun.worker.retry import decide
from labrun.worker.run_policy import run_policy

NOT_COUNTED = frozenset({"rate_limited", "quota", "auth", "bad_request"})
BUDGET_RECHECK_S = 1.0  # countdown of a task whose budget share depends on calls still in flight
LEASE_MARGIN_S = 30.0  # a budget reservation outlives the longest wait + call by this much


@dataclass(frozen=True)
class Outcome:
    done: bool
    delay_s: float = 0.0


def predict_datapoint(
    ctx: WorkerContext, run_id: str, datapoint_id: int, state: TaskState, hostname: str, recover: bool = False
) -> Outcome:
    """``recover``: this may be a second delivery (redelivered, re-dispatched); an answer already
    stored for the datapoint is recorded without calling the provider again."""
    dp = load_datapoint(ctx.db, run_id, datapoint_id)
    if is_cancelled(dp.run_status) or dp.prediction_status == PredictionStatus.SUCCEEDED:
        return Outcome(done=True)  # cancelled, or a duplicate delivery of a finished datapoint
    job = build_job(ctx.plan(run_id), datapoint_id, dp, state, hostname, run_policy(ctx.db, run_id))
    if state.unsaved is not None and record_outcome(ctx, job, state.unsaved):
        return Outcome(done=True)  # answered before a store outage: stored and recorded now
    if recover and record_stored_outcome(ctx, job):
        return Outcome(done=True)
    provider = ctx.provider(job.plan.spec)
    cache = ResponseCache.for_call(ctx.store, job.policy.cache, job.plan.spec, provider, job.call.request)
    hit = cache.lookup() if cache is not None else None
    if hit is not None:  # no limiter grant, no budget, no call
        finish(ctx, job, hit.response, None, cached=hit)
        return Outcome(done=True)
    lease_s = ctx.settings.inline_wait_max_s + provider.timeout + LEASE_MARGIN_S
    flight = cache_flight.take_off(ctx.redis, cache, lease_s)
    if flight is None:  # the same request is in flight elsewhere: its answer will be a hit
        return Outcome(done=False, delay_s=cache_flight.WAIT_S * (1 + random.random()))
    if state.first_attempt_at is None:
        state.first_attempt_at = time.time()
    try:
        return _call(ctx, job, provider, cache)
    finally:
        flight.land()


def _call(ctx: WorkerContext, job: Job, provider: Provider, cache: ResponseCache | None) -> Outcome:
    settings, spec, state, run_id = ctx.settings, job.plan.spec, job.state, job.plan.run_id
    limiter = ctx.limiter
    request = job.call.request
    scope = scope_key(spec, provider.key_fingerprint())
    estimate = Usage(
        requests=1, input_tokens=provider.estimate_tokens(request.text()), output_tokens=request.max_tokens
    )
    budget = Budget(ctx.redis, ctx.db) if job.policy.budgeted else None
    estimate_usd = spec.cost_usd(estimate.input_tokens, estimate.output_tokens)
    lease_s = settings.inline_wait_max_s + provider.timeout + LEASE_MARGIN_S
    while True:
        reservation = None
        if budget is not None:
            reservation = budget.reserve_within(
                run_id, estimate_usd, lease_s, settings.inline_wait_max_s, ctx.sleep
            )
            if reservation.outcome == EXHAUSTED:
                skip_for_budget(ctx, job, reservation.explain())
                return Outcome(done=True)
            if reservation.outcome == WAIT:
                return Outcome(done=False, delay_s=BUDGET_RECHECK_S * (1 + random.random()))
        waited = time.monotonic()
        grant = limiter.acquire(scope, spec.limits, estimate, max_wait_s=settings.inline_wait_max_s)
        telemetry.LIMITER_WAIT.labels(spec.alias).observe(time.monotonic() - waited)
        if not grant.granted:
            if budget is not None:
                budget.settle(run_id, reservation, 0.0)
            return Outcome(done=False, delay_s=grant.wait_s)
        state.attempts += 1
        try:
            response = provider.complete(request)
        except ProviderError as err:
            if budget is not None:  # rows count the cost of answers only; so does the budget
                budget.settle(run_id, reservation, 0.0)
            if err.error_type in NOT_COUNTED:  # rejected up front: the provider counted no tokens
                limiter.reconcile(grant.reservation, Usage(requests=1))
            if err.error_type == "rate_limited":
                limiter.report_rate_limited(scope, err.retry_after)
                telemetry.RATE_LIMITED.labels(spec.alias).inc()
            limiter.observe_headers(scope, err.headers, spec.limits)
            state.history = [*state.history, attempt_summary(state.attempts, err)][-MAX_HISTORY:]
            decision = decide(ctx.retry, err, state.attempts, time.time() - (state.first_attempt_at or 0))
            if not decision.retry:
                finish(ctx, job, None, err)
                return Outcome(done=True)
            if decision.delay_s <= settings.inline_wait_max_s:
                ctx.sleep(decision.delay_s)
                continue
            return Outcome(done=False, delay_s=decision.delay_s)
        if budget is not None:
            budget.settle(
                run_id, reservation, spec.cost_usd(response.prompt_tokens, response.completion_tokens)
            )
        used = Usage(1, *provider.limit_usage(request, response))
        limiter.reconcile(grant.reservation, used)
        limiter.observe_headers(scope, response.headers, spec.limits)
        limiter.report_success(scope)
        finish(ctx, job, response, None)
        if cache is not None:
            cache.save(response, run_id, job.datapoint.external_id)
        return Outcome(done=True)
