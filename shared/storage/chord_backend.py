"""Celery's Redis result backend with a chord that counts its header tasks in a bitmap (D36).

The stock backend keeps, for each header task that reports, its encoded result in the group's
``.j`` zset and ``"<task id>:<index>"`` in its ``.d`` set (to ignore a second delivery): about 230
bytes of Redis per finished datapoint, kept until the chord completes. On a 100,000-row run Redis
peaked at 36.2 MB with it and at 8.9-9.3 MB with this backend (docs/benchmarks.md). labrun's
header tasks return nothing (rows live in Postgres; finalize reads them), so this backend keeps
one bit per header index in ``.d`` instead: 12.5 KB for 100,000 datapoints. A second report of
the same index sets the same bit, so redelivered tasks are still counted once. Everything else is
Celery's: the size in ``.s``, the completion claim in ``.c``, the callback publish, the cleanup
and the "done" marker. The callback gets an empty result list (``labrun.finalize`` is immutable).
A header task without an index (not one labrun sends) is counted by task id in a set beside the
bitmap.
"""

from __future__ import annotations

from typing import Any

from celery.backends.redis import RedisBackend
from kombu.utils.objects import cached_property

PART_RETURN_LUA = """
local jkey, tkey, skey, dkey, gkey, ckey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local tid, score = ARGV[1], ARGV[4]
local expires, group_expires = tonumber(ARGV[5]), tonumber(ARGV[6])
local claim_expires, claim_token = tonumber(ARGV[7]), ARGV[8]
local xkey = dkey .. 'x'
if redis.call('GET', ckey) == 'done' then
    return {-1, 0, 0, 0}
end
local index = tonumber(score)
if index and index >= 0 and index < 4294967296 and index == math.floor(index) then
    redis.call('SETBIT', dkey, index, 1)
else
    redis.call('SADD', xkey, tid)
end
local readycount = redis.call('BITCOUNT', dkey) + redis.call('SCARD', xkey)
if expires > 0 then
    for _, key in ipairs({tkey, skey, dkey, xkey}) do
        redis.call('EXPIRE', key, expires)
    end
    if group_expires > 0 then
        redis.call('EXPIRE', gkey, group_expires)
    end
end
local totaldiff = redis.call('GET', tkey)
local size = redis.call('GET', skey)
local claimed = 0
if size and readycount == tonumber(size) + tonumber(totaldiff or 0) then
    if redis.call('SET', ckey, claim_token, 'NX', 'EX', claim_expires) then
        claimed = 1
    end
end
return {readycount, totaldiff, size, claimed}
"""


class BitmapChordBackend(RedisBackend):  # type: ignore[misc]
    """The Redis backend, but a chord's parts are bits of ``.d`` (see the module's docstring)."""

    @cached_property
    def _chord_part_return_script(self) -> Any:
        return self.client.register_script(PART_RETURN_LUA)


def parts_key(backend: Any, group_id: str) -> str:
    """The bitmap of a chord's header indexes that have reported."""
    key = backend.get_key_for_group(group_id, ".d")
    return key.decode() if isinstance(key, bytes) else str(key)


def parts_reported(client: Any, backend: Any, group_id: str) -> int:
    """Header tasks of the chord ``group_id`` that have reported."""
    key = parts_key(backend, group_id)
    if client.type(key) not in (b"string", "string"):
        return 0
    return int(client.bitcount(key)) + int(client.scard(key + "x"))
