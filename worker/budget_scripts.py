"""The budget's Lua scripts (atomic in Redis; amounts are integers in nano-dollars).

``RESERVE`` (KEYS: hash, leases; ARGV: estimate, lease id, lease ms, ttl s): drops expired leases,
then answers 2 granted (the lease recorded), 1 wait, 0 exhausted, or -1 when the hash is missing
(seed it, then ask again); with spent, reserved and cap. ``SETTLE`` (ARGV: lease member, actual,
ttl): the lease's estimate leaves ``reserved``, the actual cost joins ``spent``; a missing hash is
not recreated (the seed from the rows will count the call). ``SEED`` (ARGV: cap, spent, ttl): puts
the hash in place unless it is there, and forgets leases of an earlier hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import redis

RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0, 0, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
if #expired > 0 then
  local freed = 0
  for _, m in ipairs(expired) do freed = freed + tonumber(string.match(m, ':(%d+)$')) end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  redis.call('HINCRBY', KEYS[1], 'reserved', string.format('%.0f', -freed))
end
local v = redis.call('HMGET', KEYS[1], 'cap', 'spent', 'reserved')
local cap, spent, reserved = tonumber(v[1]) or -1, tonumber(v[2]) or 0, math.max(0, tonumber(v[3]) or 0)
local est = tonumber(ARGV[1])
local outcome = 2
if cap >= 0 and spent + est > cap then outcome = 0
elseif cap >= 0 and spent + reserved + est > cap then outcome = 1 end
if outcome == 2 then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[2] .. ':' .. ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[1])
  reserved = reserved + est
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return {outcome, spent, reserved, cap}
"""
SETTLE = """
local est = 0
if ARGV[1] ~= '' and redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then
  est = tonumber(string.match(ARGV[1], ':(%d+)$'))
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  if est > 0 then redis.call('HINCRBY', KEYS[1], 'reserved', string.format('%.0f', -est)) end
  if tonumber(ARGV[2]) ~= 0 then redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2]) end
end
return 1
"""
SEED = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'cap', ARGV[1], 'spent', ARGV[2], 'reserved', 0)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
_SHA = {s: hashlib.sha1(s.encode()).hexdigest() for s in (RESERVE, SETTLE, SEED)}


def run_script(client: redis.Redis, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """EVALSHA, or EVAL the first time this server sees the script (which caches it)."""
    try:
        return client.evalsha(_SHA[script], len(keys), *keys, *args)  # type: ignore[no-untyped-call]
    except redis.exceptions.NoScriptError:
        return client.eval(script, len(keys), *keys, *args)  # type: ignore[no-untyped-call]
