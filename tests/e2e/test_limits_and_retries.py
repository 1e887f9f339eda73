"""Global rate limits and retries by error class, with real Redis, two real worker processes and
the fake LLM server speaking the OpenAI wire format through the official SDK."""

from __future__ import annotations

import time

import pytest

from tests.e2e.http_support import configure, run_rows, stats
from tests.workers import purge_queues, worker_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def two_workers(http_env, tmp_path_factory):
    purge_queues(http_env["LABRUN_REDIS_URL"])
    logs = tmp_path_factory.mktemp("logs")
    with (
        worker_process(http_env, concurrency=40, name="wa", log=logs / "a.log") as a,
        worker_process(http_env, concurrency=40, name="wb", log=logs / "b.log") as b,
    ):
        yield a, b
    purge_queues(http_env["LABRUN_REDIS_URL"])


def test_two_workers_share_one_global_limit(labrun, two_workers, server):
    configure(server, rpm=600, burst_s=1.0, latency_s=0.05)
    started = time.monotonic()
    run, preds = run_rows("limited", 120)
    elapsed = time.monotonic() - started
    st = stats(server)
    assert run.status == "succeeded"
    assert len({p.worker_hostname for p in preds}) == 2  # both processes did work
    # 600/min = 10/s with a 5-request burst: 120 calls cannot finish in under ~11 s if the limit
    # is global; two per-process limiters would allow twice that rate and finish in about half
    assert elapsed >= (120 - 5) / 10 * 0.9
    # the limiter's burst (0.5 s) is below the provider's (1 s), which absorbs arrival jitter
    assert st["rate_limited"] <= 3 and st["ok"] == 120


def test_cooldown_is_shared_by_every_worker(labrun, two_workers, server):
    from labrun.shared.core.catalog import load_catalog
    from labrun.worker.providers.http_errors import fingerprint
    from labrun.worker.ratelimit import Limiter, scope_key
    from tests.services import redis_client

    configure(server)
    # "open" has no configured rates: a cool-down (as set after a 429) still holds every worker
    spec = load_catalog().get("open")
    limiter = Limiter(redis_client(labrun["LABRUN_REDIS_URL"]))
    limiter.cooldown(scope_key(spec, fingerprint(labrun["OPENAI_API_KEY"])), 3.0)
    t0 = time.time()
    run, preds = run_rows("open", 30)
    st = stats(server)
    assert run.status == "succeeded" and st["ok"] == 30
    assert st["first_request_at"] - t0 >= 2.5  # nobody called the provider during the cool-down


def test_stricter_real_limit_is_learned_from_429s_and_headers(labrun, two_workers, server):
    # models.yaml claims 60,000 requests/min; the provider really allows 300/min
    configure(server, rpm=300, burst_s=1.0, latency_s=0.02)
    run, preds = run_rows("optimistic", 60)
    st = stats(server)
    assert run.status == "succeeded"
    assert any(p.attempts > 1 for p in preds)  # some calls met a 429 and were retried
    # after the first 429s the limiter calibrates from x-ratelimit-* headers and backs off
    # together, so 429s stay a small multiple of the requests instead of a storm
    assert st["rate_limited"] < 60, st


@pytest.mark.parametrize(
    ("fail_mode", "error_type"), [("quota", "quota"), ("auth", "auth"), ("bad_request", "bad_request")]
)
def test_non_retryable_errors_fail_fast(labrun, two_workers, server, fail_mode, error_type):
    configure(server, fail_mode=fail_mode)
    run, preds = run_rows("open", 20)
    assert run.status == "failed"  # no datapoint succeeded: failed, not partial
    assert {p.error_type for p in preds} == {error_type}, [(p.error_type, p.error_message) for p in preds]
    assert {p.attempts for p in preds} == {1}  # never retried
    assert stats(server)["requests"] == 20


def test_server_errors_are_retried_with_backoff(labrun, two_workers, server):
    configure(server, error_rate=0.3)
    run, preds = run_rows("open", 60)
    st = stats(server)
    assert st["errors"] > 0
    ok = [p for p in preds if p.status == "succeeded"]
    assert len(ok) >= 59  # 0.3**6 ≈ 0.07% may exhaust 6 attempts
    assert sum(p.attempts for p in preds) == st["requests"]  # every HTTP attempt is counted
    assert any(p.attempts > 1 for p in ok)
    assert {p.error_type for p in preds if p.status == "failed"} <= {"server_error", "overloaded"}


def test_timeouts_are_retried_then_recorded(labrun, two_workers, server):
    configure(server, latency_s=1.0)
    run, preds = run_rows("impatient", 5)
    assert run.status == "failed"  # no datapoint succeeded: failed, not partial
    assert {p.error_type for p in preds} == {"timeout"}
    assert {p.attempts for p in preds} == {6}  # LABRUN_RETRY_MAX_ATTEMPTS


def test_rate_limited_waits_for_retry_after(labrun, two_workers, server):
    # a tight real limit with no configured one: every 429 carries retry-after and succeeds later
    configure(server, rpm=120, burst_s=1.0)
    run, preds = run_rows("open", 12)
    st = stats(server)
    assert run.status == "succeeded" and st["ok"] == 12, (st, [(p.attempts, p.error_type) for p in preds])
    assert st["rate_limited"] >= 1
    assert sum(p.attempts for p in preds) == st["requests"]
