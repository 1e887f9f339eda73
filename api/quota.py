"""Per-key submission limits: runs and datapoints per hour (``LABRUN_KEY_RUNS_PER_HOUR``,
``LABRUN_KEY_DATAPOINTS_PER_HOUR``; 0: no limit), over a sliding hour, in Redis so that every API
process counts together.

Each admitted submission is one member ``<datapoints>:<uuid>`` of the key's sorted set
``labrun:quota:<key id>``, scored by its time. One Lua script drops members older than the window,
checks both limits and adds the new member, atomically. Over a limit the API answers 429 with
``Retry-After`` (seconds until enough of the window has passed) and a message naming the limit (a
single run larger than the hourly datapoints: 413, waiting would not help); a submission that then
fails (bad input, broker down) gives its reservation back.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache

import redis
from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool

from labrun.shared.core.config import get_settings
from labrun.shared.core.schemas import RunCreate
from labrun.shared.storage.apikeys import Caller
from labrun.shared.storage.broker import redis_url

WINDOW_S = 3600.0
clock = time.time  # the window's clock (tests move it)
RESERVE = """
local now, window, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local max_runs, max_dps = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local function size(i) return tonumber(string.match(entries[i], '^(%d+):')) end
local dps = 0
for i = 1, #entries, 2 do dps = dps + size(i) end
if max_runs > 0 and #entries / 2 + 1 > max_runs then
  return {'runs', tostring(tonumber(entries[2]) + window - now)}
end
if max_dps > 0 and dps + n > max_dps then
  local freed = 0
  for i = 1, #entries, 2 do
    freed = freed + size(i)
    if dps - freed + n <= max_dps then return {'datapoints', tostring(tonumber(entries[i + 1]) + window - now)} end
  end
end
redis.call('ZADD', KEYS[1], now, ARGV[6])
redis.call('EXPIRE', KEYS[1], math.ceil(window))
return {'', '0'}
"""


@lru_cache(maxsize=4)
def redis_client(url: str) -> redis.Redis:
    opts = {"socket_timeout": 5, "socket_connect_timeout": 5}
    if url.startswith("redis+socket://"):
        return redis.Redis(unix_socket_path=url[len("redis+socket://") :], **opts)  # type: ignore[arg-type]
    return redis.Redis.from_url(url, **opts)  # type: ignore[arg-type]


def _key(key_id: str) -> str:
    return f"labrun:quota:{key_id}"


def reserve(key_id: str, datapoints: int) -> str:
    """Count a submission of ``datapoints`` against the key's limits; its member, to give it back."""
    settings = get_settings()
    runs, dps = settings.key_runs_per_hour, settings.key_datapoints_per_hour
    if dps and datapoints > dps:  # never admitted, however long one waits
        raise HTTPException(
            413,
            f"a run of {datapoints} datapoints exceeds this key's limit of {dps} datapoints per hour "
            "(LABRUN_KEY_DATAPOINTS_PER_HOUR): submit fewer rows",
        )
    member = f"{datapoints}:{uuid.uuid4().hex}"
    args = (clock(), WINDOW_S, datapoints, runs, dps, member)
    try:
        limit, wait = redis_client(redis_url()).eval(RESERVE, 1, _key(key_id), *args)  # type: ignore[misc]
    except redis.RedisError:
        raise HTTPException(503, "cannot check the key's submission limits: Redis is unreachable") from None
    if not limit:
        return member
    retry_after = int(float(wait)) + 1
    if limit == b"runs":
        message = f"this key's limit of {runs} runs per hour is reached (LABRUN_KEY_RUNS_PER_HOUR)"
    else:
        message = (
            f"this key's limit of {dps} datapoints per hour would be passed (LABRUN_KEY_DATAPOINTS_PER_HOUR)"
        )
    raise HTTPException(
        429, f"{message}; retry in {retry_after} s", headers={"Retry-After": str(retry_after)}
    )


def release(key_id: str, member: str) -> None:
    redis_client(redis_url()).zrem(_key(key_id), member)


@asynccontextmanager
async def submission_quota(
    caller: Caller, req: RunCreate, datapoints: int | None = None
) -> AsyncIterator[None]:
    """Reserve the submission of ``req`` (``datapoints``: its size when its rows are not read yet)
    against the caller's key (nothing without a key); give it back if the block raises (the run
    was not created)."""
    if caller.key_id is None:
        yield
        return
    if datapoints is None:
        datapoints = len(req.rows[: req.limit] if req.limit else req.rows)
    member = await run_in_threadpool(reserve, caller.key_id, datapoints)
    try:
        yield
    except BaseException:
        await run_in_threadpool(release, caller.key_id, member)
        raise
