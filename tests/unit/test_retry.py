from __future__ import annotations

import random

import pytest

from labrun.shared.core.config import Settings
from labrun.worker.providers.base import ERROR_TYPES, ProviderError
from labrun.worker.retry import NEVER_RETRIED, RETRYABLE, RetryDecision, RetryPolicy, decide

pytestmark = pytest.mark.unit

POLICY = RetryPolicy(max_attempts=5, max_elapsed_s=100.0, base_delay_s=1.0, max_delay_s=8.0)
BACKOFF = sorted(RETRYABLE - {"rate_limited"})


def err(kind: str, retry_after: float | None = None) -> ProviderError:
    return ProviderError(kind, "boom", retry_after=retry_after)


def test_every_error_class_is_classified_once():
    assert RETRYABLE | NEVER_RETRIED == set(ERROR_TYPES)
    assert not RETRYABLE & NEVER_RETRIED
    assert BACKOFF == ["connection", "overloaded", "server_error", "timeout"]


def test_from_settings():
    s = Settings(retry_max_attempts=3, retry_max_elapsed_s=42, retry_base_delay_s=0.5, retry_max_delay_s=9)
    assert RetryPolicy.from_settings(s) == RetryPolicy(3, 42.0, 0.5, 9.0)


@pytest.mark.parametrize("kind", sorted(NEVER_RETRIED))
def test_never_retried(kind):
    d = decide(POLICY, err(kind, retry_after=1.0), attempts=1, elapsed_s=0.0)
    assert d == RetryDecision(False, 0.0, f"{kind} is never retried")


def test_rate_limited_waits_as_retry_after_says():
    d = decide(POLICY, err("rate_limited", retry_after=12.5), attempts=1, elapsed_s=0.0)
    assert d.retry and d.delay_s == 12.5  # not capped by max_delay_s: the server knows best
    assert "retry-after" in d.reason
    assert decide(POLICY, err("rate_limited", retry_after=0.0), 1, 0.0).delay_s == 0.0


def test_rate_limited_without_retry_after_uses_base_delay():
    d = decide(POLICY, err("rate_limited"), attempts=3, elapsed_s=0.0)
    assert d.retry and d.delay_s == POLICY.base_delay_s


@pytest.mark.parametrize("kind", BACKOFF)
def test_transient_errors_back_off_with_full_jitter(kind):
    rng = random.Random(1234)
    for attempts in range(1, POLICY.max_attempts):
        cap = min(POLICY.max_delay_s, POLICY.base_delay_s * 2 ** (attempts - 1))
        delays = [decide(POLICY, err(kind, retry_after=99), attempts, 0.0, rng=rng) for _ in range(300)]
        assert all(d.retry for d in delays)
        values = [d.delay_s for d in delays]
        assert all(0.0 <= v <= cap for v in values)
        # full jitter: spread over the whole interval, not clustered at the cap
        assert min(values) < 0.1 * cap and max(values) > 0.9 * cap


def test_jitter_is_reproducible_with_a_seeded_rng():
    a = [decide(POLICY, err("timeout"), 4, 0.0, rng=random.Random(7)).delay_s for _ in range(3)]
    b = [decide(POLICY, err("timeout"), 4, 0.0, rng=random.Random(7)).delay_s for _ in range(3)]
    assert a == b and a[0] == random.Random(7).uniform(0, 8.0)


def test_backoff_cap_grows_then_saturates():
    assert [POLICY.backoff_cap(n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    assert POLICY.backoff_cap(10_000) == POLICY.max_delay_s  # no overflow


@pytest.mark.parametrize("kind", sorted(RETRYABLE))
def test_attempt_bound(kind):
    assert decide(POLICY, err(kind, 1.0), attempts=4, elapsed_s=0.0).retry
    d = decide(POLICY, err(kind, 1.0), attempts=5, elapsed_s=0.0)
    assert not d.retry and "5 attempts" in d.reason
    assert not decide(POLICY, err(kind, 1.0), attempts=6, elapsed_s=0.0).retry


def test_elapsed_bound():
    assert decide(POLICY, err("rate_limited", 10.0), 1, elapsed_s=90.0).retry
    d = decide(POLICY, err("rate_limited", 10.0), 1, elapsed_s=90.5)
    assert not d.retry and "exceed" in d.reason
    assert not decide(POLICY, err("rate_limited", 1.0), 1, elapsed_s=100.0).retry


def test_elapsed_bound_applies_to_the_jittered_delay():
    class Fixed:
        def __init__(self, value: float):
            self.value = value

        def uniform(self, lo: float, hi: float) -> float:
            return min(hi, self.value)

    assert decide(POLICY, err("server_error"), 4, 93.0, rng=Fixed(7.0)).retry
    assert not decide(POLICY, err("server_error"), 4, 93.5, rng=Fixed(7.0)).retry
