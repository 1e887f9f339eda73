"""A run's figures by any field, computed on the fly in SQL (``labrun show RUN --by FIELD``,
``GET /runs/{id}/segments?by=FIELD``); nothing is written to the metrics table.

Fields (:func:`segment_fields` lists them for a run):

- a scalar column of ``predictions`` (``status``, ``error_type``, ``response_model``, ``attempts``,
  ...), discovered in the database at each call, so a column added by a migration is offered as
  soon as it exists; grouped by value. Sizes (``*_chars``, ``*_tokens``) and fractional numbers
  (``latency_ms``, ``cost_usd``) are bucketed.
- ``input.<col>``: the datapoint's input value; ``len(input.<col>)``: its length, bucketed.

Buckets are half-open ranges on a 1-2-5 scale (``0``, ``1-2``, ``2-5``, ``5-10``, ``10-20``, ...,
``0.001-0.002``): a few segments at any scale, and the same edges for every run, so the segments
of two runs line up (quantile edges would move with each run's data). The figures reuse the
metrics table's SQL (``shared/runs/metrics.py``): coverage, accuracy over judged rows with its
95% Wilson interval, macro-F1, cost, latency p50/p95, errors by type. Field names are checked
against the discovered lists; input keys travel as bound parameters, never as SQL text.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from labrun.shared.analysis.schemas import Frozen, IntervalOut
from labrun.shared.analysis.stats import wilson
from labrun.shared.core.errors import InputError, NotFound
from labrun.shared.runs.export.columns import quote, table_columns
from labrun.shared.runs.export.table_rows import input_keys
from labrun.shared.runs.metrics import GENERIC
from labrun.shared.storage.db.models import Run

_AGGREGATES, _SEP, _ = GENERIC.partition("INSERT INTO metrics")
if not _SEP:  # the metrics statement changed shape: its aggregate CTEs can no longer be cut out
    raise RuntimeError("shared/runs/metrics.py GENERIC no longer ends with INSERT INTO metrics")
NOT_FIELDS = {"run_id", "datapoint_id", "raw_uri", "raw_output", "error_message", "provider_request_id"}
NONE = "(none)"
_INPUT = re.compile(r"input\.(.+)")
_LEN = re.compile(r"len\(\s*input\.(.+?)\s*\)")


class SegmentRow(Frozen):
    segment: str
    n: int
    n_valid: int
    coverage: float | None
    n_judged: int
    n_correct: int
    accuracy: float | None
    accuracy_ci: IntervalOut | None
    macro_f1: float | None
    cost_usd: float
    cost_per_row_usd: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    errors: int
    errors_by_type: dict[str, int]


class Segments(Frozen):
    run_id: str
    by: str
    bucketed: bool
    segments: tuple[SegmentRow, ...]


def _columns(session: Session) -> dict[str, bool]:
    """Scalar predictions columns -> whether they are bucketed."""
    return {
        c.name: c.kind == "float" or (c.kind == "int" and c.name.endswith(("_chars", "_tokens")))
        for c in table_columns(session, "predictions")
        if c.kind in ("text", "int", "float", "bool") and c.name not in NOT_FIELDS
    }


def segment_fields(session: Session, run: Run) -> list[str]:
    keys = input_keys(session, run)
    return [*_columns(session), *(f"input.{k}" for k in keys), *(f"len(input.{k})" for k in keys)]


def _resolve(session: Session, run: Run, by: str) -> tuple[str, bool]:
    """The field's SQL value over ``p`` (predictions) and ``d`` (datapoints), and whether to bucket."""
    columns = _columns(session)
    if by in columns:
        return f"p.{quote(by)}", columns[by]
    for pattern, bucketed in ((_LEN, True), (_INPUT, False)):
        if (m := pattern.fullmatch(by.strip())) and m[1] in input_keys(session, run):
            value = "d.inputs ->> CAST(:key AS text)"
            return (f"char_length({value})" if bucketed else value), bucketed
    allowed = ", ".join(segment_fields(session, run))
    raise InputError(("by",), f"unknown field {by!r}: one of {allowed}")


