"""Classify one datapoint: wait for global capacity, call the provider, retry by error class,
then record the outcome. Plain code, no Celery."""

from __future__ import annotations

import time
from dataclasses import dataclass

from shared.config import get_settings
from worker import clients
from worker.jobs import MAX_HISTORY, TaskState, attempt_summary, build_job, finish
from worker.providers import ProviderError
from worker.ratelimit import Usage, scope_key
from worker.results import load_datapoint
from worker.retry import decide

NOT_COUNTED = frozenset({"rate_limited", "quota", "auth", "bad_request"})


@dataclass(frozen=True)
class Outcome:
    done: bool
    delay_s: float = 0.0


def predict_datapoint(run_id: str, datapoint_id: int, state: TaskState, hostname: str) -> Outcome:
    dp = load_datapoint(run_id, datapoint_id)
    if dp.run_status == "cancelled" or dp.prediction_status == "succeeded":
        return Outcome(done=True)  # cancelled, or a duplicate delivery of a finished datapoint
    job = build_job(run_id, datapoint_id, dp, state, hostname)
    settings = get_settings()
    spec = job.ctx.spec
    provider = clients.provider(spec)
    limiter = clients.limiter()
    scope = scope_key(spec, provider.key_fingerprint())
    estimate = Usage(
        requests=1,
        input_tokens=provider.estimate_tokens(job.request.system + job.request.user),
        output_tokens=job.request.max_tokens,
    )
    if state.first_attempt_at is None:
        state.first_attempt_at = time.time()
    while True:
        grant = limiter.acquire(scope, spec.limits, estimate, max_wait_s=settings.inline_wait_max_s)
        if not grant.granted:
            return Outcome(done=False, delay_s=grant.wait_s)
        state.attempts += 1
        try:
            response = provider.complete(job.request)
        except ProviderError as err:
            if err.error_type in NOT_COUNTED:  # rejected up front: the provider counted no tokens
                limiter.reconcile(grant.reservation, Usage(requests=1))
            if err.error_type == "rate_limited":
                limiter.report_rate_limited(scope, err.retry_after)
            limiter.observe_headers(scope, err.headers, spec.limits)
            state.history = [*state.history, attempt_summary(state.attempts, err)][-MAX_HISTORY:]
            decision = decide(
                clients.retry_policy(), err, state.attempts, time.time() - state.first_attempt_at
            )
            if not decision.retry:
                finish(job, None, err)
                return Outcome(done=True)
            if decision.delay_s <= settings.inline_wait_max_s:
                time.sleep(decision.delay_s)
                continue
            return Outcome(done=False, delay_s=decision.delay_s)
        used = Usage(1, *provider.limit_usage(job.request, response))
        limiter.reconcile(grant.reservation, used)
        limiter.observe_headers(scope, response.headers, spec.limits)
        limiter.report_success(scope)
        finish(job, response, None)
        return Outcome(done=True)
