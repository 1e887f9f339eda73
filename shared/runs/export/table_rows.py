"""The rows of a run's analysis tables, streamed from Postgres in batches (a server-side cursor).

- ``predictions``: one row per datapoint of the run in dataset order: ``run_id``,
  ``datapoint_id``, ``external_id``, ``position``, the inputs flattened as ``input_<key>`` (text;
  a non-text input value as its JSON text), ``expected``, then every column of ``predictions``
  (``status`` is ``missing`` for a datapoint without a row). JSON columns (``details``,
  ``request``) come as JSON text.
- ``metrics``: every column of the run's ``metrics`` rows, ``all`` first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from labrun.shared.runs.export.columns import Column, quote, table_columns
from labrun.shared.runs.export.common import MISSING, YIELD_PER, scrub
from labrun.shared.storage.db.models import Run

TABLES = ("predictions", "metrics")
_OWN = {"run_id", "datapoint_id", "expected"}  # given by the datapoint side of the join

_INPUT_KEYS = text("""
SELECT k FROM (
    SELECT position, inputs FROM datapoints WHERE dataset_id = :dataset_id ORDER BY position LIMIT :n_total
) d, LATERAL jsonb_object_keys(CASE WHEN jsonb_typeof(d.inputs) = 'object' THEN d.inputs END) k
GROUP BY k ORDER BY min(d.position), k
""")


@dataclass
class TableRows:
    """A table's columns and its rows in batches of tuples (in column order); with ``json_lines``,
    each row is one tuple holding the row as a line of JSON, written by Postgres (``row_to_json``:
    column order kept, JSON columns nested, timestamps in ISO 8601)."""

    name: str
    columns: list[Column]
    batches: Iterator[Sequence[Sequence[Any]]]
    json_lines: bool = False


def input_keys(session: Session, run: Run) -> list[str]:
    """The keys of the run's datapoints' inputs, in order of first appearance."""
    return list(session.scalars(_INPUT_KEYS, {"dataset_id": run.dataset_id, "n_total": run.n_total}))


def _unique(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _select(columns: list[Column], exprs: list[str]) -> str:
    return ", ".join(f"{e} AS {quote(c.name)}" for c, e in zip(columns, exprs, strict=True))


def predictions_rows(
    session: Session, run: Run, secrets: tuple[str, ...] = (), json_lines: bool = False
) -> TableRows:
    keys = input_keys(session, run)
    pcols = [c for c in table_columns(session, "predictions") if c.name not in _OWN]
    taken = {"run_id", "datapoint_id", "external_id", "position", "expected", *(c.name for c in pcols)}
    columns = [Column("run_id", "text"), Column("datapoint_id", "int"), Column("external_id", "text")]
    columns += [Column("position", "int")]
    columns += [Column(_unique(f"input_{k}", taken), "text") for k in keys]
    columns += [Column("expected", "text"), *pcols]
    params: dict[str, Any] = {f"k{i}": k for i, k in enumerate(keys)}
    params.update(run_id=run.id, dataset_id=run.dataset_id, n_total=run.n_total, missing=MISSING)
    exprs = ["CAST(:run_id AS text)", "d.id", "d.external_id", "d.position"]
    exprs += [f"d.inputs ->> CAST(:k{i} AS text)" for i in range(len(keys))]
    exprs += ["COALESCE(p.expected, d.expected)"]
    exprs += [
        "COALESCE(p.status::text, :missing)"
        if c.name == "status"
        else c.select("p", json_text=not json_lines)
        for c in pcols
    ]
    inner = f"""
SELECT {_select(columns, exprs)}
FROM (
    SELECT id, external_id, position, inputs, expected FROM datapoints
    WHERE dataset_id = :dataset_id ORDER BY position LIMIT :n_total
) d
LEFT JOIN LATERAL (
    SELECT * FROM predictions q WHERE q.run_id = :run_id AND q.datapoint_id = d.id LIMIT 1
) p ON true"""
    return _rows(session, "predictions", columns, inner, 't."position"', params, secrets, json_lines)


def metrics_rows(
    session: Session, run: Run, secrets: tuple[str, ...] = (), json_lines: bool = False
) -> TableRows:
    columns = table_columns(session, "metrics")
    exprs = [c.select("m", json_text=not json_lines) for c in columns]
    inner = f"SELECT {_select(columns, exprs)} FROM metrics m WHERE m.run_id = :run_id"
    order = 't."segment" <> \'all\', t."segment"'
    return _rows(session, "metrics", columns, inner, order, {"run_id": run.id}, secrets, json_lines)


def table_rows(
    session: Session, run: Run, table: str, secrets: tuple[str, ...] = (), json_lines: bool = False
) -> TableRows:
    if table == "predictions":
        return predictions_rows(session, run, secrets, json_lines)
    if table == "metrics":
        return metrics_rows(session, run, secrets, json_lines)
    raise ValueError(f"unknown table {table!r}: one of {', '.join(TABLES)}")


def _rows(
    session: Session,
    name: str,
    columns: list[Column],
    inner: str,
    order: str,
    params: dict[str, Any],
    secrets: tuple[str, ...],
    json_lines: bool,
) -> TableRows:
    sql = f"SELECT {'row_to_json(t)::text' if json_lines else 't.*'} FROM ({inner}) t ORDER BY {order}"
    masked = [0] if json_lines else [i for i, c in enumerate(columns) if c.kind in ("text", "json")]
    batches = _stream(session, sql, params, masked if secrets else [], secrets)
    return TableRows(name, columns, batches, json_lines)


def _stream(
    session: Session, sql: str, params: dict[str, Any], masked: list[int], secrets: tuple[str, ...]
) -> Iterator[Sequence[Sequence[Any]]]:
    stmt = text(sql).execution_options(yield_per=YIELD_PER)
    for batch in session.execute(stmt, params).partitions(YIELD_PER):
        if not masked:
            yield batch
            continue
        rows = [list(r) for r in batch]
        for row in rows:
            for i in masked:
                if row[i] is not None:
                    row[i] = scrub(row[i], secrets)
        yield rows
