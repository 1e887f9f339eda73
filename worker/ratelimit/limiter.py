"""A global rate limiter in Redis, shared by every worker process on every host.

Per scope, up to four continuously refilling token buckets (requests, total tokens, input tokens,
output tokens) of capacity ``rate_per_min / 60 * burst_seconds``. One atomic Lua call checks the
shared cool-down and all buckets, then deducts from all of them or from none and says how long to
wait. Usage per call::

    grant = limiter.acquire(scope, spec.limits, Usage(1, prompt_estimate, spec.max_tokens), max_wait_s)
    if not grant.granted: re-schedule the task with countdown=grant.wait_s
    ... call the provider ...
    limiter.reconcile(grant.reservation, Usage(1, resp.prompt_tokens, resp.completion_tokens))
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from labrun.shared.core.catalog import RateLimits
from labrun.worker.ratelimit.adaptive import AdaptiveMixin
from labrun.worker.ratelimit.keys import BUCKETS, TOKEN_BUCKETS, Keys, configured_rates, keys_for
from labrun.worker.ratelimit.scripts import Scripts


@dataclass(frozen=True)
class Usage:
    requests: int = 1
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def costs(self) -> tuple[int, int, int, int]:
        """Amounts in ``BUCKETS`` order: requests, total tokens, input tokens, output tokens."""
        return (self.requests, self.total_tokens, self.input_tokens, self.output_tokens)


@dataclass(frozen=True)
class Reservation:
    scope: str
    estimate: Usage
    buckets: tuple[str, ...] = BUCKETS  # buckets charged; () when the limits configure none


@dataclass(frozen=True)
class Grant:
    granted: bool
    wait_s: float = 0.0
    reservation: Reservation | None = None
    reason: str = "ok"  # "ok", "free" (no limit), "scheduled" (slot in the future), "limited",
    # "cooldown" (after a 429)


class Limiter(AdaptiveMixin):
    def __init__(self, redis_client, prefix: str = "labrun:rl") -> None:
        self.client = redis_client
        self.prefix = prefix
        self._scripts = Scripts.register(redis_client)
        self._factor: dict[str, float] = {}  # last adaptive factor seen per scope
        self._init_adaptive()

    # Bucket state lives this long after the buckets would be full again (so a late reconcile
    # still finds it), then expires: an absent state means full buckets.
    ttl_margin_s = 900.0

    def _keys(self, scope: str) -> Keys:
        return keys_for(self.prefix, scope)

    def try_acquire(self, scope: str, limits: RateLimits, estimate: Usage, max_wait_s: float = 0.0) -> Grant:
        """One atomic attempt: all buckets have enough (deduct all) or not (deduct nothing).

        With ``max_wait_s`` > 0 a caller that would have to wait at most that long is granted a
        slot in the future: ``Grant(granted=True, wait_s=w)`` means "sleep w, then call".
        """
        # Even with no configured rates the script runs: a shared cool-down after a 429, and
        # limits learned from the provider's headers, hold every worker back.
        rates = configured_rates(limits)
        costs = [max(0, c) for c in estimate.costs()]
        args = [limits.burst_seconds, *rates, *costs, int(self.ttl_margin_s * 1000), int(max_wait_s * 1000)]
        granted, wait_us, factor, reason = self._scripts.acquire(keys=self._keys(scope).all(), args=args)
        self._factor[scope] = float(factor)
        reason = reason.decode() if isinstance(reason, bytes) else str(reason)
        if granted:
            # reconcile touches only the buckets that exist (configured or learned); none: no call
            charged = () if reason == "free" else BUCKETS
            return Grant(True, int(wait_us) / 1e6, Reservation(scope, estimate, charged), reason)
        return Grant(False, int(wait_us) / 1e6, None, reason)

    def acquire(self, scope: str, limits: RateLimits, estimate: Usage, max_wait_s: float) -> Grant:
        """Take a slot within ``max_wait_s`` and sleep until it comes (one Redis call in the
        common case); or return the not-granted Grant, whose ``wait_s`` is the countdown to
        re-schedule with. Only a cool-down makes a caller sleep and ask again."""
        start = time.monotonic()
        while True:
            remaining = max(0.0, max_wait_s - (time.monotonic() - start))
            grant = self.try_acquire(scope, limits, estimate, remaining)
            if grant.granted:
                if grant.wait_s > 0:
                    time.sleep(grant.wait_s)
                return Grant(True, 0.0, grant.reservation, grant.reason)
            if grant.wait_s > remaining:
                return grant
            time.sleep(grant.wait_s + random.uniform(0, min(0.05, 0.002 + 0.1 * grant.wait_s)))

    def reconcile(self, reservation: Reservation | None, actual: Usage) -> None:
        """Correct the token buckets by ``actual - estimate``: a refund, or debt that delays later
        callers. Atomic; a no-op when nothing changed or nothing was charged."""
        if reservation is None:
            return
        est, act = reservation.estimate.costs(), actual.costs()
        args: list[object] = [int(self.ttl_margin_s * 1000)]
        for k, bucket in enumerate(BUCKETS):
            if bucket in TOKEN_BUCKETS and bucket in reservation.buckets and act[k] != est[k]:
                args += [bucket, act[k] - est[k]]
        if len(args) > 1:
            self._scripts.reconcile(keys=[self._keys(reservation.scope).buckets], args=args)
