"""Benchmark: how far past its cap does a run's budget let the spend go with 100 calls in flight,
and how much of the cap does it use? (Not a test.) --in-flight threads call a simulated provider
through labrun's budget (``worker/budget.py``: the real Lua scripts in a scratch Redis database,
no Postgres) until the budget says exhausted. A call reserves its estimate (input-token estimate
at gpt-4o-mini's prices, ``max_tokens`` of output) and costs less output than that, and, with
--under > 1, more input than estimated (text the 4-characters-a-token rule undercounts).

Reported per scenario (median repeat): calls, spent / cap, the overshoot past the cap against the
cost of the calls in flight when the budget ran out (target: at most their cost), and the budget's
Redis time per call (reserve + settle).

    .venv/bin/python scripts/bench_budget.py --redis redis://127.0.0.1:6379/12 --under 1.0 1.3 2.0
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import threading
import time
import uuid
from typing import Any

PRICE_IN, PRICE_OUT = 0.15 / 1e6, 0.60 / 1e6  # gpt-4o-mini, per token
MAX_TOKENS = 64


def one_run(client: Any, in_flight: int, cap_calls: int, latency_s: float, under: float) -> dict[str, Any]:
    from labrun.worker.budget import GRANTED, Budget

    class ScratchBudget(Budget):
        """The cap from the scratch run's "config" (no database)."""

        def config_cap(self, run_id: str) -> tuple[bool, float | None]:
            return True, cap

        def seed(self, run_id: str) -> bool:
            from labrun.shared.runs.budget import TTL_S, to_nano
            from labrun.worker.budget_scripts import SEED

            return bool(self._eval(SEED, run_id, to_nano(cap), 0, TTL_S))

    run_id = f"bench-budget-{uuid.uuid4().hex[:8]}"
    mean_cost = 500 * PRICE_IN + 20 * PRICE_OUT
    cap = cap_calls * mean_cost
    settled: list[tuple[float, float]] = []  # (when, cost)
    redis_s: list[float] = []
    lock = threading.Lock()

    def caller(seed: int) -> None:
        rng = random.Random(seed)
        budget = ScratchBudget(client, None)  # type: ignore[arg-type]
        while True:
            est_in = rng.randint(200, 800)
            estimate = est_in * PRICE_IN + MAX_TOKENS * PRICE_OUT
            t = time.perf_counter()
            r = budget.reserve_within(run_id, estimate, lease_s=120, max_wait_s=30, sleep=time.sleep)
            took = time.perf_counter() - t
            if r.outcome != GRANTED:
                return
            time.sleep(latency_s * rng.uniform(0.5, 1.5))  # the call
            cost = round(est_in * rng.uniform(0.7, under)) * PRICE_IN + rng.randint(5, MAX_TOKENS) * PRICE_OUT
            t = time.perf_counter()
            budget.settle(run_id, r, cost)
            took += time.perf_counter() - t
            with lock:
                settled.append((time.monotonic(), cost))
                redis_s.append(took)

    started = time.monotonic()
    threads = [threading.Thread(target=caller, args=(i,)) for i in range(in_flight)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    from labrun.shared.runs.budget import budget_state, forget

    state = budget_state(client, run_id)
    forget(client, run_id)
    spent = sum(c for _, c in settled)
    last = [c for _, c in sorted(settled)[-in_flight:]]  # the calls in flight when it ran out
    return {
        "under": under,
        "calls": len(settled),
        "cap_usd": cap,
        "spent_usd": spent,
        "redis_spent_usd": state.spent_usd if state else None,
        "used": spent / cap,
        "overshoot_usd": max(0.0, spent - cap),
        "in_flight_cost_usd": sum(last),
        "overshoot_per_in_flight_cost": max(0.0, spent - cap) / sum(last),
        "redis_ms_per_call_p50": statistics.median(redis_s) * 1000,
        "seconds": time.monotonic() - started,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/12", help="a scratch Redis database")
    ap.add_argument("--in-flight", type=int, default=100)
    ap.add_argument("--cap-calls", type=int, default=1000, help="the cap, in calls of mean cost")
    ap.add_argument("--latency-ms", type=float, default=200)
    ap.add_argument("--under", type=float, nargs="+", default=[1.0, 1.3, 2.0],
                    help="real input tokens up to this many times the estimate")  # fmt: skip
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="write every repeat here")
    args = ap.parse_args()

    import redis

    client = redis.Redis.from_url(args.redis)
    results = []
    print(
        f"{args.in_flight} calls in flight, cap = {args.cap_calls} mean calls, {args.latency_ms:.0f} ms per call"
    )
    print(f"{'under':>6} {'calls':>6} {'used':>7} {'overshoot $':>12} {'in-flight $':>12} {'ratio':>6} "
          f"{'redis ms':>9}   (median of {args.repeat} by ratio)")  # fmt: skip
    for under in args.under:
        runs = [one_run(client, args.in_flight, args.cap_calls, args.latency_ms / 1000, under)
                for _ in range(args.repeat)]  # fmt: skip
        results += runs
        m = sorted(runs, key=lambda r: r["overshoot_per_in_flight_cost"])[len(runs) // 2]
        worst = max(r["overshoot_per_in_flight_cost"] for r in runs)
        print(f"{under:>6.1f} {m['calls']:>6} {m['used']:>7.1%} {m['overshoot_usd']:>12.6f} "
              f"{m['in_flight_cost_usd']:>12.6f} {m['overshoot_per_in_flight_cost']:>6.2f} "
              f"{m['redis_ms_per_call_p50']:>9.2f}   worst ratio {worst:.2f}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
