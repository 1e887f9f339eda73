"""The metrics table, computed by SQL over ``predictions``: one row per run and segment.

Generic for every use case: ``all`` plus the use case's segments (``UseCase.segment_sql``);
coverage, accuracy over valid predictions only (status ``succeeded``), label macro-F1, cost,
tokens, latency percentiles, errors by type, attempts, throughput. Failures of any kind are counted
by ``error_type`` and never as wrong answers. Rows skipped for the run's budget were never called:
they are counted apart (``n_skipped``) and are in neither ``n`` (so not in coverage) nor the
errors. Answers from the response cache are counted (``n_cache_hits``), with what they cost when
they were paid for (``cached_cost_usd``; ``cost_usd`` is this run's spend). The use case's extra
metrics (``extra_metrics_sql``) land in ``metrics.extra``.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.usecases.base import UseCase

OK = PredictionStatus.SUCCEEDED.value
SKIPPED = PredictionStatus.SKIPPED_BUDGET.value

GENERIC = f"""
agg AS (
    SELECT segment,
           count(*) FILTER (WHERE status <> '{SKIPPED}') AS n,
           count(*) FILTER (WHERE status = '{SKIPPED}') AS n_skipped,
           count(*) FILTER (WHERE cache_hit) AS n_cache_hits,
           COALESCE(sum(cached_cost_usd), 0) AS cached_cost_usd,
           count(*) FILTER (WHERE status = '{OK}') AS n_valid,
           count(*) FILTER (WHERE status = '{OK}' AND correct) AS n_correct,
           count(*) FILTER (WHERE status = '{OK}' AND correct IS NOT NULL) AS n_scored,
           COALESCE(sum(cost_usd), 0) AS cost_usd,
           COALESCE(sum(prompt_tokens), 0) AS prompt_tokens,
           COALESCE(sum(completion_tokens), 0) AS completion_tokens,
           COALESCE(sum(attempts), 0) AS attempts_total,
           percentile_cont(0.50) WITHIN GROUP (ORDER BY latency_ms) AS p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99,
           extract(epoch FROM max(finished_at) - min(started_at)) AS span_s
    FROM seg GROUP BY segment
),
errs AS (
    SELECT segment, jsonb_object_agg(error_type, c) AS by_type
    FROM (SELECT segment, error_type, count(*) AS c FROM seg
          WHERE error_type IS NOT NULL GROUP BY segment, error_type) e
    GROUP BY segment
),
lab AS (
    SELECT segment, lower(expected) AS label, COALESCE(correct, false)::int AS tp, 0 AS fp,
           (NOT COALESCE(correct, false))::int AS fn
    FROM seg WHERE status = '{OK}' AND expected IS NOT NULL
    UNION ALL
    SELECT segment, lower(parsed), 0, (NOT COALESCE(correct, false))::int, 0
    FROM seg WHERE status = '{OK}' AND expected IS NOT NULL AND parsed IS NOT NULL
),
cls AS (
    SELECT segment, label, sum(tp) AS tp, sum(fp) AS fp, sum(fn) AS fn FROM lab GROUP BY segment, label
),
f1 AS (
    SELECT segment,
           avg(CASE WHEN 2 * tp + fp + fn = 0 THEN 0
                    ELSE 2.0 * tp / (2 * tp + fp + fn) END)::float AS macro_f1
    FROM cls GROUP BY segment
)
INSERT INTO metrics (
    run_id, segment, n, n_valid, n_correct, coverage, accuracy, macro_f1, extra,
    cost_usd, prompt_tokens, completion_tokens, latency_p50_ms, latency_p95_ms, latency_p99_ms,
    errors_by_type, attempts_total, throughput_per_s, n_skipped, n_cache_hits, cached_cost_usd, computed_at
)
SELECT :run_id, a.segment, a.n, a.n_valid, a.n_correct,
       a.n_valid::float / NULLIF(a.n, 0),
       a.n_correct::float / NULLIF(a.n_scored, 0),
       f1.macro_f1, COALESCE(x.extra, '{{}}'::jsonb),
       a.cost_usd, a.prompt_tokens, a.completion_tokens, a.p50, a.p95, a.p99,
       COALESCE(errs.by_type, '{{}}'::jsonb), a.attempts_total,
       a.n / NULLIF(a.span_s, 0), a.n_skipped, a.n_cache_hits, a.cached_cost_usd, now()
FROM agg a
LEFT JOIN errs USING (segment)
LEFT JOIN f1 USING (segment)
LEFT JOIN x USING (segment)
"""


@lru_cache(maxsize=16)
def metrics_sql(use_case: UseCase) -> TextClause:
    """The statement for one use case: its segments and extra metrics around the generic part."""
    seg = "SELECT 'all' AS segment, p.* FROM predictions p WHERE p.run_id = :run_id"
    if use_case.segment_sql:
        seg += f"\n    UNION ALL\n    SELECT {use_case.segment_sql}, p.* FROM predictions p WHERE p.run_id = :run_id"
    extra = use_case.extra_metrics_sql or "SELECT NULL::text AS segment, NULL::jsonb AS extra WHERE false"
    return text(f"WITH seg AS (\n    {seg}\n),\nx(segment, extra) AS (\n{extra}\n),\n{GENERIC}")


def compute_metrics(session: Session, run_id: str, use_case: UseCase) -> int:
    """Replace the run's metrics rows; returns how many segments were written."""
    session.execute(text("DELETE FROM metrics WHERE run_id = :run_id"), {"run_id": run_id})
    result = session.execute(metrics_sql(use_case), {"run_id": run_id})
    return int(getattr(result, "rowcount", 0) or 0)
