"""The global limiter against a real Redis. Timing: bounded from above by the bucket math, loosely
from below (the box is small and noisy)."""

from __future__ import annotations

import multiprocessing
import time
import uuid

import pytest

from labrun.shared.core.catalog import ModelSpec, RateLimits
from labrun.worker.ratelimit import Limiter, Usage, parse_limit_headers, scope_key
from labrun.worker.ratelimit.keys import keys_for
from tests import services

pytestmark = pytest.mark.integration

RPM600 = RateLimits(requests_per_min=600, burst_seconds=1)  # 10/s, capacity 10


def new_scope() -> str:
    return f"test:{uuid.uuid4().hex}"


@pytest.fixture
def limiter(redis_conn) -> Limiter:
    return Limiter(redis_conn)


def drain(limiter: Limiter, scope: str, limits: RateLimits, usage: Usage = Usage()) -> int:
    n = 0
    while limiter.try_acquire(scope, limits, usage).granted:
        n += 1
        assert n < 1000
    return n


def test_burst_then_steady_rate(limiter):
    scope = new_scope()
    t0 = time.monotonic()
    grants = [limiter.try_acquire(scope, RPM600, Usage()) for _ in range(10)]
    assert all(g.granted and g.wait_s == 0 and g.reservation.scope == scope for g in grants)
    eleventh = limiter.try_acquire(scope, RPM600, Usage())
    elapsed = time.monotonic() - t0
    assert not eleventh.granted and eleventh.reason == "limited" and eleventh.reservation is None
    assert 0.1 - elapsed - 0.002 <= eleventh.wait_s <= 0.1 + 1e-6
    time.sleep(eleventh.wait_s)
    assert limiter.try_acquire(scope, RPM600, Usage()).granted  # exactly when told, no polling

    # steady state: 10 more take at least ~1 s (the math), not much more (loose)
    t0 = time.monotonic()
    for _ in range(10):
        assert limiter.acquire(scope, RPM600, Usage(), max_wait_s=5).granted
    assert 0.9 <= time.monotonic() - t0 < 3.0


def test_acquire_gives_up_beyond_max_wait(limiter):
    scope = new_scope()
    assert drain(limiter, scope, RPM600) == 10
    t0 = time.monotonic()
    g = limiter.acquire(scope, RPM600, Usage(), max_wait_s=0.01)
    assert time.monotonic() - t0 < 0.05  # did not sleep
    assert not g.granted and 0.05 < g.wait_s <= 0.1 + 1e-6


def test_unconfigured_limits_still_obey_cooldown_and_learned_limits(limiter):
    scope, limits = new_scope(), RateLimits()
    g = limiter.try_acquire(scope, limits, Usage(1, 10**9, 10**9))
    assert g.granted and g.wait_s == 0  # nothing configured, nothing learned: no limit
    limiter.cooldown(scope, 1.0)  # a 429 seen by any worker
    g = limiter.try_acquire(scope, limits, Usage(1, 1, 1))
    assert not g.granted and g.reason == "cooldown" and 0.5 < g.wait_s <= 1.0
    limiter.client.delete(keys_for(limiter.prefix, scope).cooldown)
    # the provider announces 600 requests/min: that becomes the limit for every worker
    limiter.observe_headers(scope, {"x-ratelimit-limit-requests": "600"}, limits)
    granted = sum(limiter.try_acquire(scope, limits, Usage(1, 0, 0)).granted for _ in range(40))
    assert 10 <= granted <= 12  # the default 1 s burst at 10/s


def test_token_bucket_blocks_atomically(limiter, redis_conn):
    scope, limits = new_scope(), RateLimits(requests_per_min=600, tokens_per_min=600, burst_seconds=1)
    key = keys_for(limiter.prefix, scope).buckets
    assert limiter.try_acquire(scope, limits, Usage(1, 6, 2)).granted
    before = redis_conn.hgetall(key)
    assert float(before[b"r"]) == 9 and float(before[b"t"]) == 2
    g = limiter.try_acquire(scope, limits, Usage(1, 5, 0))
    assert not g.granted and 0.2 < g.wait_s <= 0.3 + 1e-6  # 3 tokens short at 10/s
    assert redis_conn.hgetall(key) == before  # the request bucket had room, yet nothing deducted
    assert limiter.try_acquire(scope, limits, Usage(1, 2, 0)).granted


