"""Continuously refilling token buckets, the way providers enforce per-minute limits.

Single-threaded use only (the server's event loop); times come from ``time.monotonic()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from labrun.shared.testing.fake_llm_server.config import FakeServerConfig

# bucket name -> FakeServerConfig field holding its per-minute rate
BUCKET_FIELDS = {"requests": "rpm", "tokens": "tpm", "input_tokens": "itpm", "output_tokens": "otpm"}


class Bucket:
    """Holds ``burst_s`` seconds of the rate (at least one unit) and refills continuously."""

    __slots__ = ("per_minute", "rate", "capacity", "level", "stamp")

    def __init__(self, per_minute: float, burst_s: float, now: float) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.capacity = max(self.rate * burst_s, 1.0)
        self.level = self.capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_for(self, cost: float) -> float:
        """Seconds until ``cost`` fits; a cost above capacity waits for a full bucket, then goes into debt."""
        need = min(cost, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def reset_s(self) -> float:
        """Seconds until the bucket is full again."""
        return max(0.0, (self.capacity - self.level) / self.rate)


@dataclass(frozen=True)
class BucketState:
    limit: int  # per minute, as providers report it
    remaining: int
    reset_s: float


class Limits:
    def __init__(self, config: FakeServerConfig, now: float) -> None:
        self.buckets: dict[str, Bucket] = {}
        for name, field in BUCKET_FIELDS.items():
            rate = getattr(config, field)
            if rate:
                self.buckets[name] = Bucket(rate, config.burst_s, now)

    def acquire(self, prompt_tokens: int, max_tokens: int, now: float) -> tuple[float, str | None]:
        """Take one request's costs from every bucket, or none. Returns (retry_after_s, bucket) on refusal."""
        if not self.buckets:
            return 0.0, None
        costs = {
            "requests": 1,
            "tokens": prompt_tokens + max_tokens,
            "input_tokens": prompt_tokens,
            "output_tokens": max_tokens,
        }
        wait, which = 0.0, None
        for name, bucket in self.buckets.items():
            bucket.refill(now)
            w = bucket.wait_for(costs[name])
            if w > wait:
                wait, which = w, name
        if which is not None:
            return wait, which
        for name, bucket in self.buckets.items():
            bucket.level -= costs[name]
        return 0.0, None

    def states(self) -> dict[str, BucketState]:
        return {
            name: BucketState(int(b.per_minute), max(0, int(b.level)), b.reset_s())
            for name, b in self.buckets.items()
        }
