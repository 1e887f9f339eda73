"""Small helpers shared by tests: catalog rows, waiting for runs, counting rows and objects."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from sqlalchemy import func, select

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FINAL = {"succeeded", "partial", "failed", "cancelled"}


def catalog_rows(name: str = "bigbasket-300.csv", n: int | None = None):
    from shared.schemas import ProductRow

    with open(EXAMPLES / name, newline="", encoding="utf-8") as f:
        rows = [ProductRow.model_validate(r) for r in csv.DictReader(f)]
    return rows[:n] if n else rows


def wait_run(run_id: str, timeout: float = 120.0, *, settled: bool = False):
    """Wait for a final status (and, with ``settled``, for finalize to have run)."""
    from shared.db.models import Run
    from shared.db.session import session_scope

    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as s:
            run = s.get(Run, run_id)
            if run is not None and run.status in FINAL and (run.finished_at or not settled):
                return run
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} is {run.status if run else 'missing'} after {timeout}s")
        time.sleep(0.25)


def prediction_count(run_id: str) -> int:
    from shared.db.models import Prediction
    from shared.db.session import session_scope

    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(Prediction).where(Prediction.run_id == run_id)) or 0


def raw_keys(run_id: str) -> list[str]:
    from shared.storage import get_store

    return list(get_store().keys(f"runs/{run_id}/raw/"))