def test_oversized_request_passes_on_a_full_bucket_and_leaves_debt(limiter):
    scope, limits = new_scope(), RateLimits(tokens_per_min=600, burst_seconds=1)  # capacity 10
    assert limiter.try_acquire(scope, limits, Usage(1, 45, 5)).granted
    g = limiter.try_acquire(scope, limits, Usage(1, 1, 0))
    assert not g.granted and 4.0 < g.wait_s <= 4.1 + 1e-6  # 40 tokens of debt + 1 at 10/s


def test_reconcile_refunds_an_overestimate(limiter):
    scope, limits = (
        new_scope(),
        RateLimits(input_tokens_per_min=600, output_tokens_per_min=600, burst_seconds=1),
    )
    g = limiter.try_acquire(scope, limits, Usage(1, 8, 9))
    assert g.granted and not limiter.try_acquire(scope, limits, Usage(1, 8, 1)).granted
    limiter.reconcile(g.reservation, Usage(1, 2, 3))  # 6 input and 6 output tokens come back
    assert limiter.try_acquire(scope, limits, Usage(1, 8, 7)).granted


def test_reconcile_charges_an_underestimate_as_debt(limiter):
    scope, limits = new_scope(), RateLimits(tokens_per_min=600, burst_seconds=1)
    g = limiter.try_acquire(scope, limits, Usage(1, 1, 1))
    limiter.reconcile(g.reservation, Usage(1, 4, 8))  # 10 more: level 10 - 12 = -2
    late = limiter.try_acquire(scope, limits, Usage(1, 1, 0))
    assert not late.granted and 0.25 < late.wait_s <= 0.3 + 1e-6
    limiter.reconcile(None, Usage())  # a call that never got a grant


def test_shared_cooldown_across_connections(redis_url):
    a_conn, b_conn = services.redis_client(redis_url), services.redis_client(redis_url)
    try:
        a, b, scope = Limiter(a_conn), Limiter(b_conn), new_scope()
        assert b.cooldown_remaining(scope) == 0
        a.cooldown(scope, 1.0)
        assert 0.8 < b.cooldown_remaining(scope) <= 1.0
        g = b.try_acquire(scope, RPM600, Usage())
        assert not g.granted and g.reason == "cooldown" and 0.8 < g.wait_s <= 1.0
        assert 0.8 < b.cooldown(scope, 0.3) <= 1.0  # the later expiry wins
        assert 0.8 < a.cooldown_remaining(scope) <= 1.0
        b.cooldown(scope, 1.5)
        assert 1.3 < a.cooldown_remaining(scope) <= 1.5
        a.cooldown(scope, 0.05)
        time.sleep(1.55)
        assert a.cooldown_remaining(scope) == 0 and a.try_acquire(scope, RPM600, Usage()).granted
    finally:
        a_conn.close()
        b_conn.close()


def test_adaptive_factor_drops_after_repeated_429s_and_recovers(limiter):
    scope = new_scope()
    threshold = limiter.adapt_threshold  # 429s within adapt_window_s before the rate drops
    assert limiter.report_rate_limited(scope, 0.05) == 1.0
    assert limiter.cooldown_remaining(scope) > 0
    for _ in range(threshold - 2):
        assert limiter.report_rate_limited(scope, 0.05) == 1.0  # a few 429s are jitter, not a wrong limit
    assert limiter.report_rate_limited(scope, 0.05) == pytest.approx(0.8)  # the threshold-th in the window
    for _ in range(10):  # the same burst of 429s does not drop it again right away
        assert limiter.report_rate_limited(scope, None) == pytest.approx(0.8)
    assert 0.9 < limiter.cooldown_remaining(scope) <= 1.0  # default cool-down: 1 s

    other = Limiter(limiter.client)
    other.adapt_min_interval_s = 0
    for _ in range(other.adapt_threshold * 20):
        factor = other.report_rate_limited(scope, 0.01)
    assert factor == pytest.approx(0.1)  # floor
    assert limiter.rate_factor(scope) == pytest.approx(0.1)

    limiter.client.delete(keys_for(limiter.prefix, scope).cooldown)
    limiter.client.hset(keys_for(limiter.prefix, scope).adaptive, "f", "0.8")
    assert drain(limiter, scope, RPM600) == 8  # capacity 10 * 0.8
    g = limiter.try_acquire(scope, RPM600, Usage())
    assert 0.1 < g.wait_s <= 0.125 + 1e-6  # rate 8/s

    limiter.report_success(scope)  # 1 of 20: no round trip yet
    assert limiter.rate_factor(scope) == pytest.approx(0.8)
    limiter.recover_every, limiter.recover_interval_s, limiter.recover_step = 1, 0, 0.1
    limiter.report_success(scope)
    assert limiter.rate_factor(scope) == pytest.approx(0.9)
    limiter.report_success(scope)
    limiter.report_success(scope)
    assert limiter.rate_factor(scope) == 1.0  # capped
    limiter.report_success(scope)  # free now


