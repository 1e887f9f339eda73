"""Bucket names, Redis key names, and the limiter scope of a model.

Every key of one scope carries the scope in a ``{hash tag}`` so that a Redis Cluster keeps them in
one slot (the Lua scripts touch several of them atomically).
"""

from __future__ import annotations

from typing import NamedTuple

from labrun.shared.core.catalog import LIMIT_FIELDS, ModelSpec, RateLimits

# Short bucket codes used as Redis hash fields, in the order of ``LIMIT_FIELDS``:
# requests, total tokens, input tokens, output tokens.
BUCKETS = ("r", "t", "i", "o")
BUCKET_FIELDS = dict(zip(BUCKETS, LIMIT_FIELDS, strict=True))
TOKEN_BUCKETS = ("t", "i", "o")


class Keys(NamedTuple):
    buckets: str  # hash: <b> level, <b>:t last update (ms), <b>:r rate (per ms), <b>:c capacity
    cooldown: str  # plain key with a PX expiry
    adaptive: str  # hash: f rate factor, n 429s in window, w window start, d last drop, u last raise
    calibration: str  # hash: <b> per-minute rate the provider's headers announced

    def all(self) -> list[str]:
        return list(self)


def keys_for(prefix: str, scope: str) -> Keys:
    base = f"{prefix}:{{{scope}}}"
    return Keys(f"{base}:b", f"{base}:cd", f"{base}:a", f"{base}:cal")


def scope_key(spec: ModelSpec, key_fingerprint: str) -> str:
    """The limiter scope of a model: shared by a provider, a model id, or one API key."""
    scope = spec.limits.scope
    if scope == "provider":
        return f"provider:{spec.provider}"
    if scope == "key":
        return f"key:{spec.provider}:{key_fingerprint}"
    return f"model:{spec.provider}:{spec.model}"


def configured_rates(limits: RateLimits) -> tuple[float, float, float, float]:
    """Per-minute rates in ``BUCKETS`` order; 0 means the bucket is not configured."""
    return tuple(float(getattr(limits, field) or 0.0) for field in LIMIT_FIELDS)  # type: ignore[return-value]
