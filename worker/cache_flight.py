"""One provider call per response-cache key at a time: a datapoint whose identical request is in
flight on any worker waits for that answer instead of paying for it again (D35).

Catalogs repeat products (43 of the first 10,000 Flipkart rows ask exactly what another row asks). With the
cache in ``read-write`` mode, two such datapoints in flight together both missed and both paid,
and a warm re-run then answered both from the one entry, so its latency figures differed from the
cold run's. Before calling, predict claims the key in Redis (``SET NX`` with the call's lease as
expiry, so a dead worker's claim lapses); a datapoint that finds the key claimed comes back after
:data:`WAIT_S` and finds the answer in the cache (a hit, as it would be in any later run). The
claim is dropped when the call ends, answered or not: a failed call leaves the next one to try.
Modes that do not both read and write (``read``, ``refresh``, ``off``) claim nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from labrun.shared.storage.response_cache import reads, writes
from labrun.worker.cache import ResponseCache

PREFIX = "labrun:cache-flight:"
WAIT_S = 1.0
_LAND = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@dataclass(frozen=True)
class Flight:
    """A claim on one cache key (``key`` None: nothing was claimed, nothing to drop)."""

    client: Any
    key: str | None = None
    token: str = ""

    def land(self) -> None:
        """Drop the claim if it is still ours (it may have lapsed and been taken by another)."""
        if self.key is not None:
            self.client.eval(_LAND, 1, self.key, self.token)


def take_off(client: Any, cache: ResponseCache | None, lease_s: float) -> Flight | None:
    """Claim ``cache``'s key for a call of at most ``lease_s``; None when another call holds it."""
    if cache is None or not (reads(cache.mode) and writes(cache.mode)):
        return Flight(client)
    key, token = PREFIX + cache.key, uuid.uuid4().hex
    if client.set(key, token, nx=True, px=max(1, int(lease_s * 1000))):
        return Flight(client, key, token)
    return None