def test_recovery_is_paced_and_paused_by_cooldowns(limiter):
    scope = new_scope()
    limiter.adapt_threshold, limiter.recover_every, limiter.recover_step = 1, 1, 0.05
    limiter.report_rate_limited(scope, 0.3)
    limiter.report_success(scope)
    assert limiter.rate_factor(scope) == pytest.approx(0.8)  # cool-down still active
    time.sleep(0.35)
    limiter.report_success(scope)
    limiter.report_success(scope)  # within recover_interval_s of the previous raise
    assert limiter.rate_factor(scope) == pytest.approx(0.85)


def test_header_calibration_lowers_but_never_raises(limiter, redis_conn):
    low, high = new_scope(), new_scope()
    limiter.observe_headers(low, {"X-RateLimit-Limit-Requests": "300", "x-ratelimit-remaining-requests": "1"})
    assert drain(limiter, low, RPM600) == 5  # 300 rpm, 1 s burst
    g = limiter.try_acquire(low, RPM600, Usage())
    assert 0.15 < g.wait_s <= 0.2 + 1e-6

    limiter.observe_headers(high, {"x-ratelimit-limit-requests": "1200"}, RPM600)
    assert redis_conn.exists(keys_for(limiter.prefix, high).calibration) == 0  # not lower: not stored
    limiter.observe_headers(high, {"x-ratelimit-limit-requests": "1200"})  # stored, but min() applies
    assert drain(limiter, high, RPM600) == 10

    # cheap: the same limits again do not write
    cal = keys_for(limiter.prefix, low).calibration
    redis_conn.delete(cal)
    limiter.observe_headers(low, {"x-ratelimit-limit-requests": "300", "x-ratelimit-remaining-requests": "0"})
    assert redis_conn.exists(cal) == 0
    limiter.observe_headers(low, {"x-ratelimit-limit-requests": "240"})
    assert float(redis_conn.hget(cal, "r")) == 240


def test_anthropic_headers_calibrate_token_buckets(limiter):
    scope = new_scope()
    limits = RateLimits(
        requests_per_min=6000, input_tokens_per_min=6000, output_tokens_per_min=600, burst_seconds=1
    )
    headers = {
        "anthropic-ratelimit-requests-limit": "50000",
        "anthropic-ratelimit-input-tokens-limit": "1200",
        "anthropic-ratelimit-output-tokens-limit": "bogus",
        "anthropic-ratelimit-input-tokens-remaining": "7",
    }
    assert parse_limit_headers(headers) == {"r": 50000.0, "i": 1200.0}
    limiter.observe_headers(scope, headers, limits)
    assert limiter.try_acquire(scope, limits, Usage(1, 20, 0)).granted  # input capacity 20, not 100
    g = limiter.try_acquire(scope, limits, Usage(1, 10, 0))
    assert not g.granted and 0.4 < g.wait_s <= 0.5 + 1e-6


def test_scope_key():
    def spec(scope: str) -> ModelSpec:
        return ModelSpec(
            alias="a",
            provider="openai",
            model="gpt-4o-mini",
            price_per_1m={"input": 1, "output": 1},
            limits=RateLimits(scope=scope),
        )

    assert scope_key(spec("provider"), "fp") == "provider:openai"
    assert scope_key(spec("model"), "fp") == "model:openai:gpt-4o-mini"
    assert scope_key(spec("key"), "fp") == "key:openai:fp"


