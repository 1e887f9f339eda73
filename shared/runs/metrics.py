"""The metrics table, computed by SQL over ``predictions``: one row per run and segment.

Correctness is case-insensitive on whole path levels, as in shared.assign_cat.scoring.
Segments: ``all`` and ``level1=<top-level expected category>``. Accuracy is over valid
predictions only (status ``succeeded``) and reported beside coverage (valid / total); failures of
any kind are counted by ``error_type`` in ``errors_by_type`` and never as wrong answers.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

MAX_LEVELS = 10

METRICS_SQL = text(
    """
WITH seg AS (
    SELECT 'all' AS segment, p.* FROM predictions p WHERE p.run_id = :run_id
    UNION ALL
    SELECT 'level1=' || COALESCE(p.expected_path[1], '(none)'), p.*
    FROM predictions p WHERE p.run_id = :run_id
),
agg AS (
    SELECT segment,
           count(*) AS n,
           count(*) FILTER (WHERE status = 'succeeded') AS n_valid,
           count(*) FILTER (WHERE status = 'succeeded' AND correct) AS n_correct,
           count(*) FILTER (WHERE status = 'succeeded' AND correct IS NOT NULL) AS n_scored,
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
levels AS (
    SELECT segment, lvl,
           avg((lower(array_to_string(parsed_path[1:lvl], ' > '))
                = lower(array_to_string(expected_path[1:lvl], ' > ')))::int)::float AS acc
    FROM seg CROSS JOIN generate_series(1, :max_levels) AS lvl
    WHERE status = 'succeeded' AND cardinality(expected_path) >= lvl AND parsed_path IS NOT NULL
    GROUP BY segment, lvl
),
lv AS (
    SELECT segment, jsonb_object_agg(lvl::text, acc ORDER BY lvl) AS by_level FROM levels GROUP BY segment
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
    FROM seg WHERE status = 'succeeded' AND expected IS NOT NULL
    UNION ALL
    SELECT segment, lower(parsed), 0, (NOT COALESCE(correct, false))::int, 0
    FROM seg WHERE status = 'succeeded' AND expected IS NOT NULL AND parsed IS NOT NULL
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
    run_id, segment, n, n_valid, n_correct, coverage, accuracy, accuracy_by_level, macro_f1,
    cost_usd, prompt_tokens, completion_tokens, latency_p50_ms, latency_p95_ms, latency_p99_ms,
    errors_by_type, attempts_total, throughput_per_s, computed_at
)
SELECT :run_id, a.segment, a.n, a.n_valid, a.n_correct,
       a.n_valid::float / NULLIF(a.n, 0),
       a.n_correct::float / NULLIF(a.n_scored, 0),
       COALESCE(lv.by_level, '{}'::jsonb), f1.macro_f1,
       a.cost_usd, a.prompt_tokens, a.completion_tokens, a.p50, a.p95, a.p99,
       COALESCE(errs.by_type, '{}'::jsonb), a.attempts_total,
       a.n / NULLIF(a.span_s, 0), now()
FROM agg a
LEFT JOIN lv USING (segment)
LEFT JOIN errs USING (segment)
LEFT JOIN f1 USING (segment)
"""
)


def compute_metrics(session: Session, run_id: str) -> int:
    """Replace the run's metrics rows; returns how many segments were written."""
    session.execute(text("DELETE FROM metrics WHERE run_id = :run_id"), {"run_id": run_id})
    result = session.execute(METRICS_SQL, {"run_id": run_id, "max_levels": MAX_LEVELS})
    return int(getattr(result, "rowcount", 0) or 0)