# The 1-2-5 range of x.v as text, e.g. ``100-200`` for [100, 200); values <= 0 as they are. The
# value, its power of ten and its step are each computed once per row (LATERAL).
_BUCKET_FROM = """
CROSS JOIN LATERAL (SELECT ({value})::numeric AS v) x
LEFT JOIN LATERAL (SELECT power(10::numeric, floor(log(x.v))) AS u WHERE x.v > 0) m ON true
LEFT JOIN LATERAL (SELECT CASE WHEN x.v >= 5 * m.u THEN 5 WHEN x.v >= 2 * m.u THEN 2 ELSE 1 END AS lo) b ON true"""
_BUCKET = (
    "CASE WHEN x.v <= 0 THEN trim_scale(x.v)::text ELSE trim_scale(b.lo * m.u)::text || '-' || "
    "trim_scale((CASE b.lo WHEN 1 THEN 2 WHEN 2 THEN 5 ELSE 10 END) * m.u)::text END"
)


def _sql(value: str, bucketed: bool) -> str:
    segment = f"COALESCE(({_BUCKET if bucketed else value})::text, '{NONE}')"
    buckets = _BUCKET_FROM.format(value=value) if bucketed else ""
    return f"""WITH seg AS (
    SELECT {segment} AS segment, p.*
    FROM predictions p JOIN datapoints d ON d.id = p.datapoint_id{buckets}
    WHERE p.run_id = :run_id
),
{_AGGREGATES.strip()}
SELECT a.segment, a.n, a.n_valid, a.n_correct, a.n_scored, a.cost_usd::float8 AS cost_usd,
       a.p50, a.p95, f1.macro_f1, COALESCE(errs.by_type, '{{}}'::jsonb) AS errors_by_type
FROM agg a LEFT JOIN errs USING (segment) LEFT JOIN f1 USING (segment)"""


def segments(session: Session, run_id: str, by: str) -> Segments:
    """The run's figures per value (or bucket) of ``by``; ``NotFound``, or ``InputError`` naming the
    allowed fields."""
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(run_id)
    value, bucketed = _resolve(session, run, by)
    key = (_LEN.fullmatch(by.strip()) or _INPUT.fullmatch(by.strip()) or [None, None])[1]
    rows = [_row(r) for r in session.execute(text(_sql(value, bucketed)), {"run_id": run_id, "key": key})]
    rows.sort(key=_bucket_order if bucketed else lambda r: (r.segment == NONE, -r.n, r.segment))
    return Segments(run_id=run_id, by=by, bucketed=bucketed, segments=tuple(rows))


def _row(r: Row[Any]) -> SegmentRow:
    n, judged, ci = r.n, r.n_scored, wilson(r.n_correct, r.n_scored)
    return SegmentRow(
        segment=r.segment, n=n, n_valid=r.n_valid, coverage=r.n_valid / n if n else None,
        n_judged=judged, n_correct=r.n_correct, accuracy=r.n_correct / judged if judged else None,
        accuracy_ci=IntervalOut(low=ci.low, high=ci.high) if ci else None, macro_f1=r.macro_f1,
        cost_usd=r.cost_usd, cost_per_row_usd=r.cost_usd / n if n else None,
        latency_p50_ms=r.p50, latency_p95_ms=r.p95,
        errors=sum(r.errors_by_type.values()), errors_by_type=r.errors_by_type,
    )  # fmt: skip


def _bucket_order(row: SegmentRow) -> tuple[bool, Decimal]:
    try:
        return False, Decimal(re.match(r"-?[\d.]+", row.segment)[0])  # type: ignore[index]
    except (TypeError, InvalidOperation):
        return True, Decimal(0)
