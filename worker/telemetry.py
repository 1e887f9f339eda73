"""Prometheus metrics of a worker process, served on its own port (``LABRUN_WORKER_METRICS_PORT``,
default 9808; a worker whose port is taken tries the next ones, so several processes on one host
each get one; the port is logged). Counted where the outcome is known: rows by status and error
type, tokens, cost, 429s, the limiter's wait, cache hits, run durations; the queue depth per run is
read from Redis at scrape time."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)
PORT_TRIES = 64

DATAPOINTS = Counter("labrun_datapoints_total", "Prediction rows written", ["model", "status", "error_type"])
TOKENS = Counter("labrun_tokens_total", "Tokens of answered calls", ["model", "kind"])
COST = Counter("labrun_cost_usd_total", "Cost of answered calls (cache hits cost 0)", ["model"])
RATE_LIMITED = Counter("labrun_rate_limited_total", "429 answers from providers", ["model"])
CACHE_HITS = Counter("labrun_cache_hits_total", "Answers taken from the response cache", ["model"])
LIMITER_WAIT = Histogram(
    "labrun_limiter_wait_seconds", "Time waiting for rate-limit capacity before a call", ["model"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 20, 60),
)  # fmt: skip
RUN_DURATION = Histogram(
    "labrun_run_duration_seconds", "Runs settled: started to finished", ["use_case"],
    buckets=(10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400),
)  # fmt: skip


def row_written(model: str, row: dict[str, Any]) -> None:
    DATAPOINTS.labels(model, str(row.get("status")), str(row.get("error_type") or "")).inc()
    if row.get("prompt_tokens"):
        TOKENS.labels(model, "input").inc(int(row["prompt_tokens"]))
    if row.get("completion_tokens"):
        TOKENS.labels(model, "output").inc(int(row["completion_tokens"]))
    if row.get("cost_usd"):
        COST.labels(model).inc(float(row["cost_usd"]))
    if row.get("cache_hit"):
        CACHE_HITS.labels(model).inc()


class QueueDepth:
    """``labrun_queue_depth{run}``: datapoints of each active run not yet released, plus the
    predict queue's length (read from Redis when scraped)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def collect(self) -> Any:
        from labrun.shared.storage.broker import QUEUE_PREDICT

        g = GaugeMetricFamily(
            "labrun_queue_depth", "Datapoints waiting to be released, by run", labels=["run"]
        )
        try:
            for raw in self.client.zrange("labrun:active", 0, -1):
                run = raw.decode()
                total, cursor = self.client.hmget(f"labrun:release:{run}", ["total", "cursor"])
                if total is not None:
                    g.add_metric([run], max(0, int(total) - int(cursor or -1) - 1))
            g.add_metric(["(queued messages)"], int(self.client.llen(QUEUE_PREDICT)))
        except Exception:  # Redis away: no sample rather than a failed scrape
            pass
        yield g


def serve(port: int, client: Any) -> int | None:
    """Start the metrics endpoint on ``port`` or the next free one; returns the port (None: off)."""
    if port <= 0:
        return None
    REGISTRY.register(QueueDepth(client))
    for p in range(port, port + PORT_TRIES):
        try:
            start_http_server(p, addr="0.0.0.0")  # noqa: S104 - scraped from inside the cluster
        except OSError:
            continue
        log.warning("prometheus metrics on :%d/metrics", p)
        return p
    log.warning("no free port for metrics in %d-%d", port, port + PORT_TRIES - 1)
    return None
