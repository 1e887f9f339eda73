"""A run's analysis tables: ``predictions.<ext>``, ``metrics.<ext>`` and ``run.json`` in the run
directory (``labrun export RUN --format parquet|csv|jsonl``), or one table streamed over HTTP
(``GET /runs/{id}/export``). DuckDB and pandas read them as they are::

    SELECT run_id, avg(correct::int) FROM 'exports/*/predictions.parquet' GROUP BY run_id
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from labrun.shared.core.errors import NotFound
from labrun.shared.runs import queries
from labrun.shared.runs.export.common import Export, env_secrets
from labrun.shared.runs.export.configs import labrun_version
from labrun.shared.runs.export.table_formats import FORMATS, MEDIA_TYPES, TableFormat, encode
from labrun.shared.runs.export.table_rows import TABLES, TableRows, table_rows
from labrun.shared.storage.db.models import Run
from labrun.shared.storage.db.session import session_scope
from labrun.shared.usecases import registry

__all__ = ["FORMATS", "MEDIA_TYPES", "TABLES", "TableFormat", "table_stream", "write_tables"]

RUN_JSON = "run.json"


def _counted(rows: TableRows, counts: dict[str, int]) -> TableRows:
    def batches() -> Iterator[Sequence[Sequence[Any]]]:
        for batch in rows.batches:
            counts[rows.name] = counts.get(rows.name, 0) + len(batch)
            yield batch

    counts[rows.name] = 0
    return TableRows(rows.name, rows.columns, batches(), rows.json_lines)


def write_tables(ex: Export, fmt: TableFormat, about: dict[str, Any]) -> dict[str, Any]:
    """Write ``predictions.<fmt>``, ``metrics.<fmt>`` and ``run.json`` at the export's top level
    (inside its REPEATABLE READ transaction); returns the tables' files, row counts and columns."""
    counts: dict[str, int] = {}
    tables: dict[str, Any] = {}
    for name in TABLES:
        rows = _counted(table_rows(ex.session, ex.run, name, ex.secrets, json_lines=fmt == "jsonl"), counts)
        rel = f"{name}.{fmt}"
        with ex.path(rel).open("wb") as f:
            for chunk in encode(rows, fmt):
                f.write(chunk)
        tables[name] = {"file": rel, "rows": counts[name], "columns": [c.name for c in rows.columns]}
    ex.write_json(RUN_JSON, run_metadata(ex, about, fmt, tables))
    return tables


def run_metadata(ex: Export, about: dict[str, Any], fmt: str, tables: dict[str, Any]) -> dict[str, Any]:
    """``run.json``: who the run was (model, use case, dataset, status, counts, cost, times), its
    config (compacted as in ``config/run_config.json``), and the tables beside it."""
    run = ex.run
    state = queries.run_out(ex.session, run).model_dump(mode="json", exclude={"events", "eta_seconds"})
    config = {k: v for k, v in run.config.items() if k not in ("system", "dataset")}
    model = config.get("model") or {}
    return {
        "run_id": run.id,
        **{k: v for k, v in state.items() if k != "id"},
        "provider": model.get("provider"),
        "model_id": model.get("model"),
        "dataset": about.get("dataset"),
        "config": registry.get(run.use_case).compact_config(config),
        "format": fmt,
        "tables": tables,
        "labrun": labrun_version(),
        "exported_at": datetime.now(UTC),
    }


def table_stream(run_id: str, table: str, fmt: TableFormat) -> Iterator[bytes]:
    """One table of the run as bytes, produced while the iterator is consumed (one REPEATABLE
    READ transaction held until then). Raises ``NotFound`` at once for an unknown run and
    ``ValueError`` for an unknown table or format."""
    if table not in TABLES or fmt not in FORMATS:
        raise ValueError(f"table must be one of {TABLES} and format one of {FORMATS}")
    with session_scope() as s:
        if s.get(Run, run_id) is None:
            raise NotFound(run_id)
    return _stream(run_id, table, fmt)


def _stream(run_id: str, table: str, fmt: TableFormat) -> Iterator[bytes]:
    secrets = env_secrets()
    with session_scope() as s:
        s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        run = s.get(Run, run_id)
        if run is None:  # deleted in between
            raise NotFound(run_id)
        yield from encode(table_rows(s, run, table, secrets, json_lines=fmt == "jsonl"), fmt)
