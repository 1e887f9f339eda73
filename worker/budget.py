"""A run's hard budget, enforced across all workers (keys: ``labrun.shared.runs.budget``).

Before each provider call a worker reserves the call's estimated cost (the limiter's input-token
estimate, ``max_tokens`` of output, the alias's prices); after it, the reservation becomes the
real cost. One atomic Lua call decides, from ``spent`` (answered calls), ``reserved`` (calls in
flight) and the call's estimate ``e``:

- ``spent + reserved + e <= cap``: granted (reserved);
- ``spent + e > cap``: exhausted, whatever the calls in flight cost: the datapoint is skipped;
- otherwise: wait; the calls in flight decide (their estimates are upper bounds on output).

So the spend passes the cap only by what calls in flight cost beyond their estimates (an input
estimate below the real count), at most their own cost.

``runs.config["max_cost_usd"]`` is the cap's source of truth: before a datapoint is skipped, the
worker reads it again and, if it changed (``labrun retry --max-cost-usd``), puts it in Redis and
asks once more; ``set_cap`` makes a change visible before that.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import text

from labrun.shared.runs.budget import TTL_S, budget_keys, from_nano, set_cap, to_nano
from labrun.shared.storage.db.session import Database
from labrun.worker.budget_scripts import RESERVE, SEED, SETTLE, run_script

GRANTED, WAIT, EXHAUSTED = "granted", "wait", "exhausted"
POLL_S = 0.1

_SEED_QUERY = text(
    "SELECT r.config->'max_cost_usd', (SELECT COALESCE(sum(p.cost_usd), 0) FROM predictions p"
    " WHERE p.run_id = r.id) FROM runs r WHERE r.id = :id"
)
_CAP_QUERY = text("SELECT config->'max_cost_usd' FROM runs WHERE id = :id")
_OUTCOMES = {2: GRANTED, 1: WAIT, 0: EXHAUSTED}


@dataclass(frozen=True)
class Reservation:
    outcome: str  # GRANTED, WAIT or EXHAUSTED
    estimate_usd: float
    spent_usd: float
    reserved_usd: float  # in flight, this call's share included when granted
    cap_usd: float | None
    lease: str = ""  # the lease's member in the sorted set ("" unless granted)

    def explain(self) -> str:
        return (
            f"budget: ${self.spent_usd:.6f} of the ${self.cap_usd or 0:.6f} cap spent, "
            f"${self.reserved_usd:.6f} in flight; this call needs up to ${self.estimate_usd:.6f}"
        )


class Budget:
    def __init__(self, client: redis.Redis, db: Database) -> None:
        self.client, self.db = client, db

    def _eval(self, script: str, run_id: str, *args: Any) -> Any:
        return run_script(self.client, script, budget_keys(run_id), args)

    def seed(self, run_id: str) -> bool:
        """Put the run's cap (from its config) and spend (from its rows) in Redis, unless there."""
        with self.db.autocommit.connect() as conn:
            row = conn.execute(_SEED_QUERY, {"id": run_id}).one_or_none()
        cap, spent = (row[0], row[1]) if row is not None else (None, 0)
        return bool(self._eval(SEED, run_id, to_nano(cap), to_nano(float(spent or 0)), TTL_S))

    def reserve(self, run_id: str, estimate_usd: float, lease_s: float) -> Reservation:
        r = self._reserve(run_id, estimate_usd, lease_s)
        if r.outcome == EXHAUSTED:  # final only if the run's cap is still the one Redis holds
            found, cap = self.config_cap(run_id)
            if found and to_nano(cap) != to_nano(r.cap_usd) and set_cap(self.client, run_id, cap):
                r = self._reserve(run_id, estimate_usd, lease_s)
        return r

    def config_cap(self, run_id: str) -> tuple[bool, float | None]:
        """(the run exists, its ``max_cost_usd`` now)."""
        with self.db.autocommit.connect() as conn:
            row = conn.execute(_CAP_QUERY, {"id": run_id}).one_or_none()
        return (row is not None, row[0] if row is not None else None)

    def _reserve(self, run_id: str, estimate_usd: float, lease_s: float) -> Reservation:
        est = max(1, to_nano(estimate_usd))
        args = (est, uuid.uuid4().hex, int(lease_s * 1000), TTL_S)
        res = self._eval(RESERVE, run_id, *args)
        if int(res[0]) == -1:
            self.seed(run_id)
            res = self._eval(RESERVE, run_id, *args)
        outcome = _OUTCOMES[int(res[0])]
        lease = f"{args[1]}:{est}" if outcome == GRANTED else ""
        spent, reserved = from_nano(res[1]) or 0.0, from_nano(res[2]) or 0.0
        return Reservation(outcome, est / 1e9, spent, reserved, from_nano(res[3]), lease)

    def reserve_within(
        self,
        run_id: str,
        estimate_usd: float,
        lease_s: float,
        max_wait_s: float,
        sleep: Callable[[float], None],
    ) -> Reservation:
        """Reserve; while the calls in flight decide (WAIT), poll for up to ``max_wait_s``."""
        waited = 0.0
        while True:
            r = self.reserve(run_id, estimate_usd, lease_s)
            if r.outcome != WAIT or waited >= max_wait_s:
                return r
            step = POLL_S * (0.5 + random.random())
            sleep(step)
            waited += step

    def settle(self, run_id: str, reservation: Reservation | None, actual_usd: float) -> None:
        """The call is over: its reservation becomes ``actual_usd`` (0 for a call not answered)."""
        if reservation is None:
            return
        self._eval(SETTLE, run_id, reservation.lease, to_nano(actual_usd), TTL_S)
