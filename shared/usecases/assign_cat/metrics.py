"""Assign-cat's metrics beside the generic ones: segments by top-level expected category, and
accuracy at each level of the path (``metrics.extra.accuracy_by_level``), in SQL."""

from __future__ import annotations

from labrun.shared.core.verdict import PredictionStatus

MAX_LEVELS = 10

OK = PredictionStatus.SUCCEEDED.value
SEGMENT_SQL = "'level1=' || COALESCE(p.details->'expected_path'->>0, '(none)')"

# Over seg(segment, predictions columns): the share of valid rows whose first ``lvl`` levels match.
EXTRA_METRICS_SQL = f"""
SELECT segment, jsonb_build_object('accuracy_by_level', jsonb_object_agg(lvl::text, acc ORDER BY lvl))
FROM (
    SELECT segment, lvl,
           avg((lower(array_to_string(pp[1:lvl], ' > ')) = lower(array_to_string(ep[1:lvl], ' > ')))::int)::float
               AS acc
    FROM (
        SELECT segment,
               ARRAY(SELECT jsonb_array_elements_text(details->'parsed_path')) AS pp,
               ARRAY(SELECT jsonb_array_elements_text(details->'expected_path')) AS ep
        FROM seg
        WHERE status = '{OK}' AND jsonb_typeof(details->'parsed_path') = 'array'
              AND jsonb_typeof(details->'expected_path') = 'array'
    ) v
    CROSS JOIN generate_series(1, {MAX_LEVELS}) AS lvl
    WHERE cardinality(ep) >= lvl
    GROUP BY segment, lvl
) levels
GROUP BY segment
"""


def levels_line(extra: dict[str, object]) -> str:
    by_level = extra.get("accuracy_by_level") or {}
    assert isinstance(by_level, dict)
    return "  ".join(f"L{k} {_pct(v)}" for k, v in sorted(by_level.items(), key=lambda kv: int(kv[0])))


def _pct(x: object) -> str:
    return "-" if not isinstance(x, int | float) else f"{100 * x:.1f}%"
