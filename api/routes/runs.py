"""``/runs``: submit (JSON rows or a catalog upload), list, inspect, page predictions, cancel.

Blocking database work runs in the threadpool (sync routes, or ``run_in_threadpool``); the run is
enqueued by Celery task name in :func:`shared.runs.service.submit`, never by importing worker code.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from api.errors import invalid, validation_errors, zero_based_rows
from api.openapi import RUN_CREATE_BODY
from api.upload import parse_upload, upload_input_error
from shared.db.session import session_scope
from shared.errors import InputError
from shared.runs import queries, service
from shared.schemas import MetricOut, PredictionPage, RunCreate, RunCreated, RunOut

router = APIRouter(tags=["runs"])

ERRORS = {
    404: {"description": "Unknown run"},
    422: {"description": "Invalid input: each `detail` entry names the field (`loc`) and the problem"},
}


class RunCancelled(BaseModel):
    run_id: str
    status: str


@router.post(
    "/runs",
    status_code=202,
    response_model=RunCreated,
    summary="Submit a run (JSON rows, or a catalog file upload)",
    openapi_extra=RUN_CREATE_BODY,
    responses={415: {"description": "Neither JSON nor multipart/form-data"}, 422: ERRORS[422]},
)
async def submit_run(request: Request) -> RunCreated:
    """Validate, create the run (status ``queued``) and enqueue it; answers at once with its id.

    Send either ``application/json`` (a `RunCreate`, rows inline) or ``multipart/form-data``
    (a `file` with the catalog as CSV/JSONL/JSON and the options as form fields).
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            req = RunCreate.model_validate_json(await request.body())
        except ValidationError as exc:
            raise invalid(validation_errors(exc)) from None
        try:
            return await run_in_threadpool(service.submit, req)
        except InputError as exc:
            raise InputError(zero_based_rows(tuple(exc.loc)), exc.message) from None
    if ctype == "multipart/form-data":
        async with request.form() as form:
            req, source = await parse_upload(form)
        try:
            return await run_in_threadpool(service.submit, req, source=source)
        except InputError as exc:
            raise upload_input_error(exc, req.taxonomy.source != "labels") from None
    raise HTTPException(
        415,
        f"unsupported Content-Type {ctype or '(none)'!r}: send application/json (a RunCreate) "
        "or multipart/form-data (a catalog 'file' plus form fields)",
    )


@router.get("/runs", response_model=list[RunOut], summary="Recent runs, newest first")
def list_runs(limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0)) -> list[RunOut]:
    with session_scope() as s:
        return queries.list_runs(s, limit=limit, offset=offset)


@router.get("/runs/{run_id}", response_model=RunOut, responses={404: ERRORS[404]})
def get_run(run_id: str) -> RunOut:
    """Status, counts by state, progress, cost so far and ETA."""
    with session_scope() as s:
        return queries.get_run(s, run_id)


@router.get("/runs/{run_id}/predictions", response_model=PredictionPage, responses={404: ERRORS[404]})
def list_predictions(
    run_id: str,
    status: Literal["succeeded", "failed"] | None = None,
    correct: bool | None = None,
    error_type: str | None = None,
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
) -> PredictionPage:
    """One page of predictions in dataset order, optionally filtered."""
    with session_scope() as s:
        return queries.list_predictions(
            s, run_id, status=status, correct=correct, error_type=error_type, offset=offset, limit=limit
        )


@router.get("/runs/{run_id}/metrics", response_model=list[MetricOut], responses={404: ERRORS[404]})
def get_metrics(run_id: str) -> list[MetricOut]:
    """Metrics per segment (``all`` first); empty until the run is finalized."""
    with session_scope() as s:
        return queries.get_metrics(s, run_id)


@router.post("/runs/{run_id}/cancel", response_model=RunCancelled, responses={404: ERRORS[404]})
def cancel_run(run_id: str) -> RunCancelled:
    """Stop a run; a run already finished keeps its final status."""
    return RunCancelled(run_id=run_id, status=service.cancel(run_id))
