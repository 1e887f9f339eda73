"""Submit and cancel runs: what the API, the CLI and the Python client call."""

from __future__ import annotations

from labrun.shared.core.schemas import RunCreate, RunCreated
from labrun.shared.runs import lifecycle
from labrun.shared.runs.create import create_run, new_run_id, resolve_model
from labrun.shared.runs.deferred import create_deferred_run, upload_key
from labrun.shared.storage.artifacts import get_store
from labrun.shared.storage.broker import TASK_DISPATCH, client_app
from labrun.shared.storage.db.models import Run
from labrun.shared.storage.db.session import session_scope
from labrun.shared.usecases import registry

DEFERRED = (
    "the file is large: its rows are read and validated in the background, and the run fails "
    "naming the file's bad rows if any (GET /runs/{id}); n_total is known once they are read"
)


def _warnings(run: Run) -> list[str]:
    return registry.get(run.use_case).warnings(run.config or {})


def enqueue(run_id: str) -> None:
    """Hand the run to the workers by task name (the API never imports worker code)."""
    client_app().send_task(TASK_DISPATCH, args=[run_id])


def _enqueue_or_fail(run_id: str) -> None:
    try:
        enqueue(run_id)
    except Exception as exc:  # broker down: say so on the run instead of leaving it queued forever
        mark_enqueue_failed(run_id, f"could not enqueue the run: {exc}")
        raise


def submit(req: RunCreate, *, source: str | None = None, project_id: int | None = None) -> RunCreated:
    """Create the run in one transaction, then enqueue it. Raises InputError on bad input.
    ``project_id``: the submitting API key's project (None: the operator's run)."""
    with session_scope() as s:
        run = create_run(s, req, source=source, project_id=project_id)
        created = RunCreated(run_id=run.id, status=run.status, n_total=run.n_total, warnings=_warnings(run))
    _enqueue_or_fail(created.run_id)
    return created


def submit_deferred(
    stub: RunCreate,
    *,
    data: bytes,
    fmt: str | None,
    filename: str,
    option_fields: frozenset[str],
    project_id: int | None = None,
) -> RunCreated:
    """A large upload (D34): store the file as the run's input, create the run with no rows yet and
    enqueue it; its dispatch reads and validates the rows (the run fails naming the bad rows)."""
    use_case = registry.get(stub.use_case)
    spec = resolve_model(stub.model)  # an unknown alias is the request's error, before any upload
    run_id = new_run_id(use_case.name)
    uri = get_store().put(upload_key(run_id, filename), data, "application/octet-stream")
    with session_scope() as s:
        run = create_deferred_run(
            s,
            stub,
            use_case,
            spec,
            file_uri=uri,
            fmt=fmt,
            filename=filename,
            option_fields=option_fields,
            project_id=project_id,
            run_id=run_id,
        )
        created = RunCreated(
            run_id=run.id, status=run.status, n_total=0, rows_pending=True, warnings=[DEFERRED]
        )
    _enqueue_or_fail(created.run_id)
    return created


def submit_many(reqs: list[RunCreate], *, source: str | None = None) -> list[RunCreated]:
    """Create several runs (a sweep's cells) in one transaction, so a bad cell creates none, then
    enqueue them all: they run side by side in fair shares (the releaser) under the global limits."""
    with session_scope() as s:
        runs = [create_run(s, req, source=source) for req in reqs]
        created = [
            RunCreated(run_id=r.id, status=r.status, n_total=r.n_total, warnings=_warnings(r)) for r in runs
        ]
    for c in created:
        _enqueue_or_fail(c.run_id)
    return created


def mark_enqueue_failed(run_id: str, reason: str) -> bool:
    """The run could not be enqueued (by the API, or by the worker's dispatch): it ends ``failed``
    with the reason instead of staying queued or running forever."""
    return lifecycle.fail(run_id, reason)


def cancel(run_id: str) -> str:
    """Stop a run: workers skip its remaining datapoints; finalize keeps the status ``cancelled``."""
    return lifecycle.cancel(run_id).value
