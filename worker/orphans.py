"""Unacked messages that no live worker holds: the reaper's second net.

The reaper restores the messages a dead worker recorded as held (worker/liveness.py). A worker
records a message just after kombu has put it in the unacked hash; a worker killed between the
two leaves an unacked message that nobody holds, which Redis would give back only at the visibility
timeout (an hour) while the sweeper, seeing it "in flight", leaves its run alone. Any unacked
message older than :data:`ORPHAN_AFTER_S` that is in no instance's held set (live or being reaped)
is such an orphan, and is restored like a dead worker's.
"""

from __future__ import annotations

import time

import redis

from labrun.shared.storage.broker import UNACKED_KEY

UNACKED_INDEX_KEY = f"{UNACKED_KEY}_index"  # kombu's zset: delivery tag -> time taken
ORPHAN_AFTER_S = 20.0
HELD_PATTERN = "labrun:held:*"


def _text(values: object) -> set[str]:
    return {v.decode() if isinstance(v, bytes) else str(v) for v in values}  # type: ignore[attr-defined]


def orphaned_tags(client: redis.Redis, older_than_s: float = ORPHAN_AFTER_S) -> list[str]:
    """Delivery tags unacked for longer than ``older_than_s`` that no worker holds."""
    old = _text(client.zrangebyscore(UNACKED_INDEX_KEY, 0, time.time() - older_than_s))  # type: ignore[arg-type]
    if not old:
        return []
    held: set[str] = set()
    for key in client.scan_iter(HELD_PATTERN, count=500):  # live sets and sets being reaped
        held |= _text(client.smembers(key))  # type: ignore[arg-type]
    # a tag acked meanwhile is gone from the hash: only tags still unacked count
    still = client.hmget(UNACKED_KEY, sorted(old - held)) if old - held else []
    return [t for t, v in zip(sorted(old - held), still, strict=True) if v is not None]  # type: ignore[arg-type]
