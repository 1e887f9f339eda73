"""Configuration of the fake LLM server and its latency distributions."""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any

LATENCY_DISTS = ("fixed", "uniform", "exponential", "lognormal")
FAIL_MODES = (None, "quota", "auth", "bad_request")


@dataclass
class FakeServerConfig:
    """All fields can be changed at runtime with ``POST /config``.

    Rate limits are token buckets shared by both endpoints (one account, one model): ``rpm``
    requests, ``tpm`` tokens (prompt tokens + max_tokens, like OpenAI), and optionally the
    Anthropic-style ``itpm`` (prompt tokens) and ``otpm`` (max_tokens). Each bucket holds
    ``burst_s`` seconds of its rate.
    """

    latency_s: float = 0.0
    latency_dist: str = "fixed"
    latency_jitter: float = 0.25  # uniform: +-fraction of the mean; lognormal: sigma
    rpm: float | None = None
    tpm: float | None = None
    itpm: float | None = None
    otpm: float | None = None
    burst_s: float = 2.0
    error_rate: float = 0.0
    error_statuses: list[int] = field(default_factory=lambda: [500, 503, 529])
    fail_mode: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.latency_dist not in LATENCY_DISTS:
            raise ValueError(f"latency_dist must be one of {LATENCY_DISTS}, not {self.latency_dist!r}")
        if self.fail_mode not in FAIL_MODES:
            raise ValueError(f"fail_mode must be one of {FAIL_MODES}, not {self.fail_mode!r}")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be within [0, 1]")
        if self.latency_s < 0 or self.burst_s <= 0:
            raise ValueError("latency_s must be >= 0 and burst_s > 0")
        for name in ("rpm", "tpm", "itpm", "otpm"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                setattr(self, name, None)  # 0 means "no limit"
        self.error_statuses = [int(s) for s in self.error_statuses] or [500]

    def updated(self, changes: dict[str, Any]) -> FakeServerConfig:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(sorted(unknown))}")
        return FakeServerConfig(**{**asdict(self), **changes})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_latency(config: FakeServerConfig, rng: random.Random) -> float:
    """One latency in seconds; ``latency_s`` is the mean of every distribution."""
    mean = config.latency_s
    if mean <= 0:
        return 0.0
    dist = config.latency_dist
    if dist == "uniform":
        spread = mean * min(config.latency_jitter, 1.0)
        return rng.uniform(mean - spread, mean + spread)
    if dist == "exponential":
        return rng.expovariate(1.0 / mean)
    if dist == "lognormal":
        sigma = max(config.latency_jitter, 1e-9)
        return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)
    return mean
