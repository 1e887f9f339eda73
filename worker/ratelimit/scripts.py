"""The limiter's Lua scripts. Each runs atomically on the Redis server and reads the server's clock
(``TIME``), so workers on hosts with skewed clocks agree. Times inside are milliseconds; waits are
returned as integer microseconds (Redis truncates Lua numbers to integers)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.commands.core import Script

_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local function s(x) return string.format('%.17g', x) end
local function later_cooldown(key, ms)
  local cur = redis.call('PTTL', key)
  if ms > cur then redis.call('SET', key, '1', 'PX', ms) return ms end
  return math.max(cur, 0)
end
"""

# KEYS: buckets, cooldown, adaptive, calibration.
# ARGV: burst_s, 4 configured per-minute rates (0 = none), 4 costs, ttl margin (ms), max wait (ms).
# Returns {granted 0|1, wait_us, factor, reason}. Deducts all buckets or none.
ACQUIRE = """
local factor = tonumber(redis.call('HGET', KEYS[3], 'f')) or 1
local cd = redis.call('PTTL', KEYS[2])
if cd > 0 then return {0, cd * 1000, s(factor), 'cooldown'} end
local names = {'r', 't', 'i', 'o'}
local cal = redis.call('HMGET', KEYS[4], 'r', 't', 'i', 'o')
local st = redis.call('HMGET', KEYS[1], 'r', 'r:t', 't', 't:t', 'i', 'i:t', 'o', 'o:t')
local burst = tonumber(ARGV[1])
local wait, todo = 0, {}
for k = 1, 4 do
  local rate = tonumber(ARGV[1 + k])
  local c = tonumber(cal[k])
  if c and c > 0 and (rate == 0 or c < rate) then rate = c end
  if rate > 0 then
    rate = rate * factor / 60000
    local cap = rate * burst * 1000
    local level = tonumber(st[2 * k - 1])
    if level then
      level = math.min(cap, level + rate * math.max(0, now - tonumber(st[2 * k])))
    else
      level = cap
    end
    local cost = tonumber(ARGV[5 + k])
    local need = math.min(cost, cap)
    if level < need then wait = math.max(wait, (need - level) / rate) end
    todo[#todo + 1] = {names[k], level - cost, rate, cap}
  end
end
-- ARGV[11]: the longest wait (ms) the caller accepts. Within it, the caller gets a slot in the
-- future: the buckets go into debt now and the caller sleeps exactly `wait` before calling, so
-- waiting callers queue up instead of waking together and polling (no thundering herd).
if #todo == 0 then return {1, 0, s(factor), 'free'} end  -- no rate configured or learned
if wait > 0 and wait > tonumber(ARGV[11] or 0) then
  return {0, math.ceil(wait * 1000), s(factor), 'limited'}
end
local ttl = 0
for _, b in ipairs(todo) do
  local n, level, rate, cap = b[1], b[2], b[3], b[4]
  redis.call('HSET', KEYS[1], n, s(level), n .. ':t', s(now), n .. ':r', s(rate), n .. ':c', s(cap))
  ttl = math.max(ttl, (cap - level) / rate)
end
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl) + tonumber(ARGV[10]))
if wait > 0 then return {1, math.ceil(wait * 1000), s(factor), 'scheduled'} end
return {1, 0, s(factor), 'ok'}
"""

# KEYS: buckets. ARGV: ttl margin (ms), then pairs (bucket, actual - estimate). May create debt.
RECONCILE = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return 0 end
for j = 2, #ARGV, 2 do
  local n, d = ARGV[j], tonumber(ARGV[j + 1])
  local v = redis.call('HMGET', KEYS[1], n, n .. ':t', n .. ':r', n .. ':c')
  local level = tonumber(v[1])
  if level then
    local rate, cap = tonumber(v[3]), tonumber(v[4])
    level = math.min(cap, level + rate * math.max(0, now - tonumber(v[2]))) - d
    level = math.min(cap, level)
    redis.call('HSET', KEYS[1], n, s(level), n .. ':t', s(now))
    ttl = math.max(ttl, math.ceil((cap - level) / rate) + tonumber(ARGV[1]))
  end
end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""

# KEYS: cooldown. ARGV: ms. Keeps the later expiry; returns the remaining ms.
COOLDOWN = "return later_cooldown(KEYS[1], tonumber(ARGV[1]))"

# KEYS: cooldown, adaptive, buckets. ARGV: cooldown ms, threshold, window ms, decrease, floor,
# min ms between decreases, ttl ms. Returns {factor, cooldown remaining ms}.
# A 429 says the provider's bucket is empty: ours are emptied too (debt is kept), so they refill
# from now at the rate instead of releasing a burst when the cool-down ends.
RATE_LIMITED = """
local rem = later_cooldown(KEYS[1], tonumber(ARGV[1]))
for _, n in ipairs({'r', 't', 'i', 'o'}) do
  local v = redis.call('HMGET', KEYS[3], n, n .. ':t', n .. ':r', n .. ':c')
  local level = tonumber(v[1])
  if level then
    level = math.min(tonumber(v[4]), level + tonumber(v[3]) * math.max(0, now - tonumber(v[2])))
    if level > 0 then redis.call('HSET', KEYS[3], n, '0', n .. ':t', s(now)) end
  end
end
local a = redis.call('HMGET', KEYS[2], 'f', 'n', 'w', 'd')
local f, n = tonumber(a[1]) or 1, tonumber(a[2]) or 0
local w, d = tonumber(a[3]) or now, tonumber(a[4]) or -1e18
if now - w > tonumber(ARGV[3]) then n, w = 0, now end
n = n + 1
if n >= tonumber(ARGV[2]) and now - d >= tonumber(ARGV[6]) then
  f = math.max(tonumber(ARGV[5]), f * tonumber(ARGV[4]))
  n, w, d = 0, now, now
end
redis.call('HSET', KEYS[2], 'f', s(f), 'n', n, 'w', s(w), 'd', s(d))
redis.call('PEXPIRE', KEYS[2], ARGV[7])
return {s(f), rem}
"""

# KEYS: cooldown, adaptive. ARGV: step, min ms between raises, ttl ms. Returns the factor.
RECOVER = """
local a = redis.call('HMGET', KEYS[2], 'f', 'u')
local f = tonumber(a[1])
if not f then return '1' end
if redis.call('PTTL', KEYS[1]) > 0 or now - (tonumber(a[2]) or -1e18) < tonumber(ARGV[2]) then
  return s(f)
end
f = f + tonumber(ARGV[1])
if f >= 1 - 1e-9 then redis.call('HDEL', KEYS[2], 'f', 'u') return '1' end
redis.call('HSET', KEYS[2], 'f', s(f), 'u', s(now))
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return s(f)
"""


@dataclass(frozen=True)
class Scripts:
    acquire: Script
    reconcile: Script
    cooldown: Script
    rate_limited: Script
    recover: Script

    @classmethod
    def register(cls, client) -> Scripts:
        def reg(body: str) -> Script:
            return client.register_script(_PRELUDE + body)

        return cls(reg(ACQUIRE), reg(RECONCILE), reg(COOLDOWN), reg(RATE_LIMITED), reg(RECOVER))
