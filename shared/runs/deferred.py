"""A large upload's run, created at once and prepared in the background (D34).

Parsing, validating and inserting 100,000 rows took the API 5.7 s and 17.9 s on two machines of
ours (docs/benchmarks.md); the upload held the request that long. Above
``LABRUN_API_DEFER_UPLOAD_MB`` the API checks everything but the rows (form fields, options,
model), stores the file as the run's input snapshot, and creates the run ``queued`` with no
datapoints yet and ``config["deferred"]`` saying where the file is. The run's dispatch task calls
:func:`prepare_deferred` first: the same ``read_file``, ``RunCreate`` and ``prepare`` as a direct
submit, in one transaction that fills the run in. A row that fails ends the run ``failed`` with the
error naming file, row and field, and inserts no datapoint.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from labrun.shared.core.catalog import ModelSpec
from labrun.shared.core.errors import InputError
from labrun.shared.core.schemas import RunCreate
from labrun.shared.runs.create import build_run, dataset_for, run_config
from labrun.shared.runs.upload_locs import form_loc
from labrun.shared.storage.artifacts import ArtifactStore
from labrun.shared.storage.db.models import Dataset, Run
from labrun.shared.usecases import registry
from labrun.shared.usecases.base import UseCase
from labrun.shared.usecases.errors import CatalogError

KEY = "deferred"


def upload_key(run_id: str, filename: str) -> str:
    """Where the run's uploaded file is kept; the client's file name is reduced to a safe base name
    (never ``..`` or a path)."""
    base = re.split(r"[/\\]", filename)[-1]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    return f"runs/{run_id}/upload/{name or 'upload'}"


def create_deferred_run(
    session: Session,
    stub: RunCreate,
    use_case: UseCase,
    spec: ModelSpec,
    *,
    file_uri: str,
    fmt: str | None,
    filename: str,
    option_fields: frozenset[str],
    project_id: int | None = None,
    run_id: str,
) -> Run:
    """The run of an upload not read yet: ``stub`` is the request with one placeholder row
    (validated with it); its rows come from ``file_uri`` at dispatch. A placeholder dataset (no
    datapoints) holds the run's place until then."""
    placeholder = Dataset(name=filename[:200], content_sha256=f"deferred:{run_id}", n_rows=0, source=filename)
    session.add(placeholder)
    session.flush()
    request = stub.model_dump(mode="json", exclude={"rows"}, exclude_none=True)
    deferred = {"file": file_uri, "format": fmt, "filename": filename, "option_fields": sorted(option_fields)}
    config = run_config(use_case, spec, stub, {})
    config[KEY] = {**deferred, "request": request}
    config["dataset"] = {"name": stub.dataset_name or filename, "source": filename}
    return build_run(
        session,
        stub,
        use_case,
        spec,
        run_id=run_id,
        dataset_id=placeholder.id,
        n_total=0,
        config=config,
        project_id=project_id,
    )


def _location(loc: tuple[Any, ...], filename: str, option_fields: frozenset[str], use_case: str) -> str:
    where = form_loc(tuple(loc), option_fields, use_case)
    if where[:1] == ("file",):
        where = (f"file {filename!r}", *where[1:])
    return ", ".join(str(p) for p in where)


def _request(run: Run, store: ArtifactStore, spec: dict[str, Any]) -> RunCreate:
    """The run's request with the file's rows; the file's bytes and parsed rows are dropped as soon
    as the next form exists (a 100,000-row catalog: each is tens of MB)."""
    use_case = registry.get(run.use_case)
    try:
        data = store.get(spec["file"])
    except FileNotFoundError:
        raise InputError(
            ("file",),
            f"the uploaded file is not in the artifact store ({spec['file']}): the API and the workers "
            "must share LABRUN_ARTIFACTS_URL (S3, or one directory on a shared volume)",
        ) from None
    parsed = use_case.read_file(data, spec["format"], spec["filename"])
    del data
    rows = [r if isinstance(r, dict) else r.model_dump() for r in parsed]
    del parsed
    return RunCreate.model_validate({**spec["request"], "rows": rows})


def prepare_deferred(session: Session, store: ArtifactStore, run_id: str) -> bool:
    """Read and validate a deferred run's file and fill the run in (datapoints, size, config).
    Returns whether there was anything to do. Raises :class:`InputError` (file, row and field in
    the message) on bad rows; the caller fails the run. Idempotent: a second call finds nothing."""
    run = session.get(Run, run_id)
    if run is None or KEY not in (run.config or {}):
        return False
    spec = run.config[KEY]
    fields = frozenset(spec.get("option_fields") or ())
    try:
        req = _request(run, store, spec)
        dataset_id, prepared, use_case, model = dataset_for(session, req, source=spec["filename"])
    except CatalogError as exc:
        raise InputError(("file",), f"file {spec['filename']!r}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _location(tuple(first["loc"]), spec["filename"], fields, run.use_case)
        raise InputError(("file",), f"{where}: {first['msg']}") from None
    except InputError as exc:
        where = _location(tuple(exc.loc), spec["filename"], fields, run.use_case)
        raise InputError(exc.loc, f"{where}: {exc.message}") from None
    run = session.get(Run, run_id, with_for_update=True, populate_existing=True)
    if run is None or KEY not in (run.config or {}):  # another dispatch did it meanwhile
        return False
    config = run_config(use_case, model, req, prepared.snapshot)
    config.update({k: run.config[k] for k in ("dataset", "experiment") if k in run.config})  # the run's own
    placeholder = run.dataset_id
    session.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(dataset_id=dataset_id, n_total=len(prepared.datapoints), config=config)
    )
    session.execute(delete(Dataset).where(Dataset.id == placeholder))
    return True
