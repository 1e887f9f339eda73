"""The single retry policy of provider calls, as plain values.

``rate_limited`` waits as the server's retry-after says; transient failures (overloaded, server
errors, timeouts, connection errors) back off exponentially with full jitter; everything else is
final. Every retry is bounded by the attempt count and by the elapsed time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from labrun.worker.providers.base import ERROR_TYPES, ProviderError

RETRYABLE = frozenset({"rate_limited", "overloaded", "server_error", "timeout", "connection"})
NEVER_RETRIED = frozenset(
    {"quota", "auth", "bad_request", "content_filter", "truncated", "parse_error", "internal"}
)
assert RETRYABLE | NEVER_RETRIED == set(ERROR_TYPES) and not RETRYABLE & NEVER_RETRIED


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    max_elapsed_s: float = 900.0
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Any) -> RetryPolicy:
        return cls(
            max_attempts=settings.retry_max_attempts,
            max_elapsed_s=settings.retry_max_elapsed_s,
            base_delay_s=settings.retry_base_delay_s,
            max_delay_s=settings.retry_max_delay_s,
        )

    def backoff_cap(self, attempts: int) -> float:
        """Upper bound of the jittered delay after ``attempts`` failed attempts."""
        exponent = min(max(attempts - 1, 0), 62)
        return min(self.max_delay_s, self.base_delay_s * 2**exponent)


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    delay_s: float
    reason: str


def decide(
    policy: RetryPolicy, error: ProviderError, attempts: int, elapsed_s: float, rng: Any = random
) -> RetryDecision:
    """Whether and when to retry after ``attempts`` attempts (this failure included) taking
    ``elapsed_s`` seconds since the first one. ``rng`` needs ``uniform`` (``random`` or a
    seeded ``random.Random``)."""
    kind = error.error_type
    if kind not in RETRYABLE:
        return RetryDecision(False, 0.0, f"{kind} is never retried")
    if attempts >= policy.max_attempts:
        return RetryDecision(False, 0.0, f"{kind}: gave up after {attempts} attempts")
    if kind == "rate_limited":
        if error.retry_after is not None and error.retry_after >= 0:
            delay, why = float(error.retry_after), "retry-after"
        else:
            delay, why = policy.base_delay_s, "no retry-after, base delay"
    else:
        delay, why = rng.uniform(0, policy.backoff_cap(attempts)), "backoff"
    if elapsed_s + delay > policy.max_elapsed_s:
        return RetryDecision(
            False, 0.0, f"{kind}: retrying in {delay:.2f}s would exceed {policy.max_elapsed_s}s"
        )
    return RetryDecision(True, delay, f"{kind}: attempt {attempts + 1} in {delay:.2f}s ({why})")
