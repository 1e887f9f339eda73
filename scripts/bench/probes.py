"""Where the time goes: machine CPU, Redis command counts and CPU (server-wide: the Redis server
is shared), and the limiter's adaptive rate factor sampled while labrun runs."""

from __future__ import annotations

import threading
import time
from typing import Any

import redis

from labrun.worker.ratelimit.keys import keys_for

SCOPE = "model:openai:gpt-4o-mini"  # limits.scope "model" of the gpt4o_mini alias


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def redis_counters(client: redis.Redis) -> dict[str, float]:
    stats = client.info("commandstats")
    cpu = client.info("cpu")
    out = {k.removeprefix("cmdstat_"): float(v["calls"]) for k, v in stats.items()}
    out["cpu_s"] = float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])
    return out


class Probe:
    """Samples the adaptive factor every 0.25 s; ``finish()`` returns the deltas and the samples."""

    def __init__(self, redis_url: str) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.key = keys_for("labrun:rl", SCOPE).adaptive
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        # other clients of the shared Redis server: their EVALSHA rate, measured for 2 s, is subtracted
        before = redis_counters(self.client)
        time.sleep(2.0)
        self._busy0 = machine_busy()
        self._redis0 = redis_counters(self.client)
        self._background = (self._redis0.get("evalsha", 0.0) - before.get("evalsha", 0.0)) / 2.0
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            try:
                value = self.client.hget(self.key, "f")
            except redis.RedisError:
                continue
            self.samples.append((time.monotonic() - self._t0, float(value) if value else 1.0))

    def finish(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        busy, total = machine_busy()
        elapsed = time.monotonic() - self._t0
        redis1 = redis_counters(self.client)
        self.client.close()
        delta = {k: v - self._redis0.get(k, 0.0) for k, v in redis1.items()}
        factors = [f for _, f in self.samples] or [1.0]
        below = sum(0.25 for f in factors if f < 0.999)
        return {
            "machine_busy_pct": 100.0 * (busy - self._busy0[0]) / max(1, total - self._busy0[1]),
            "redis_evalsha": max(0.0, delta.get("evalsha", 0.0) - self._background * elapsed),
            "redis_evalsha_background_per_s": self._background,
            "redis_cpu_s": delta.get("cpu_s", 0.0),
            "redis_calls": sum(v for k, v in delta.items() if k != "cpu_s"),
            "factor_min": min(factors),
            "factor_below_1_s": below,
            "factor_samples": [(round(t, 2), f) for t, f in self.samples if f < 0.999][:2000],
        }
