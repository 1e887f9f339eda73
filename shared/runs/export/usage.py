"""``outputs/token_usage.json`` and ``outputs/timing.json``: sums and percentiles computed in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from labrun.shared.runs.export.common import MISSING, Export, iso, num, seconds
from labrun.shared.storage.db.models import Prediction


def usage_by_status(ex: Export) -> dict[str, dict[str, Any]]:
    """Per prediction status: count, tokens, cost and attempts (summed in SQL)."""
    p = Prediction
    rows = ex.session.execute(
        select(
            p.status,
            func.count(),
            func.coalesce(func.sum(p.prompt_tokens), 0),
            func.coalesce(func.sum(p.completion_tokens), 0),
            func.coalesce(func.sum(p.cost_usd), 0),
            func.coalesce(func.sum(p.attempts), 0),
        )
        .where(p.run_id == ex.run.id)
        .group_by(p.status)
        .order_by(p.status)
    ).all()
    out: dict[str, dict[str, Any]] = {}
    for status, n, prompt, completion, cost, attempts in rows:
        out[status] = _usage(
            int(n), int(prompt or 0), int(completion or 0), float(cost or 0), int(attempts or 0)
        )
    return out


def _usage(n: int, prompt: int, completion: int, cost: float, attempts: int) -> dict[str, Any]:
    return {
        "n": n,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cost_usd": cost,
        "attempts": attempts,
    }


def write_token_usage(ex: Export, by_status: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``outputs/token_usage.json``: totals, per-status sums and the model prices in force."""
    keys = ("n", "prompt_tokens", "completion_tokens", "cost_usd", "attempts")
    sums = {k: sum(u[k] for u in by_status.values()) for k in keys}
    totals = _usage(*(sums[k] for k in keys))
    per_status = dict(by_status)
    per_status[MISSING] = _usage(max(ex.run.n_total - totals["n"], 0), 0, 0, 0.0, 0)
    model = ex.run.config.get("model") or {}
    prices = model.get("price_per_1m") or {}
    recomputed = None
    if "input" in prices and "output" in prices:
        recomputed = (
            totals["prompt_tokens"] * prices["input"] + totals["completion_tokens"] * prices["output"]
        ) / 1_000_000
    usage = {
        "run_id": ex.run.id,
        "model": {
            "alias": ex.run.model_alias,
            "provider": model.get("provider"),
            "model": model.get("model"),
        },
        "price_per_1m": prices,
        "totals": totals,
        "by_status": per_status,
        "cost_usd_at_list_prices": recomputed,
    }
    ex.write_json("outputs/token_usage.json", usage)
    return usage


def write_timing(ex: Export) -> dict[str, Any]:
    """``outputs/timing.json``: run timestamps, wall time, latency percentiles (SQL), throughput."""
    p, run = Prediction, ex.run
    n, n_lat, p50, p95, p99, mean, lo, hi, first, last = ex.session.execute(
        select(
            func.count(),
            func.count(p.latency_ms),
            func.percentile_cont(0.50).within_group(p.latency_ms),
            func.percentile_cont(0.95).within_group(p.latency_ms),
            func.percentile_cont(0.99).within_group(p.latency_ms),
            func.avg(p.latency_ms),
            func.min(p.latency_ms),
            func.max(p.latency_ms),
            func.min(p.started_at),
            func.max(p.finished_at),
        ).where(p.run_id == run.id)
    ).one()
    wall = seconds(run.started_at, run.finished_at)
    span = seconds(first, last)
    timing = {
        "run_id": run.id,
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "queued_seconds": seconds(run.created_at, run.started_at),
        "wall_seconds": wall,
        "first_prediction_started_at": iso(first),
        "last_prediction_finished_at": iso(last),
        "predictions_span_seconds": span,
        "predictions": int(n),
        # one definition everywhere (metrics row, GET /runs/{id}, here): rows per second of the
        # predictions' span, first call started to last row written
        "throughput_per_s": int(n) / span if span else None,
        "latency_ms": {
            "n": int(n_lat),
            "p50": num(p50),
            "p95": num(p95),
            "p99": num(p99),
            "mean": num(mean),
            "min": num(lo),
            "max": num(hi),
        },
    }
    ex.write_json("outputs/timing.json", timing)
    return timing
