"""``/runs``: submit (JSON rows or a catalog upload), list, inspect, page predictions, cancel.

Blocking database work runs in the threadpool (sync routes, or ``run_in_threadpool``); the run is
enqueued by Celery task name in :func:`labrun.shared.runs.service.submit`, never by importing worker code.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from labrun.api.deps import CurrentProject, VisibleRun
from labrun.api.errors import invalid, validation_errors, zero_based_rows
from labrun.api.limits import MAX_FIELD_BYTES, MAX_FORM_FIELDS, MAX_OFFSET
from labrun.api.openapi import RUN_CREATE_BODY
from labrun.api.quota import submission_quota
from labrun.api.upload import parse_upload, upload_input_error
from labrun.shared.core.config import get_settings
from labrun.shared.core.errors import InputError
from labrun.shared.core.schemas import MetricOut, PredictionPage, RunCreate, RunCreated, RunOut
from labrun.shared.core.verdict import PredictionStatus
from labrun.shared.runs import queries, service
from labrun.shared.storage.db.session import session_scope

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
    summary="Submit a run of any use case (JSON rows, or a data file upload)",
    openapi_extra=RUN_CREATE_BODY,
    responses={415: {"description": "Neither JSON nor multipart/form-data"}, 422: ERRORS[422]},
)
async def submit_run(request: Request, caller: CurrentProject) -> RunCreated:
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
            async with submission_quota(caller, req):
                return await run_in_threadpool(service.submit, req, project_id=caller.project_id)
        except InputError as exc:
            raise InputError(zero_based_rows(tuple(exc.loc)), exc.message) from None
    if ctype == "multipart/form-data":
        async with request.form(
            max_files=MAX_FORM_FIELDS, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
        ) as form:
            upload = await parse_upload(form, get_settings().api_defer_upload_mb * 1024 * 1024)
        req, deferred = upload.req, upload.deferred
        try:
            if deferred is not None:
                n = min(deferred.approx_rows, req.limit or deferred.approx_rows)
                async with submission_quota(caller, req, datapoints=n):
                    return await run_in_threadpool(
                        service.submit_deferred,
                        req,
                        data=deferred.data,
                        fmt=deferred.fmt,
                        filename=deferred.filename,
                        option_fields=upload.option_fields,
                        project_id=caller.project_id,
                    )
            async with submission_quota(caller, req):
                return await run_in_threadpool(
                    service.submit, req, source=upload.source, project_id=caller.project_id
                )
        except InputError as exc:
            raise upload_input_error(exc, upload.option_fields, req.use_case) from None
    raise HTTPException(
        415,
        f"unsupported Content-Type {ctype or '(none)'!r}: send application/json (a RunCreate) "
        "or multipart/form-data (a catalog 'file' plus form fields)",
    )


@router.get("/runs", response_model=list[RunOut], summary="Recent runs, newest first")
def list_runs(
    caller: CurrentProject, limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_OFFSET)
) -> list[RunOut]:
    with session_scope() as s:
        return queries.list_runs(s, limit=limit, offset=offset, project_id=caller.project_id)


@router.get("/runs/{run_id}", response_model=RunOut, responses={404: ERRORS[404]})
def get_run(run_id: VisibleRun) -> RunOut:
    """Status, counts by state, progress, cost so far and ETA."""
    with session_scope() as s:
        return queries.get_run(s, run_id)


@router.get("/runs/{run_id}/predictions", response_model=PredictionPage, responses={404: ERRORS[404]})
def list_predictions(
    run_id: VisibleRun,
    status: PredictionStatus | None = None,
    correct: bool | None = None,
    error_type: str | None = None,
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    limit: int = Query(100, ge=1, le=1000),
) -> PredictionPage:
    """One page of predictions in dataset order, optionally filtered."""
    with session_scope() as s:
        return queries.list_predictions(
            s, run_id, status=status, correct=correct, error_type=error_type, offset=offset, limit=limit
        )


@router.get("/runs/{run_id}/metrics", response_model=list[MetricOut], responses={404: ERRORS[404]})
def get_metrics(run_id: VisibleRun) -> list[MetricOut]:
    """Metrics per segment (``all`` first); empty until the run is finalized."""
    with session_scope() as s:
        return queries.get_metrics(s, run_id)


class RetryIn(BaseModel):
    all_failed: bool = False
    max_cost_usd: float | None = Field(None, gt=0)


class RetryOut(BaseModel):
    run_id: str
    datapoints: int
    status: str


@router.post("/runs/{run_id}/retry", response_model=RetryOut, responses={404: ERRORS[404], 422: ERRORS[422]})
def retry_run(run_id: VisibleRun, body: RetryIn | None = None) -> RetryOut:
    """Run again, in this finished run, its datapoints that failed for provider or infrastructure
    reasons (``all_failed``: every failure), were skipped by the budget or never ran."""
    from labrun.shared.runs.retry import retry

    body = body or RetryIn()
    r = retry(run_id, all_failed=body.all_failed, max_cost_usd=body.max_cost_usd)
    return RetryOut(run_id=r.run_id, datapoints=r.datapoints, status=r.status)


@router.post("/runs/{run_id}/cancel", response_model=RunCancelled, responses={404: ERRORS[404]})
def cancel_run(run_id: VisibleRun) -> RunCancelled:
    """Stop a run; a run already finished keeps its final status."""
    return RunCancelled(run_id=run_id, status=service.cancel(run_id))
