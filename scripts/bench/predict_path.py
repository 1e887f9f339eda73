"""The in-process predict path of ``scripts/profile_row.py``, for either tree's API.

``load()`` picks the adapter by what the running venv can import: ``labrun.worker.context`` (the
worker context and use-case seam, after 8890c5a) or ``worker.clients`` (module-level clients, up to
8890c5a). Both do the same work per datapoint: load the datapoint, build the request, acquire from
the limiter, call ``labrun fake-llm`` through the OpenAI SDK, write the raw artifact, upsert the row.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Protocol

ALIAS = "gpt4o_mini"
HOSTNAME = "profile"


class PredictPath(Protocol):
    api: str

    def create_run(self, catalog: Path, n: int) -> tuple[str, list[int]]: ...

    def predict(self, run_id: str, datapoint_id: int) -> None: ...

    def close(self) -> None: ...


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def load() -> PredictPath:
    if _importable("labrun.worker.context"):
        return Current()
    if _importable("worker.clients"):
        return Before()
    raise RuntimeError("neither labrun.worker.context nor worker.clients is importable in this venv")


def _rows(products: list, n: int) -> list:
    return [products[i % len(products)].model_copy(update={"id": f"p{i}"}) for i in range(n)]


class Current:
    """After the refactor: an explicit WorkerContext, use cases behind ``labrun.shared.usecases``."""

    api = "labrun.worker.context"

    def __init__(self) -> None:
        from labrun.worker import context

        self.ctx = context.build()  # as a worker process builds it (no connection ping per checkout)

    def create_run(self, catalog: Path, n: int) -> tuple[str, list[int]]:
        from labrun.shared.core.schemas import RunCreate
        from labrun.shared.runs.create import create_run
        from labrun.shared.storage.db.session import session_scope
        from labrun.shared.usecases.assign_cat.catalog import read_catalog
        from labrun.worker.dispatch import datapoint_ids

        with session_scope() as s:
            run_id = create_run(
                s, RunCreate(model=ALIAS, rows=_rows(read_catalog(catalog), n), cache="off")
            ).id
        return run_id, datapoint_ids(self.ctx, run_id)

    def predict(self, run_id: str, datapoint_id: int) -> None:
        from labrun.worker.jobs import TaskState
        from labrun.worker.predict import predict_datapoint

        predict_datapoint(self.ctx, run_id, datapoint_id, TaskState(), HOSTNAME)

    def close(self) -> None:
        self.ctx.close()


class Before:
    """Up to 8890c5a: module-level clients (``worker.clients``), no context argument."""

    api = "worker.clients"

    def __init__(self) -> None:
        from shared.db import session

        session.skip_pre_ping_by_default()  # what worker/app.py does in a worker process

    def create_run(self, catalog: Path, n: int) -> tuple[str, list[int]]:
        from shared.assign_cat.catalog_io import read_catalog
        from shared.db.session import session_scope
        from shared.schemas import RunCreate

        from shared.runs.create import create_run
        from worker.dispatch import datapoint_ids

        with session_scope() as s:
            run_id = create_run(
                s, RunCreate(model=ALIAS, rows=_rows(read_catalog(catalog), n), cache="off")
            ).id
        return run_id, datapoint_ids(run_id)

    def predict(self, run_id: str, datapoint_id: int) -> None:
        from worker.jobs import TaskState
        from worker.predict import predict_datapoint

        predict_datapoint(run_id, datapoint_id, TaskState(), HOSTNAME)

    def close(self) -> None:
        from shared.db import session

        session.reset()
