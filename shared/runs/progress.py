"""A running run's progress without aggregating its rows on every read: counters in one Redis hash
per run, moved by the worker that writes each row (by the change that row made: a new row, or a
failed row replaced), read by ``GET /runs/{id}`` and the CLI in O(1).

The hash is trusted only once *seeded* (by dispatch, or from the rows by ``retry``); a hash that
lost its seed (a Redis restart without persistence) is ignored and the rows are aggregated as
before. A final run is always read from its rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.storage.db.models import Prediction

NANO = 1_000_000_000
TTL_S = 7 * 24 * 3600
SEEDED = "seeded"

# one row's change: KEYS[1] the hash; ARGV: done, ok, cost (nano), started, finished, old error,
# new error ('' = none); first/last timestamps kept as min/max
_RECORD = """
local h = KEYS[1]
redis.call('HINCRBY', h, 'done', ARGV[1])
redis.call('HINCRBY', h, 'ok', ARGV[2])
redis.call('HINCRBY', h, 'cost', ARGV[3])
local s, f = tonumber(ARGV[4]), tonumber(ARGV[5])
local first = tonumber(redis.call('HGET', h, 'first') or '')
if s and (not first or s < first) then redis.call('HSET', h, 'first', ARGV[4]) end
local last = tonumber(redis.call('HGET', h, 'last') or '')
if f and (not last or f > last) then redis.call('HSET', h, 'last', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HINCRBY', h, 'err:' .. ARGV[6], -1) end
if ARGV[7] ~= '' then redis.call('HINCRBY', h, 'err:' .. ARGV[7], 1) end
redis.call('EXPIRE', h, ARGV[8])
return 1
"""


def key(run_id: str) -> str:
    return f"labrun:progress:{run_id}"


@dataclass(frozen=True)
class Progress:
    done: int = 0
    ok: int = 0
    cost_usd: float = 0.0
    first: datetime | None = None
    last: datetime | None = None
    errors: dict[str, int] = field(default_factory=dict)


def _ts(dt: Any) -> str:
    return f"{dt.timestamp():.6f}" if isinstance(dt, datetime) else ""


def record(client: redis.Redis, run_id: str, prev: tuple[Any, Any, Any] | None, row: dict[str, Any]) -> None:
    """Count one written row; ``prev`` is the (status, error_type, cost) it replaced, None if new."""
    new_ok = row.get("status") == PredictionStatus.SUCCEEDED
    old_ok = prev is not None and prev[0] == PredictionStatus.SUCCEEDED
    old_cost = round(float(prev[2] or 0) * NANO) if prev else 0
    cost = round(float(row.get("cost_usd") or 0) * NANO) - old_cost
    old_err = (prev[1] or "") if prev else ""
    args = [0 if prev else 1, int(new_ok) - int(old_ok), cost, _ts(row.get("started_at")),
            _ts(row.get("finished_at")), old_err, row.get("error_type") or "", TTL_S]  # fmt: skip
    client.eval(_RECORD, 1, key(run_id), *args)


def seed(client: redis.Redis, run_id: str, p: Progress) -> None:
    """Replace the run's counters with ``p`` and trust them from now on."""
    mapping: dict[str, Any] = {"done": p.done, "ok": p.ok, "cost": round(p.cost_usd * NANO), SEEDED: 1}
    mapping |= {f"err:{k}": v for k, v in p.errors.items()}
    mapping |= {k: _ts(v) for k, v in (("first", p.first), ("last", p.last)) if v is not None}
    pipe = client.pipeline()
    pipe.delete(key(run_id))
    pipe.hset(key(run_id), mapping=mapping)  # type: ignore[arg-type]
    pipe.expire(key(run_id), TTL_S)
    pipe.execute()


def read(client: redis.Redis, run_id: str) -> Progress | None:
    """The counters, or None when not seeded (never seeded, or lost)."""
    h = {k.decode(): v.decode() for k, v in client.hgetall(key(run_id)).items()}  # type: ignore[union-attr]
    if SEEDED not in h:
        return None

    def when(name: str) -> datetime | None:
        return datetime.fromtimestamp(float(h[name]), UTC) if h.get(name) else None

    errors = {k[4:]: int(v) for k, v in h.items() if k.startswith("err:") and int(v) > 0}
    return Progress(int(h.get("done", 0)), int(h.get("ok", 0)), int(h.get("cost", 0)) / NANO,
                    when("first"), when("last"), errors)  # fmt: skip


def from_rows(session: Session, run_id: str) -> Progress:
    """The same figures aggregated from the run's rows."""
    n, n_ok, cost, first, last = session.execute(
        select(
            func.count(),
            func.count().filter(Prediction.status == PredictionStatus.SUCCEEDED),
            func.coalesce(func.sum(Prediction.cost_usd), 0),
            func.min(Prediction.started_at),
            func.max(Prediction.finished_at),
        ).where(Prediction.run_id == run_id)
    ).one()
    errors = session.execute(
        select(Prediction.error_type, func.count())
        .where(Prediction.run_id == run_id, Prediction.error_type.is_not(None))
        .group_by(Prediction.error_type)
    ).all()
    return Progress(int(n), int(n_ok), float(cost or 0), first, last, {str(t): int(c) for t, c in errors})
