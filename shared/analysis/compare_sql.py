"""The SQL of a paired comparison: two runs' ``predictions`` rows matched by the datapoint's
``external_id`` (so runs over different snapshots of a dataset still pair).

Parameters: ``:a`` and ``:b`` (run ids) and ``:ok`` (the valid status). A row is *judged* when it
is valid and scored (``status = :ok AND correct IS NOT NULL``), as ``metrics.accuracy`` counts it;
the paired rows are those judged in both runs. Segments come from run A's use case
(``UseCase.segment_sql``, an expression over A's predictions row ``p``).
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import TextClause, text

JUDGED = "{s}.status = :ok AND {s}.correct IS NOT NULL"
BOTH_JUDGED = f"{JUDGED.format(s='a')} AND {JUDGED.format(s='b')}"


def _sides(segment_sql: str | None) -> str:
    segment = segment_sql or "'all'"
    return f"""
WITH a AS (
    SELECT d.external_id, d.position, COALESCE(p.expected, d.expected) AS expected,
           p.status, p.correct, p.parsed, COALESCE(({segment})::text, '(none)') AS segment
    FROM predictions p JOIN datapoints d ON d.id = p.datapoint_id
    WHERE p.run_id = :a
),
b AS (
    SELECT d.external_id, p.status, p.correct, p.parsed
    FROM predictions p JOIN datapoints d ON d.id = p.datapoint_id
    WHERE p.run_id = :b
)"""


RUN_STATS = text("""
SELECT p.run_id,
       count(*) AS n,
       count(*) FILTER (WHERE p.status = :ok) AS n_answered,
       count(*) FILTER (WHERE p.status = :ok AND p.correct IS NOT NULL) AS n_judged,
       count(*) FILTER (WHERE p.status = :ok AND p.correct) AS n_correct,
       COALESCE(sum(p.cost_usd), 0)::float AS cost_usd,
       percentile_cont(0.50) WITHIN GROUP (ORDER BY p.latency_ms) AS latency_p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY p.latency_ms) AS latency_p95_ms
FROM predictions p
WHERE p.run_id IN (:a, :b)
GROUP BY p.run_id
""")


@lru_cache(maxsize=16)
def overlap_sql(segment_sql: str | None) -> TextClause:
    """One row: shared / only-in-A / only-in-B datapoints, and why shared ones are not paired."""
    return text(f"""{_sides(segment_sql)}
SELECT count(*) FILTER (WHERE a.external_id IS NOT NULL AND b.external_id IS NOT NULL) AS n_shared,
       count(*) FILTER (WHERE b.external_id IS NULL) AS n_only_a,
       count(*) FILTER (WHERE a.external_id IS NULL) AS n_only_b,
       count(*) FILTER (WHERE {BOTH_JUDGED}) AS n_paired,
       count(*) FILTER (WHERE a.status <> :ok AND b.external_id IS NOT NULL) AS n_failed_a,
       count(*) FILTER (WHERE b.status <> :ok AND a.external_id IS NOT NULL) AS n_failed_b,
       count(*) FILTER (WHERE a.status = :ok AND b.status = :ok
                        AND (a.correct IS NULL OR b.correct IS NULL)) AS n_unjudged
FROM a FULL JOIN b ON a.external_id = b.external_id
""")


@lru_cache(maxsize=16)
def cells_sql(segment_sql: str | None) -> TextClause:
    """The paired 2x2 table per segment (each paired row is in exactly one segment)."""
    return text(f"""{_sides(segment_sql)}
SELECT a.segment,
       count(*) FILTER (WHERE a.correct AND b.correct) AS both_right,
       count(*) FILTER (WHERE a.correct AND NOT b.correct) AS a_only,
       count(*) FILTER (WHERE NOT a.correct AND b.correct) AS b_only,
       count(*) FILTER (WHERE NOT a.correct AND NOT b.correct) AS both_wrong
FROM a JOIN b ON a.external_id = b.external_id
WHERE {BOTH_JUDGED}
GROUP BY a.segment
ORDER BY count(*) DESC, a.segment
""")


FLIPS_WHERE = f"{BOTH_JUDGED} AND a.correct = :a_right AND b.correct = NOT :a_right"

FLIPS_COUNT = text(f"""{_sides(None)}
SELECT count(*) FROM a JOIN b ON a.external_id = b.external_id WHERE {FLIPS_WHERE}
""")

FLIPS_PAGE = text(f"""{_sides(None)}
SELECT a.external_id, a.expected, a.parsed AS parsed_a, b.parsed AS parsed_b
FROM a JOIN b ON a.external_id = b.external_id
WHERE {FLIPS_WHERE}
ORDER BY a.position, a.external_id
LIMIT :limit OFFSET :offset
""")
