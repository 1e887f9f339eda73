"""Assign-cat's accuracy at each level of the category path (``metrics.extra``), in SQL: known
figures on crafted paths, and the same figures as the first version of the query, which rebuilt
both paths for every (row, level) pair and was 4.2 s of a 100,000-row run's metrics."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from labrun.shared.storage.db.session import session_scope
from labrun.shared.usecases.assign_cat import metrics
from tests.integration.built_runs import build_run, product

pytestmark = pytest.mark.integration

# (parsed path, expected path); None: not a valid row for this metric
CASES = [
    (["A", "B", "C"], ["A", "B", "C"]),  # right at every level
    (["a", "b"], ["A", "B"]),  # case does not matter
    (["A"], ["A", "B", "C"]),  # an answer shallower than expected
    (["A", "B", "C", "D"], ["A", "B"]),  # deeper than expected: right at both expected levels
    (["A", "X", "C"], ["A", "B", "C"]),  # wrong from level 2 on, even where level 3 matches again
    (["X", "B"], ["Y", "B"]),  # wrong at level 1
    (["A"], []),  # no expected path: counted at no level
    (None, ["A", "B"]),  # no parsed path: not counted
]

FIRST_VERSION = f"""
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
        WHERE status = 'succeeded' AND jsonb_typeof(details->'parsed_path') = 'array'
              AND jsonb_typeof(details->'expected_path') = 'array'
    ) v
    CROSS JOIN generate_series(1, {metrics.MAX_LEVELS}) AS lvl
    WHERE cardinality(ep) >= lvl
    GROUP BY segment, lvl
) levels
GROUP BY segment
"""


def _by_segment(sql: str, run_id: str) -> dict[str, dict]:
    seg = f"SELECT 'all' AS segment, p.* FROM predictions p WHERE p.run_id = :r UNION ALL " \
          f"SELECT {metrics.SEGMENT_SQL}, p.* FROM predictions p WHERE p.run_id = :r"  # fmt: skip
    with session_scope() as s:
        rows = s.execute(text(f"WITH seg AS ({seg}) {sql}"), {"r": run_id}).all()
    return {segment: extra for segment, extra in rows}


def test_accuracy_by_level_known_figures_and_the_first_version_agrees(settings_env):
    rows = [product(i, "b", category=" > ".join(exp) or "Food") for i, (_, exp) in enumerate(CASES)]
    preds = [
        {"details": {"expected_path": exp, **({"parsed_path": parsed} if parsed is not None else {})}}
        for parsed, exp in CASES
    ]
    run_id = build_run(rows, preds)
    now = _by_segment(metrics.EXTRA_METRICS_SQL, run_id)
    assert now["all"] == {"accuracy_by_level": {"1": 5 / 6, "2": 3 / 6, "3": 1 / 3}}
    assert now == _by_segment(FIRST_VERSION, run_id)  # every segment, to the last digit
    with session_scope() as s:  # and it is what the metrics table holds
        extra = s.execute(
            text("SELECT extra FROM metrics WHERE run_id = :r AND segment = 'all'"), {"r": run_id}
        )
        assert extra.scalar_one() == now["all"]