# --- two real processes sharing one limit -------------------------------------------------------

SHARED = RateLimits(requests_per_min=1200, burst_seconds=1)  # 20/s, capacity 20
DURATION = 3.0


def _hammer(url: str, scope: str, ready, go, out) -> None:
    client = services.redis_client(url)
    limiter = Limiter(client)
    client.ping()
    ready.put(True)
    go.wait(30)
    stamps, deadline = [], time.time() + DURATION
    while time.time() < deadline:
        if limiter.acquire(scope, SHARED, Usage(), max_wait_s=deadline - time.time()).granted:
            stamps.append(time.time())
    out.put(stamps)
    client.close()


def test_two_processes_share_one_global_limit(redis_url):
    ctx = multiprocessing.get_context("spawn")
    scope, ready, out, go = new_scope(), ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_hammer, args=(redis_url, scope, ready, go, out)) for _ in range(2)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=60)
        go.set()
        per_process = [out.get(timeout=60) for _ in procs]
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.terminate()
    assert all(len(s) > 0 for s in per_process)  # both took part
    stamps = sorted(t for s in per_process for t in s)
    span = stamps[-1] - stamps[0]
    rate, cap = 20.0, 20.0
    total = len(stamps)
    allowed = cap + rate * span
    print(f"grants {[len(s) for s in per_process]}, total {total}, span {span:.3f}s, allowed {allowed:.1f}")
    assert total <= allowed + rate * 0.05 + 1  # global: the sum obeys one limit (per process: ~2x)
    assert total >= 0.9 * allowed  # and the limit is actually used
    assert DURATION * 0.8 <= span <= DURATION + 0.5


def test_waiting_callers_get_queued_slots_not_a_thundering_herd(limiter, redis_conn):
    """acquire() reserves a slot in the future and sleeps until it: one script call per caller."""
    import threading

    scope, limits = new_scope(), RateLimits(requests_per_min=1200, burst_seconds=0.5)  # 20/s, cap 10
    calls: list[int] = []
    original = limiter._scripts.acquire

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    object.__setattr__(limiter._scripts, "acquire", counting)
    times: list[float] = []
    start = time.monotonic()

    def one():
        assert limiter.acquire(scope, limits, Usage(), max_wait_s=5).granted
        times.append(time.monotonic() - start)

    threads = [threading.Thread(target=one) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 40  # no polling
    times.sort()
    assert times[9] < 0.2  # the burst of 10 at once
    assert 1.4 <= times[-1] <= 2.0  # the other 30 at 20/s
    # never more than the bucket allows in any window: 10 + 20/s * t
    assert all(i + 1 <= 10 + 20 * t + 1 for i, t in enumerate(times))


def test_a_wait_beyond_max_wait_reserves_nothing(limiter):
    scope, limits = new_scope(), RateLimits(requests_per_min=60, burst_seconds=1)  # 1/s, cap 1
    assert limiter.acquire(scope, limits, Usage(), max_wait_s=0).granted
    g = limiter.acquire(scope, limits, Usage(), max_wait_s=0.2)
    assert not g.granted and 0.8 < g.wait_s <= 1.0  # re-schedule with this countdown
    g2 = limiter.try_acquire(scope, limits, Usage(), max_wait_s=2)
    assert g2.granted and 0.8 < g2.wait_s <= 1.0  # the refused caller took no slot


def test_a_429_empties_the_buckets_so_no_burst_follows_the_cooldown(limiter):
    scope, limits = new_scope(), RateLimits(requests_per_min=600, burst_seconds=1)  # 10/s, cap 10
    assert limiter.try_acquire(scope, limits, Usage()).granted  # bucket exists, 9 left
    limiter.report_rate_limited(scope, 0.05)
    time.sleep(0.06)  # the cool-down is over
    granted = sum(limiter.try_acquire(scope, limits, Usage()).granted for _ in range(10))
    assert granted <= 2  # refilled from empty at 10/s for ~0.06 s, not a fresh burst of 9
