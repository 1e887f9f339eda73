"""``/runs/{id}/export`` and ``/runs/{id}/segments``: a run's data for analysis.

The export streams one table (``predictions`` or ``metrics``) as Parquet, CSV or JSON Lines while
it is read from Postgres, batch by batch, so a 100,000-row run never sits in the API's memory.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from labrun.api.deps import VisibleRun
from labrun.api.errors import invalid
from labrun.shared.analysis import segments as analysis
from labrun.shared.core.errors import InputError
from labrun.shared.runs.export.tables import MEDIA_TYPES, TableFormat, table_stream
from labrun.shared.storage.db.session import session_scope

router = APIRouter(tags=["analysis"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Unknown run (the detail names it)"}}
EXPORTED = {
    200: {
        "description": "The table's file, streamed",
        "content": {media: {} for media in MEDIA_TYPES.values()},
    },
    **NOT_FOUND,
    422: {"description": "Unknown `format` or `table` (the detail names the parameter)"},
}


@router.get(
    "/runs/{run_id}/export",
    response_class=StreamingResponse,
    responses=EXPORTED,
    summary="One table of the run as Parquet, CSV or JSON Lines",
)
def export_table(
    run_id: VisibleRun,
    format: Annotated[TableFormat, Query(description="File format")] = "parquet",
    table: Annotated[
        Literal["predictions", "metrics"],
        Query(description="predictions: one row per datapoint; metrics: one row per segment"),
    ] = "predictions",
) -> StreamingResponse:
    """``predictions``: one row per datapoint (external id, inputs as ``input_<col>``, expected,
    every prediction column; JSON columns as JSON text, nested in JSON Lines). ``metrics``: the
    metrics rows. DuckDB and pandas read the file as it is."""
    chunks = table_stream(run_id, table, format)
    return StreamingResponse(
        chunks,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{run_id}-{table}.{format}"'},
    )


@router.get(
    "/runs/{run_id}/segments",
    response_model=analysis.Segments,
    responses={**NOT_FOUND, 422: {"description": "Unknown field: the detail lists the allowed ones"}},
    summary="The run's figures by any field, computed on the fly",
)
def get_segments(
    run_id: VisibleRun,
    by: Annotated[
        str,
        Query(
            max_length=300,
            description="A scalar predictions column (status, error_type, response_model, attempts, ...), "
            "input.<col>, or len(input.<col>) (bucketed 1-2-5: 10-20, 20-50, 50-100, ...)",
        ),
    ],
) -> analysis.Segments:
    """Per segment: n, coverage, accuracy over judged rows with its 95% Wilson interval, macro-F1,
    cost, latency p50/p95 and errors by type. Nothing is written to the metrics table."""
    with session_scope() as s:
        try:
            return analysis.segments(s, run_id, by)
        except InputError as exc:
            raise invalid([{"loc": ["query", "by"], "msg": exc.message, "type": "value_error"}]) from None
