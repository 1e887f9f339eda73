"""A run's hard budget (``max_cost_usd``) as every worker sees it: one Redis hash per run.

``labrun:budget:{<run>}`` holds ``cap`` (-1: none), ``spent`` (the cost of the calls answered)
and ``reserved`` (estimates of the calls in flight), in nano-dollars; ``…:leases`` holds the
reservations in flight with their expiry, so a worker that dies mid-call frees its share.
Workers reserve and correct atomically (``worker/budget.py``); when the hash is missing (first
call, Redis restarted, expired after a week) the first worker to need it seeds it from
``runs.config["max_cost_usd"]`` and ``sum(predictions.cost_usd)``.

Raising a run's cap (``labrun retry RUN --max-cost-usd X``): commit the new
``runs.config["max_cost_usd"]`` first, then call :func:`set_cap` so the workers see it at their
next call (without it they would keep the cap in Redis until the hash is seeded again).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

NANO = 1_000_000_000  # amounts in Redis are integers, in nano-dollars
TTL_S = 7 * 24 * 3600  # refreshed by every reservation; the rows can always rebuild it

_SET_CAP = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'cap', ARGV[1])
return 1
"""


def budget_keys(run_id: str) -> tuple[str, str]:
    """The hash and the leases' sorted set (one hash tag: one Redis Cluster slot)."""
    base = f"labrun:budget:{{{run_id}}}"
    return base, f"{base}:leases"


def to_nano(usd: float | None) -> int:
    """Dollars as Redis holds them; None (no cap) is -1."""
    return -1 if usd is None else round(float(usd) * NANO)


def from_nano(value: int | bytes | str | None) -> float | None:
    n = int(value) if value is not None else -1
    return None if n < 0 else n / NANO


def set_cap(client: redis.Redis, run_id: str, cap_usd: float | None) -> bool:
    """Set the cap the workers check (None: no cap) if the run's budget is in Redis; False when it
    is not, and the next worker seeds it from the run's config."""
    return bool(client.eval(_SET_CAP, 1, budget_keys(run_id)[0], to_nano(cap_usd)))


@dataclass(frozen=True)
class BudgetState:
    cap_usd: float | None
    spent_usd: float
    reserved_usd: float  # estimates of the calls in flight


def budget_state(client: redis.Redis, run_id: str) -> BudgetState | None:
    """What Redis holds for the run now (None: not seeded, or no calls since a restart)."""
    cap, spent, reserved = client.hmget(budget_keys(run_id)[0], ["cap", "spent", "reserved"])  # type: ignore[misc]
    if cap is None:
        return None
    return BudgetState(from_nano(cap), from_nano(spent) or 0.0, max(0.0, from_nano(reserved) or 0.0))


def forget(client: redis.Redis, run_id: str) -> None:
    """Drop the run's budget from Redis; the next worker seeds it again from the rows."""
    client.delete(*budget_keys(run_id))
