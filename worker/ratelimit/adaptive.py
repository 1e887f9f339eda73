"""Learning from the provider: shared cool-downs and an adaptive rate factor after 429s, and
calibration from the rate-limit headers of responses. Mixed into :class:`Limiter`."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from typing import Any

from labrun.shared.core.catalog import RateLimits
from labrun.worker.ratelimit.keys import BUCKETS, Keys, configured_rates

# Response header -> bucket whose per-minute limit it announces.
LIMIT_HEADERS = {
    "x-ratelimit-limit-requests": "r",
    "x-ratelimit-limit-tokens": "t",
    "anthropic-ratelimit-requests-limit": "r",
    "anthropic-ratelimit-tokens-limit": "t",
    "anthropic-ratelimit-input-tokens-limit": "i",
    "anthropic-ratelimit-output-tokens-limit": "o",
}


def parse_limit_headers(headers: Mapping[str, str]) -> dict[str, float]:
    """Per-minute limits announced by OpenAI / Anthropic response headers, by bucket code."""
    out: dict[str, float] = {}
    for name, value in headers.items():
        bucket = LIMIT_HEADERS.get(name.lower())
        if bucket is None:
            continue
        try:
            rate = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(rate) and rate > 0:
            out[bucket] = min(rate, out.get(bucket, rate))
    return out


class AdaptiveMixin:
    client: Any  # redis.Redis
    _scripts: Any  # the registered Lua scripts (scripts.Scripts)
    _factor: dict[str, float]

    # 429 handling: default cool-down, and the rate factor drops by `adapt_decrease` when at least
    # `adapt_threshold` 429s arrive within `adapt_window_s` (at most once per `adapt_min_interval_s`).
    default_cooldown_s = 1.0
    adapt_threshold = 10
    adapt_window_s = 30.0
    adapt_decrease = 0.8
    adapt_floor = 0.1
    adapt_min_interval_s = 10.0
    # Recovery: +`recover_step` per `recover_every` successes of a process, at most once per
    # `recover_interval_s` across all processes, never during a cool-down.
    recover_step = 0.01
    recover_every = 20
    recover_interval_s = 3.0
    state_ttl_s = 86400.0
    calibration_ttl_s = 3600.0
    calibration_refresh_s = 600.0

    def _keys(self, scope: str) -> Keys:  # pragma: no cover - provided by Limiter
        raise NotImplementedError

    def _init_adaptive(self) -> None:
        self._successes: dict[str, int] = {}
        self._calibrated: dict[str, tuple[tuple[tuple[str, float], ...], float]] = {}
        self._lock = threading.Lock()

    def cooldown(self, scope: str, seconds: float) -> float:
        """Make every worker of the scope wait ``seconds`` (keeps a later existing expiry)."""
        if seconds <= 0:
            return self.cooldown_remaining(scope)
        rem = self._scripts.cooldown(keys=[self._keys(scope).cooldown], args=[_ms(seconds)])
        return int(rem) / 1000

    def cooldown_remaining(self, scope: str) -> float:
        return max(0, int(self.client.pttl(self._keys(scope).cooldown))) / 1000

    def rate_factor(self, scope: str) -> float:
        """The adaptive factor applied to all configured rates of the scope (1.0 = none)."""
        value = self.client.hget(self._keys(scope).adaptive, "f")
        return float(value) if value is not None else 1.0

    def report_rate_limited(self, scope: str, retry_after: float | None = None) -> float:
        """A 429: shared cool-down for ``retry_after`` (default 1 s); lowers the rate factor if
        429s keep coming. One round trip. Returns the new factor."""
        keys = self._keys(scope)
        seconds = retry_after if retry_after is not None and retry_after > 0 else self.default_cooldown_s
        args = [
            _ms(seconds),
            self.adapt_threshold,
            _ms(self.adapt_window_s),
            self.adapt_decrease,
            self.adapt_floor,
            int(self.adapt_min_interval_s * 1000),
            _ms(self.state_ttl_s),
        ]
        keys3 = [keys.cooldown, keys.adaptive, keys.buckets]
        factor, _ = self._scripts.rate_limited(keys=keys3, args=args)
        self._factor[scope] = float(factor)
        return float(factor)

    def report_success(self, scope: str) -> None:
        """A successful call. Free while the factor is 1.0; otherwise one round trip per
        ``recover_every`` successes of this process."""
        if self._factor.get(scope, 1.0) >= 1.0:
            return
        with self._lock:
            count = self._successes.get(scope, 0) + 1
            self._successes[scope] = 0 if count >= self.recover_every else count
        if count >= self.recover_every:
            keys = self._keys(scope)
            args = [self.recover_step, int(self.recover_interval_s * 1000), _ms(self.state_ttl_s)]
            self._factor[scope] = float(self._scripts.recover(keys=[keys.cooldown, keys.adaptive], args=args))

    def observe_headers(
        self, scope: str, headers: Mapping[str, str], limits: RateLimits | None = None
    ) -> None:
        """Calibrate from a response's rate-limit headers: a server limit lower than configured
        (or one where none is configured) becomes the bucket's rate for every worker.
        Writes only when the announced limits change
        (or every ``calibration_refresh_s``); never raises a rate above the configured one."""
        seen = parse_limit_headers(headers)
        if not seen:
            return
        lower, not_lower = dict(seen), []
        if limits is not None:
            conf = dict(zip(BUCKETS, configured_rates(limits), strict=True))
            lower = {b: r for b, r in seen.items() if not conf[b] or r < conf[b]}
            not_lower = [b for b in seen if b not in lower]
        signature = tuple(sorted(lower.items())) + tuple((b, 0.0) for b in sorted(not_lower))
        now = time.monotonic()
        last = self._calibrated.get(scope)
        if last is not None and last[0] == signature and now - last[1] < self.calibration_refresh_s:
            return
        key = self._keys(scope).calibration
        pipe = self.client.pipeline(transaction=False)
        if not_lower:
            pipe.hdel(key, *not_lower)
        if lower:
            pipe.hset(key, mapping={b: repr(r) for b, r in lower.items()})
            pipe.expire(key, int(self.calibration_ttl_s))
        pipe.execute()
        self._calibrated[scope] = (signature, now)


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))
