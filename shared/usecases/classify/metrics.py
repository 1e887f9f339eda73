"""Classify's metrics beside the generic ones (coverage, accuracy over valid answers, macro-F1):
segments by expected label, and for the whole run per-label precision / recall / F1 and the
confusion matrix (``metrics.extra``), in SQL over the valid predictions with an expected label."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labrun.shared.core.verdict import PredictionStatus

OK = PredictionStatus.SUCCEEDED.value
SEGMENT_SQL = "'label=' || COALESCE(p.expected, '(none)')"

EXTRA_METRICS_SQL = f"""
WITH valid AS (
    SELECT expected, parsed FROM seg
    WHERE segment = 'all' AND status = '{OK}' AND expected IS NOT NULL AND parsed IS NOT NULL
),
counts AS (
    SELECT l.label,
           count(*) FILTER (WHERE v.expected = l.label AND v.parsed = l.label) AS tp,
           count(*) FILTER (WHERE v.parsed = l.label AND v.expected <> l.label) AS fp,
           count(*) FILTER (WHERE v.expected = l.label AND v.parsed <> l.label) AS fn
    FROM (SELECT expected AS label FROM valid UNION SELECT parsed FROM valid) l
    CROSS JOIN valid v
    GROUP BY l.label
),
cells AS (
    SELECT expected, jsonb_object_agg(parsed, n ORDER BY parsed) AS row
    FROM (SELECT expected, parsed, count(*) AS n FROM valid GROUP BY expected, parsed) c
    GROUP BY expected
)
SELECT 'all', jsonb_build_object(
    'per_label', COALESCE((
        SELECT jsonb_object_agg(label, jsonb_build_object(
            'precision', tp::float / NULLIF(tp + fp, 0),
            'recall', tp::float / NULLIF(tp + fn, 0),
            'f1', 2.0 * tp / NULLIF(2 * tp + fp + fn, 0),
            'support', tp + fn) ORDER BY label)
        FROM counts), '{{}}'::jsonb),
    'confusion', COALESCE((SELECT jsonb_object_agg(expected, row ORDER BY expected) FROM cells), '{{}}'::jsonb))
"""


def per_label_table(extra: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    per = extra.get("per_label") or {}
    rows = [
        [label, s.get("precision"), s.get("recall"), s.get("f1"), s.get("support")]
        for label, s in per.items()
    ]
    return ["label", "precision", "recall", "F1", "support"], rows


def confusion_table(extra: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Rows: ``n label`` expected; columns: predicted, by the same numbers (fits 80 columns)."""
    confusion: Mapping[str, Mapping[str, int]] = extra.get("confusion") or {}
    labels = sorted({*confusion, *(p for row in confusion.values() for p in row)})
    header = ["expected \\ predicted", *(str(i) for i in range(1, len(labels) + 1))]
    rows = [[f"{i} {e}", *(confusion.get(e, {}).get(p, 0) for p in labels)] for i, e in enumerate(labels, 1)]
    return header, rows
