"""Assign-cat's metrics beside the generic ones: segments by top-level expected category, and
accuracy at each level of the path (``metrics.extra.accuracy_by_level``), in SQL."""

from __future__ import annotations

from labrun.shared.core.verdict import PredictionStatus

MAX_LEVELS = 10

OK = PredictionStatus.SUCCEEDED.value
SEGMENT_SQL = "'level1=' || COALESCE(p.details->'expected_path'->>0, '(none)')"

# Over seg(segment, predictions columns): the share of valid rows whose first ``lvl`` levels match
# (case-insensitive), among those whose expected path has at least ``lvl`` levels. One pass: each
# row's matching depth (the levels before the first mismatch), then two counts per level. The
# first version joined every row with each level and rebuilt both paths per pair: 4.2 s of a
# 100,000-row run's 6.8 s of metrics (docs/benchmarks.md). Each ``OFFSET 0`` keeps a row's paths
# and depth computed once (Postgres would otherwise inline the subquery into each of their uses).
_COUNTS = ",\n".join(
    f"    '{lvl}', ((count(*) FILTER (WHERE depth >= {lvl}))::numeric"
    f" / NULLIF(count(*) FILTER (WHERE n_exp >= {lvl}), 0))::float"
    for lvl in range(1, MAX_LEVELS + 1)
)
EXTRA_METRICS_SQL = f"""
SELECT segment, jsonb_build_object('accuracy_by_level', jsonb_strip_nulls(jsonb_build_object(
{_COUNTS}
)))
FROM (
    SELECT segment, cardinality(ep) AS n_exp,
           COALESCE((SELECT min(i) - 1 FROM generate_subscripts(ep, 1) AS i
                     WHERE lower(pp[i]) IS DISTINCT FROM lower(ep[i])), cardinality(ep)) AS depth
    FROM (
        SELECT segment,
               ARRAY(SELECT jsonb_array_elements_text(details->'parsed_path')) AS pp,
               ARRAY(SELECT jsonb_array_elements_text(details->'expected_path')) AS ep
        FROM seg
        WHERE status = '{OK}' AND jsonb_typeof(details->'parsed_path') = 'array'
              AND jsonb_typeof(details->'expected_path') = 'array'
        OFFSET 0
    ) paths
    OFFSET 0
) v
GROUP BY segment
HAVING count(*) FILTER (WHERE n_exp >= 1) > 0
"""


def levels_line(extra: dict[str, object]) -> str:
    by_level = extra.get("accuracy_by_level") or {}
    assert isinstance(by_level, dict)
    return "  ".join(f"L{k} {_pct(v)}" for k, v in sorted(by_level.items(), key=lambda kv: int(kv[0])))


def _pct(x: object) -> str:
    return "-" if not isinstance(x, int | float) else f"{100 * x:.1f}%"
